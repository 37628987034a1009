// The fused norm (kernel-core's SigattnNorm / SigattnNormGrad contract; src/kernels/norm.ts): LayerNorm and
// RMSNorm over the last axis, one launch forward and two or three backward, instead of ~55 (layernorm) or
// ~31 (rmsnorm) composed tfjs kernels.
//
// Rows of C ≤ 1024 go one warp per row, the row held in registers (kMaxPerLane = C/32 rounded up to a power
// of two, one kernel per size); longer rows one block per row, reading the row from global memory in each
// pass (it stays in L1/L2). Float32 accumulation; the mean and the variance are exact two-pass (the variance
// is the mean of squared deviations from the rounded mean, as tf.moments computes it). Every operation uses
// an explicitly rounded intrinsic (the build's --use_fast_math would contract to FMA and approximate the
// division), and rstd = 1/sqrt(var + eps) is computed in double and rounded once, which is what tfjs cpu's
// Rsqrt does. Reductions are fixed-order trees (xor butterflies, then warps in order), so results are
// deterministic; dgamma/dbeta are column sums: per-chunk partial sums, then a second kernel adds the chunks
// in order (no atomics). test/norm-emulated.test.ts replays every kernel here in TypeScript.
#include "common.cuh"

enum NormKind { kLayerNorm = 0, kRmsNorm = 1 };

struct NormFwdParams {
  float* y;
  float* stats;        // [rows, 2]: (mean, rstd); mean = 0 for rmsnorm
  const float* x;
  const float* gamma;
  const float* beta;   // null for rmsnorm
  long long rows;
  int C;
  int kind;
  float eps;
};

struct NormBwdParams {
  float* dx;
  float* dgamma;       // columns kernel: [chunks, C] partials (the outputs themselves when chunks == 1)
  float* dbeta;        // null for rmsnorm
  const float* x;
  const float* gamma;
  const float* stats;
  const float* dy;
  long long rows;
  long long rowsPerChunk;
  int C;
  int kind;
};

struct NormFinishParams {
  float* dgamma;
  float* dbeta;        // null for rmsnorm
  const float* partialGamma;
  const float* partialBeta;
  long long C;
  int chunks;
};

#define NORM_WARPS_PER_BLOCK 8
#define NORM_COL_TILE 32
#define NORM_COL_LANES 8

// Every lane ends with the same value: lane l adds lane l^off's at each step, and float addition commutes.
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) v = __fadd_rn(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}

// Every thread gets the sum: warp sums, then warp 0 adds them in warp order. `smem` needs 33 floats.
__device__ __forceinline__ float block_sum(float v, float* smem) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  if (lane == 0) smem[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = warp_sum(lane < warps ? smem[lane] : 0.f);
    if (lane == 0) smem[32] = v;
  }
  __syncthreads();
  v = smem[32];
  __syncthreads();  // smem is reused by the next call
  return v;
}

// tfjs cpu's Rsqrt: 1 / Math.sqrt(v) in double, rounded to float32 once.
__device__ __forceinline__ float rsqrt_rn(float v) { return (float)(1.0 / sqrt((double)v)); }

__device__ __forceinline__ float norm_mean(float sum, int C, int kind) {
  return kind == kLayerNorm ? __fdiv_rn(sum, (float)C) : 0.f;
}

// ---- forward -----------------------------------------------------------------------------------

template <int K>
__device__ __forceinline__ void norm_fwd_warp(const NormFwdParams& p) {
  const int lane = threadIdx.x & 31;
  const long long row = (long long)blockIdx.x * NORM_WARPS_PER_BLOCK + (threadIdx.x >> 5);
  if (row >= p.rows) return;  // the whole warp leaves together
  const float* x = p.x + row * p.C;
  float v[K];
  float s = 0.f;
#pragma unroll
  for (int k = 0; k < K; k++) {
    const int j = lane + 32 * k;
    v[k] = j < p.C ? x[j] : 0.f;
    s = __fadd_rn(s, v[k]);
  }
  const float mean = norm_mean(warp_sum(s), p.C, p.kind);
  float ss = 0.f;
#pragma unroll
  for (int k = 0; k < K; k++) {
    if (lane + 32 * k < p.C) {
      const float d = __fsub_rn(v[k], mean);
      ss = __fadd_rn(ss, __fmul_rn(d, d));
    }
  }
  const float rstd = rsqrt_rn(__fadd_rn(__fdiv_rn(warp_sum(ss), (float)p.C), p.eps));
  float* y = p.y + row * p.C;
#pragma unroll
  for (int k = 0; k < K; k++) {
    const int j = lane + 32 * k;
    if (j < p.C) {
      float o = __fmul_rn(__fmul_rn(__fsub_rn(v[k], mean), rstd), p.gamma[j]);
      if (p.kind == kLayerNorm) o = __fadd_rn(o, p.beta[j]);
      y[j] = o;
    }
  }
  if (lane == 0) {
    p.stats[2 * row] = mean;
    p.stats[2 * row + 1] = rstd;
  }
}

