// Glue between the backend's float32 tensors and kernel-core's bf16 flash kernels (src/kernels/attention.ts):
// conversions, and the (m, l) row statistics of the tfjs attention contract from and to the kernels' LSE.
#include <cuda_bf16.h>
#include "common.cuh"

struct CastParams {
  void* out;
  const void* in;
  long long n;
};

// Round to nearest even, as the reference's f32ToBf16Bits.
extern "C" __global__ void cast_f32_bf16(CastParams p) {
  const float* in = static_cast<const float*>(p.in);
  __nv_bfloat16* out = static_cast<__nv_bfloat16*>(p.out);
  GRID_STRIDE(i, p.n) out[i] = __float2bfloat16_rn(in[i]);
}

extern "C" __global__ void cast_bf16_f32(CastParams p) {
  const __nv_bfloat16* in = static_cast<const __nv_bfloat16*>(p.in);
  float* out = static_cast<float*>(p.out);
  GRID_STRIDE(i, p.n) out[i] = __bfloat162float(in[i]);
}

struct StatsParams {
  float* stats;     // [rows, 2]: (m, l)
  float* lse;       // [rows]
  long long rows;
  int has_lse;      // 0: the element-wise kinds, which have no row statistics: (0, 1)
};

// (m, l) = (LSE, 1) satisfies the contract's LSE = m + log l exactly.
extern "C" __global__ void stats_from_lse(StatsParams p) {
  GRID_STRIDE(r, p.rows) {
    p.stats[2 * r] = p.has_lse ? p.lse[r] : 0.f;
    p.stats[2 * r + 1] = 1.f;
  }
}

extern "C" __global__ void lse_from_stats(StatsParams p) {
  GRID_STRIDE(r, p.rows) p.lse[r] = p.stats[2 * r] + logf(p.stats[2 * r + 1]);
}
