// Small helpers around the backward kernels: the softmax D = rowsum(dO∘O) pre-pass and the
// fp32 → bf16/fp16 conversion of the atomically accumulated gradients.
#include "flash_common.cuh"

template <typename T>
__device__ __forceinline__ float to_f32(T x);
template <> __device__ __forceinline__ float to_f32<__nv_bfloat16>(__nv_bfloat16 x) { return __bfloat162float(x); }
template <> __device__ __forceinline__ float to_f32<__half>(__half x) { return __half2float(x); }

// One warp per row: lanes stride over D, then a shuffle reduction.
template <typename T>
__device__ __forceinline__ void bwd_delta(const T* o, const T* dout, float* delta, long rows, int D) {
  const long row = (static_cast<long>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  float acc = 0.f;
  for (int d = lane; d < D; d += 32) acc += to_f32(o[row * D + d]) * to_f32(dout[row * D + d]);
#pragma unroll
  for (int s = 16; s > 0; s >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, s);
  if (lane == 0) delta[row] = acc;
}

extern "C" __global__ void flash_bwd_delta_bf16(const __nv_bfloat16* o, const __nv_bfloat16* dout, float* delta, long rows, int D) {
  bwd_delta(o, dout, delta, rows, D);
}
extern "C" __global__ void flash_bwd_delta_fp16(const __half* o, const __half* dout, float* delta, long rows, int D) {
  bwd_delta(o, dout, delta, rows, D);
}

extern "C" __global__ void flash_bwd_convert_bf16(const float* src, __nv_bfloat16* dst, long n) {
  for (long i = static_cast<long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += static_cast<long>(gridDim.x) * blockDim.x)
    dst[i] = __float2bfloat16_rn(src[i]);
}
extern "C" __global__ void flash_bwd_convert_fp16(const float* src, __half* dst, long n) {
  for (long i = static_cast<long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += static_cast<long>(gridDim.x) * blockDim.x)
    dst[i] = __float2half_rn(src[i]);
}
