// FlashSoftmax forward (FA2 online softmax), same tiling as FlashSigmoid so the timing ratio
// isolates the nonlinearity. Also writes the natural-log LSE for a backward pass.
#include "flash_fwd.cuh"

// Tiles (BM, BN, warps, min CTAs/SM, Q in registers): the fastest configuration measured on an H200
// (bench/cuda_harness.py tune, 2026-11-28) that compiles without spills for BOTH twins; see
// BENCHMARKS.md. D64: 128x64, 4 warps of 2 m16 slices, Q re-read from smem. D128: 128x64, 8 warps,
// Q in registers (MT = 2 at D128 spills in the softmax twin). D32 (not yet measured on a GPU): 128x128,
// 4 warps of 2 m16 slices, Q in registers — FlashAttention-2's D32 tiles: with 2 k-steps per
// S tile the wide key tile amortises the per-tile barriers and waits; 229-255 registers, no
// spills, so 2 CTAs (8 warps) per SM.

FLASH_FWD_ENTRY(flash_softmax_fwd_bf16_d64, __nv_bfloat16, 64, 128, 64, 4, 1, false, false)
FLASH_FWD_ENTRY(flash_softmax_fwd_fp16_d64, __half, 64, 128, 64, 4, 1, false, false)
FLASH_FWD_ENTRY(flash_softmax_fwd_bf16_d128, __nv_bfloat16, 128, 128, 64, 8, 1, true, false)
FLASH_FWD_ENTRY(flash_softmax_fwd_fp16_d128, __half, 128, 128, 64, 8, 1, true, false)
FLASH_FWD_ENTRY(flash_softmax_fwd_bf16_d32, __nv_bfloat16, 32, 128, 128, 4, 2, true, false)
FLASH_FWD_ENTRY(flash_softmax_fwd_fp16_d32, __half, 32, 128, 128, 4, 2, true, false)

// Packed variable-length batches (cu_seqlens offsets), same tiles as above.
FLASH_FWD_VARLEN_ENTRY(flash_softmax_fwd_varlen_bf16_d64, __nv_bfloat16, 64, 128, 64, 4, 1, false, false)
FLASH_FWD_VARLEN_ENTRY(flash_softmax_fwd_varlen_fp16_d64, __half, 64, 128, 64, 4, 1, false, false)
FLASH_FWD_VARLEN_ENTRY(flash_softmax_fwd_varlen_bf16_d128, __nv_bfloat16, 128, 128, 64, 8, 1, true, false)
FLASH_FWD_VARLEN_ENTRY(flash_softmax_fwd_varlen_fp16_d128, __half, 128, 128, 64, 8, 1, true, false)
FLASH_FWD_VARLEN_ENTRY(flash_softmax_fwd_varlen_bf16_d32, __nv_bfloat16, 32, 128, 128, 4, 2, true, false)
FLASH_FWD_VARLEN_ENTRY(flash_softmax_fwd_varlen_fp16_d32, __half, 32, 128, 128, 4, 2, true, false)
