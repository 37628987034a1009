// FlashSigmoid backward for Hopper with TMA and warp specialisation (hopper_tma_bwd.cuh): the tiles of
// hopper_sigmoid_bwd.cu; the softmax twin (hopper_softmax_tma_bwd.cu) has the same tiles and stages.
#include "hopper_tma_bwd.cuh"

HOPPER_TMA_BWD_ENTRY(hopper_sigmoid_tma_bwd_bf16_d64, __nv_bfloat16, 64, 128, true)
HOPPER_TMA_BWD_ENTRY(hopper_sigmoid_tma_bwd_fp16_d64, __half, 64, 128, true)
HOPPER_TMA_BWD_ENTRY(hopper_sigmoid_tma_bwd_bf16_d128, __nv_bfloat16, 128, 64, true)
HOPPER_TMA_BWD_ENTRY(hopper_sigmoid_tma_bwd_fp16_d128, __half, 128, 64, true)
