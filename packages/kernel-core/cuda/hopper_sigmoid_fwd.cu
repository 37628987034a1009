// FlashSigmoid forward for Hopper (sm_90a only): wgmma main loop of hopper_fwd.cuh, the same
// nonlinearity as the FA2 kernels (Sigmoid<T>, flash_common.cuh). Tiles are the softmax twin's, so the
// timing ratio isolates the nonlinearity.
// (head dim, keys per tile, warpgroups per CTA, min CTAs per SM), from an H200 tune (2026-12-01,
// benchmarks/cuda/tuning/h200-2026-12-01-hopper-fwd-d64): at D = 64 one-warpgroup CTAs, two per SM, so that
// one CTA's element-wise step overlaps the other's GEMMs (+8–26 % at N ≥ 4k over one 2-warpgroup CTA per SM).
#include "hopper_fwd.cuh"

HOPPER_FWD_ENTRY(hopper_sigmoid_fwd_bf16_d64, __nv_bfloat16, 64, 128, 1, 2, false, true)
HOPPER_FWD_ENTRY(hopper_sigmoid_fwd_fp16_d64, __half, 64, 128, 1, 2, false, true)
HOPPER_FWD_ENTRY(hopper_sigmoid_fwd_bf16_d128, __nv_bfloat16, 128, 128, 2, 1, true, true)
HOPPER_FWD_ENTRY(hopper_sigmoid_fwd_fp16_d128, __half, 128, 128, 2, 1, true, true)
