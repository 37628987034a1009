// FlashSigmoid forward for Hopper with TMA and warp specialisation (hopper_tma_fwd.cuh); the softmax twin
// (hopper_softmax_tma_fwd.cu) has the same tiles, stages and schedule.
// (head dim, keys per tile, consumer warpgroups, stages, ping-pong)
#include "hopper_tma_fwd.cuh"

HOPPER_TMA_FWD_ENTRY(hopper_sigmoid_tma_fwd_bf16_d64, __nv_bfloat16, 64, 128, 3, 2, false, true)
HOPPER_TMA_FWD_ENTRY(hopper_sigmoid_tma_fwd_fp16_d64, __half, 64, 128, 3, 2, false, true)
HOPPER_TMA_FWD_ENTRY(hopper_sigmoid_tma_fwd_bf16_d128, __nv_bfloat16, 128, 128, 2, 2, true, true)
HOPPER_TMA_FWD_ENTRY(hopper_sigmoid_tma_fwd_fp16_d128, __half, 128, 128, 2, 2, true, true)
