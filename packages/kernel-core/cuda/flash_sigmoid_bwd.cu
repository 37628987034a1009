// FlashSigmoid backward: dQ, dK, dV with dS = σ(1−σ)·dP — no LSE and no rowsum(dO∘O) pass.
#include "flash_bwd.cuh"

// (D, warps, Q/dO stages, min CTAs/SM) from an H200 tune (cuda_harness.py tuneb, 2026-11-28):
// D64 double-buffers with 2 CTAs/SM; D128 single-buffers so that 2 CTAs fit in shared memory.
// D32 (not yet measured on a GPU): 4 warps, double-buffered, 3 CTAs/SM (≤ 168 registers without
// spills, 3 × 48 KB of shared memory fits sm_80 and sm_90).

FLASH_BWD_ENTRY(flash_sigmoid_bwd_bf16_d64, __nv_bfloat16, 64, 4, 2, 2, true)
FLASH_BWD_ENTRY(flash_sigmoid_bwd_fp16_d64, __half, 64, 4, 2, 2, true)
FLASH_BWD_ENTRY(flash_sigmoid_bwd_bf16_d128, __nv_bfloat16, 128, 4, 1, 1, true)
FLASH_BWD_ENTRY(flash_sigmoid_bwd_fp16_d128, __half, 128, 4, 1, 1, true)
FLASH_BWD_ENTRY(flash_sigmoid_bwd_bf16_d32, __nv_bfloat16, 32, 4, 2, 3, true)
FLASH_BWD_ENTRY(flash_sigmoid_bwd_fp16_d32, __half, 32, 4, 2, 3, true)

// Packed variable-length batches (cu_seqlens offsets), same tiles as above.
FLASH_BWD_VARLEN_ENTRY(flash_sigmoid_bwd_varlen_bf16_d64, __nv_bfloat16, 64, 4, 2, 2, true)
FLASH_BWD_VARLEN_ENTRY(flash_sigmoid_bwd_varlen_fp16_d64, __half, 64, 4, 2, 2, true)
FLASH_BWD_VARLEN_ENTRY(flash_sigmoid_bwd_varlen_bf16_d128, __nv_bfloat16, 128, 4, 1, 1, true)
FLASH_BWD_VARLEN_ENTRY(flash_sigmoid_bwd_varlen_fp16_d128, __half, 128, 4, 1, 1, true)
FLASH_BWD_VARLEN_ENTRY(flash_sigmoid_bwd_varlen_bf16_d32, __nv_bfloat16, 32, 4, 2, 3, true)
FLASH_BWD_VARLEN_ENTRY(flash_sigmoid_bwd_varlen_fp16_d32, __half, 32, 4, 2, 3, true)
