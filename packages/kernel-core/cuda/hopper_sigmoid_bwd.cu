// FlashSigmoid backward for Hopper (sm_90a only): the wgmma main loop of hopper_bwd.cuh with
// dS = σ(1−σ)·dP (no LSE, no rowsum(dO∘O) pass). Tiles are the softmax twin's, so the timing ratio
// isolates the nonlinearity.
#include "hopper_bwd.cuh"

HOPPER_BWD_ENTRY(hopper_sigmoid_bwd_bf16_d64, __nv_bfloat16, 64, 128, true)
HOPPER_BWD_ENTRY(hopper_sigmoid_bwd_fp16_d64, __half, 64, 128, true)
HOPPER_BWD_ENTRY(hopper_sigmoid_bwd_bf16_d128, __nv_bfloat16, 128, 64, true)
HOPPER_BWD_ENTRY(hopper_sigmoid_bwd_fp16_d128, __half, 128, 64, true)