#define NORM_FWD_WARP(K) \
  extern "C" __global__ void __launch_bounds__(256) norm_fwd_w##K##_f32(NormFwdParams p) { norm_fwd_warp<K>(p); }
NORM_FWD_WARP(1)
NORM_FWD_WARP(2)
NORM_FWD_WARP(4)
NORM_FWD_WARP(8)
NORM_FWD_WARP(16)
NORM_FWD_WARP(32)

extern "C" __global__ void norm_fwd_block_f32(NormFwdParams p) {
  __shared__ float smem[33];
  const long long row = blockIdx.x;
  const float* x = p.x + row * p.C;
  float s = 0.f;
  for (int j = threadIdx.x; j < p.C; j += blockDim.x) s = __fadd_rn(s, x[j]);
  const float mean = norm_mean(block_sum(s, smem), p.C, p.kind);
  float ss = 0.f;
  for (int j = threadIdx.x; j < p.C; j += blockDim.x) {
    const float d = __fsub_rn(x[j], mean);
    ss = __fadd_rn(ss, __fmul_rn(d, d));
  }
  const float rstd = rsqrt_rn(__fadd_rn(__fdiv_rn(block_sum(ss, smem), (float)p.C), p.eps));
  float* y = p.y + row * p.C;
  for (int j = threadIdx.x; j < p.C; j += blockDim.x) {
    float o = __fmul_rn(__fmul_rn(__fsub_rn(x[j], mean), rstd), p.gamma[j]);
    if (p.kind == kLayerNorm) o = __fadd_rn(o, p.beta[j]);
    y[j] = o;
  }
  if (threadIdx.x == 0) {
    p.stats[2 * row] = mean;
    p.stats[2 * row + 1] = rstd;
  }
}

// ---- backward: dx per row ----------------------------------------------------------------------
// x̂ = (x − mean)·rstd, g = dy·gamma; dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) with mean(g) = 0 for rmsnorm.

__device__ __forceinline__ float norm_dx(float g, float xh, float mg, float mgx, float rstd) {
  return __fmul_rn(rstd, __fsub_rn(__fsub_rn(g, mg), __fmul_rn(xh, mgx)));
}

template <int K>
__device__ __forceinline__ void norm_bwd_dx_warp(const NormBwdParams& p) {
  const int lane = threadIdx.x & 31;
  const long long row = (long long)blockIdx.x * NORM_WARPS_PER_BLOCK + (threadIdx.x >> 5);
  if (row >= p.rows) return;
  const float* x = p.x + row * p.C;
  const float* dy = p.dy + row * p.C;
  const float mean = p.stats[2 * row], rstd = p.stats[2 * row + 1];
  float xh[K], g[K];
  float sg = 0.f, sgx = 0.f;
#pragma unroll
  for (int k = 0; k < K; k++) {
    const int j = lane + 32 * k;
    xh[k] = 0.f;
    g[k] = 0.f;
    if (j < p.C) {
      xh[k] = __fmul_rn(__fsub_rn(x[j], mean), rstd);
      g[k] = __fmul_rn(dy[j], p.gamma[j]);
      sg = __fadd_rn(sg, g[k]);
      sgx = __fadd_rn(sgx, __fmul_rn(g[k], xh[k]));
    }
  }
  const float mg = norm_mean(warp_sum(sg), p.C, p.kind);
  const float mgx = __fdiv_rn(warp_sum(sgx), (float)p.C);
  float* dx = p.dx + row * p.C;
#pragma unroll
  for (int k = 0; k < K; k++) {
    const int j = lane + 32 * k;
    if (j < p.C) dx[j] = norm_dx(g[k], xh[k], mg, mgx, rstd);
  }
}

