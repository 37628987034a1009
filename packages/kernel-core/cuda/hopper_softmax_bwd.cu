// FlashSoftmax backward for Hopper (sm_90a only): the wgmma main loop of hopper_bwd.cuh with
// P = exp(S − LSE) and dS = P(dP − D), the sigmoid kernel's twin.
#include "hopper_bwd.cuh"

HOPPER_BWD_ENTRY(hopper_softmax_bwd_bf16_d64, __nv_bfloat16, 64, 128, false)
HOPPER_BWD_ENTRY(hopper_softmax_bwd_fp16_d64, __half, 64, 128, false)
HOPPER_BWD_ENTRY(hopper_softmax_bwd_bf16_d128, __nv_bfloat16, 128, 64, false)
HOPPER_BWD_ENTRY(hopper_softmax_bwd_fp16_d128, __half, 128, 64, false)
