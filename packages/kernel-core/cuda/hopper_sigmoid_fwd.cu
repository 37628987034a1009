// FlashSigmoid forward for Hopper (sm_90a only): wgmma main loop of hopper_fwd.cuh, the same
// nonlinearity as the FA2 kernels (Sigmoid<T>, flash_common.cuh). Tiles (head dim, keys per tile,
// warpgroups) are the softmax twin's, so the timing ratio isolates the nonlinearity. Not yet tuned
// on a GPU.
#include "hopper_fwd.cuh"

HOPPER_FWD_ENTRY(hopper_sigmoid_fwd_bf16_d64, __nv_bfloat16, 64, 128, 2, true)
HOPPER_FWD_ENTRY(hopper_sigmoid_fwd_fp16_d64, __half, 64, 128, 2, true)
HOPPER_FWD_ENTRY(hopper_sigmoid_fwd_bf16_d128, __nv_bfloat16, 128, 128, 2, true)
HOPPER_FWD_ENTRY(hopper_sigmoid_fwd_fp16_d128, __half, 128, 128, 2, true)