#define NORM_BWD_WARP(K) \
  extern "C" __global__ void __launch_bounds__(256) norm_bwd_dx_w##K##_f32(NormBwdParams p) { norm_bwd_dx_warp<K>(p); }
NORM_BWD_WARP(1)
NORM_BWD_WARP(2)
NORM_BWD_WARP(4)
NORM_BWD_WARP(8)
NORM_BWD_WARP(16)
NORM_BWD_WARP(32)

extern "C" __global__ void norm_bwd_dx_block_f32(NormBwdParams p) {
  __shared__ float smem[33];
  const long long row = blockIdx.x;
  const float* x = p.x + row * p.C;
  const float* dy = p.dy + row * p.C;
  const float mean = p.stats[2 * row], rstd = p.stats[2 * row + 1];
  float sg = 0.f, sgx = 0.f;
  for (int j = threadIdx.x; j < p.C; j += blockDim.x) {
    const float xh = __fmul_rn(__fsub_rn(x[j], mean), rstd);
    const float g = __fmul_rn(dy[j], p.gamma[j]);
    sg = __fadd_rn(sg, g);
    sgx = __fadd_rn(sgx, __fmul_rn(g, xh));
  }
  const float mg = norm_mean(block_sum(sg, smem), p.C, p.kind);
  const float mgx = __fdiv_rn(block_sum(sgx, smem), (float)p.C);
  float* dx = p.dx + row * p.C;
  for (int j = threadIdx.x; j < p.C; j += blockDim.x) {
    const float xh = __fmul_rn(__fsub_rn(x[j], mean), rstd);
    dx[j] = norm_dx(__fmul_rn(dy[j], p.gamma[j]), xh, mg, mgx, rstd);
  }
}

// ---- backward: dgamma = Σ dy·x̂, dbeta = Σ dy over rows -----------------------------------------
// Block (blockIdx.x, blockIdx.y) sums columns [32·blockIdx.x, +32) over the rows of chunk blockIdx.y:
// thread (lane, t) of its 256 adds rows chunk start + t, + 8, … of column 32·blockIdx.x + lane (coalesced
// across the warp); the 8 partials per column are then added in t order.

extern "C" __global__ void __launch_bounds__(256) norm_bwd_columns_f32(NormBwdParams p) {
  __shared__ float sgam[NORM_COL_LANES][NORM_COL_TILE + 1];
  __shared__ float sbet[NORM_COL_LANES][NORM_COL_TILE + 1];
  const int lane = threadIdx.x & 31, t = threadIdx.x >> 5;
  const int c = blockIdx.x * NORM_COL_TILE + lane;
  const long long chunk = blockIdx.y;
  const long long r0 = chunk * p.rowsPerChunk;
  const long long r1 = min((long long)p.rows, r0 + p.rowsPerChunk);
  float ag = 0.f, ab = 0.f;
  if (c < p.C) {
    for (long long r = r0 + t; r < r1; r += NORM_COL_LANES) {
      const float xh = __fmul_rn(__fsub_rn(p.x[r * p.C + c], p.stats[2 * r]), p.stats[2 * r + 1]);
      const float d = p.dy[r * p.C + c];
      ag = __fadd_rn(ag, __fmul_rn(d, xh));
      ab = __fadd_rn(ab, d);
    }
  }
  sgam[t][lane] = ag;
  sbet[t][lane] = ab;
  __syncthreads();
  if (t == 0 && c < p.C) {
    float g = 0.f, b = 0.f;
#pragma unroll
    for (int i = 0; i < NORM_COL_LANES; i++) {
      g = __fadd_rn(g, sgam[i][lane]);
      b = __fadd_rn(b, sbet[i][lane]);
    }
    p.dgamma[chunk * p.C + c] = g;
    if (p.kind == kLayerNorm) p.dbeta[chunk * p.C + c] = b;
  }
}

// The chunks' partials of each column, added in chunk order.
extern "C" __global__ void norm_bwd_finish_f32(NormFinishParams p) {
  GRID_STRIDE(c, p.C) {
    float g = 0.f, b = 0.f;
    for (int k = 0; k < p.chunks; k++) {
      g = __fadd_rn(g, p.partialGamma[k * p.C + c]);
      if (p.dbeta != nullptr) b = __fadd_rn(b, p.partialBeta[k * p.C + c]);
    }
    p.dgamma[c] = g;
    if (p.dbeta != nullptr) p.dbeta[c] = b;
  }
}
