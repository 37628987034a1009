// FlashSigmoid forward for Hopper with TMA and warp specialisation (hopper_tma_fwd.cuh), D = 128; the
// softmax twin (hopper_softmax_tma_fwd.cu) has the same tiles and stages.
#include "hopper_tma_fwd.cuh"

HOPPER_TMA_FWD_ENTRY(hopper_sigmoid_tma_fwd_bf16_d128, __nv_bfloat16, 128, 128, 2, true)
HOPPER_TMA_FWD_ENTRY(hopper_sigmoid_tma_fwd_fp16_d128, __half, 128, 128, 2, true)
