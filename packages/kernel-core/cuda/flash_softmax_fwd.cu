// FlashSoftmax forward (FA2 online softmax), same tiling as FlashSigmoid so the timing ratio
// isolates the nonlinearity. Also writes the natural-log LSE for a backward pass.
#include "flash_fwd.cuh"

FLASH_FWD_ENTRY(flash_softmax_fwd_bf16_d64, __nv_bfloat16, 64, 128, 64, 8, 1, false)
FLASH_FWD_ENTRY(flash_softmax_fwd_fp16_d64, __half, 64, 128, 64, 8, 1, false)
FLASH_FWD_ENTRY(flash_softmax_fwd_bf16_d128, __nv_bfloat16, 128, 128, 64, 8, 1, false)
FLASH_FWD_ENTRY(flash_softmax_fwd_fp16_d128, __half, 128, 128, 64, 8, 1, false)
