// The fused AdamW update (kernel-core's SigattnAdamW contract; src/kernels/optimizer.ts): one launch per
// parameter instead of ~15 elementwise ops. Every operation uses an explicitly rounded intrinsic, in the
// order of the composed ops, so the result matches the other backends bit for bit (the build's
// --use_fast_math would otherwise contract to FMA and approximate the division and square root).
#include "common.cuh"

struct AdamWParams {
  float* new_param;
  float* new_m;
  float* new_v;
  const float* param;
  const float* grad;
  const float* m;
  const float* v;
  long long n;
  float beta1, one_minus_beta1, beta2, one_minus_beta2, eps, bc1, bc2, lr, wd;
};

extern "C" __global__ void adamw_f32(AdamWParams p) {
  GRID_STRIDE(i, p.n) {
    const float g = p.grad[i], w = p.param[i];
    const float m = __fadd_rn(__fmul_rn(p.m[i], p.beta1), __fmul_rn(g, p.one_minus_beta1));
    const float v = __fadd_rn(__fmul_rn(p.v[i], p.beta2), __fmul_rn(__fmul_rn(g, g), p.one_minus_beta2));
    float u = __fdiv_rn(__fdiv_rn(m, p.bc1), __fadd_rn(__fsqrt_rn(__fdiv_rn(v, p.bc2)), p.eps));
    if (p.wd > 0.f) u = __fadd_rn(u, __fmul_rn(w, p.wd));
    p.new_param[i] = __fsub_rn(w, __fmul_rn(u, p.lr));
    p.new_m[i] = m;
    p.new_v[i] = v;
  }
}

// ADAMW_UPDATE_MULTI: up to ADAMW_CHUNK parameters per launch; blockIdx.y picks the parameter, the
// x-blocks stride over its elements. The same per-element math as adamw_f32.
#define ADAMW_CHUNK 40

struct AdamWMultiParams {
  float* new_param[ADAMW_CHUNK];
  float* new_m[ADAMW_CHUNK];
  float* new_v[ADAMW_CHUNK];
  const float* param[ADAMW_CHUNK];
  const float* grad[ADAMW_CHUNK];
  const float* m[ADAMW_CHUNK];
  const float* v[ADAMW_CHUNK];
  long long n[ADAMW_CHUNK];
  float wd[ADAMW_CHUNK];
  float beta1, one_minus_beta1, beta2, one_minus_beta2, eps, bc1, bc2, lr;
};

extern "C" __global__ void adamw_multi_f32(AdamWMultiParams p) {
  const int t = blockIdx.y;
  const float* __restrict__ grad = p.grad[t];
  const float* __restrict__ param = p.param[t];
  const float* __restrict__ m0 = p.m[t];
  const float* __restrict__ v0 = p.v[t];
  const float wd = p.wd[t];
  GRID_STRIDE(i, p.n[t]) {
    const float g = grad[i], w = param[i];
    const float m = __fadd_rn(__fmul_rn(m0[i], p.beta1), __fmul_rn(g, p.one_minus_beta1));
    const float v = __fadd_rn(__fmul_rn(v0[i], p.beta2), __fmul_rn(__fmul_rn(g, g), p.one_minus_beta2));
    float u = __fdiv_rn(__fdiv_rn(m, p.bc1), __fadd_rn(__fsqrt_rn(__fdiv_rn(v, p.bc2)), p.eps));
    if (wd > 0.f) u = __fadd_rn(u, __fmul_rn(w, wd));
    p.new_param[t][i] = __fsub_rn(w, __fmul_rn(u, p.lr));
    p.new_m[t][i] = m;
    p.new_v[t][i] = v;
  }
}
