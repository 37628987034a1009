// FlashSoftmax forward for Hopper (sm_90a only): the softmax twin of hopper_sigmoid_fwd.cu (online
// max/sum, O/l and the natural-log LSE at the end), same tiles.
#include "hopper_fwd.cuh"

HOPPER_FWD_ENTRY(hopper_softmax_fwd_bf16_d64, __nv_bfloat16, 64, 128, 1, 2, false, false)
HOPPER_FWD_ENTRY(hopper_softmax_fwd_fp16_d64, __half, 64, 128, 1, 2, false, false)
HOPPER_FWD_ENTRY(hopper_softmax_fwd_bf16_d128, __nv_bfloat16, 128, 128, 2, 1, true, false)
HOPPER_FWD_ENTRY(hopper_softmax_fwd_fp16_d128, __half, 128, 128, 2, 1, true, false)
