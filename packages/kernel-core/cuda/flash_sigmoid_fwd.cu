// FlashSigmoid forward: O = sigmoid(scale * Q K^T + bias - ALiBi) V, one MUFU op per score.
#include "flash_fwd.cuh"

FLASH_FWD_ENTRY(flash_sigmoid_fwd_bf16_d64, __nv_bfloat16, 64, 128, 64, 8, 1, true)
FLASH_FWD_ENTRY(flash_sigmoid_fwd_fp16_d64, __half, 64, 128, 64, 8, 1, true)
FLASH_FWD_ENTRY(flash_sigmoid_fwd_bf16_d128, __nv_bfloat16, 128, 128, 64, 8, 1, true)
FLASH_FWD_ENTRY(flash_sigmoid_fwd_fp16_d128, __half, 128, 128, 64, 8, 1, true)
