// FlashSoftmax forward for Hopper with TMA and warp specialisation (hopper_tma_fwd.cuh): the twin of
// hopper_sigmoid_tma_fwd.cu.
#include "hopper_tma_fwd.cuh"

HOPPER_TMA_FWD_ENTRY(hopper_softmax_tma_fwd_bf16_d64, __nv_bfloat16, 64, 128, 3, 2, false, false)
HOPPER_TMA_FWD_ENTRY(hopper_softmax_tma_fwd_fp16_d64, __half, 64, 128, 3, 2, false, false)
HOPPER_TMA_FWD_ENTRY(hopper_softmax_tma_fwd_bf16_d128, __nv_bfloat16, 128, 128, 2, 2, true, false)
HOPPER_TMA_FWD_ENTRY(hopper_softmax_tma_fwd_fp16_d128, __half, 128, 128, 2, 2, true, false)
