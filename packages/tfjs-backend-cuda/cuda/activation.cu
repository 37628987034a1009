// The fused activation (kernel-core's SigattnActivation / SigattnActivationGrad contract, kernel-core
// src/tfjs/activation-names.ts; host code in src/kernels/activation.ts): GELU (tanh approximation) and
// SiLU, one grid-stride elementwise launch forward and one backward instead of 9 + 28 (GELU) or 2 + 8
// (SiLU) composed tfjs kernels.
//
// The contract is the composed ops and their tfjs autodiff step for step, so each line below is one
// float32 operation with one rounding, in the contract's order: the explicitly rounded intrinsics
// (__fmul_rn, __fadd_rn, __fsub_rn), which the build's --use_fast_math neither contracts into an FMA nor
// approximates; tanh and the sigmoid in double, rounded once, as tfjs cpu's Math.tanh and
// 1 / (1 + Math.exp(-x)) (fast math leaves double precision alone; tanhf/expf would be the approximate
// instructions). The result is tfjs cpu's composed value bit for bit up to a rare double rounding of
// tanh/exp and the build's flush of float32 subnormals to zero. test/activation-plan.test.ts replays
// this file's arithmetic in TypeScript against tfjs cpu. Memory-bound on the H200 (full-rate FP64).
#include "common.cuh"

struct ActivationParams {
  float* out;       // y (forward) or dx (backward)
  const float* x;
  const float* dy;  // backward only; null in the forward
  long long n;
  float geluA;      // fround(0.044715): the cube's coefficient
  float geluC;      // fround(sqrt(2/pi))
  int vec;          // 1: n % 4 == 0 and every pointer 16-byte aligned, so each step moves 4 elements
};

struct alignas(16) Float4 {
  float v[4];
};

struct GeluTanh {
  static __device__ __forceinline__ float fwd(float x, float A, float C) {
    const float x2 = __fmul_rn(x, x);
    const float x3 = __fmul_rn(x2, x);
    const float k = __fmul_rn(x3, A);
    const float d = __fadd_rn(x, k);
    const float i = __fmul_rn(d, C);
    const float t = (float)tanh((double)i);
    const float e = __fadd_rn(t, 1.f);
    const float h = __fmul_rn(x, 0.5f);
    return __fmul_rn(h, e);
  }
  // tfjs autodiff of fwd: y = h·e gives dh = dy·e and de = dy·h (= dt); tanh's gradient (1 − t²)·dt;
  // the products' gradients; x's five contributions summed in the order the tape adds them.
  static __device__ __forceinline__ float bwd(float x, float dy, float A, float C) {
    const float x2 = __fmul_rn(x, x);
    const float x3 = __fmul_rn(x2, x);
    const float k = __fmul_rn(x3, A);
    const float d = __fadd_rn(x, k);
    const float i = __fmul_rn(d, C);
    const float t = (float)tanh((double)i);
    const float e = __fadd_rn(t, 1.f);
    const float h = __fmul_rn(x, 0.5f);
    const float dh = __fmul_rn(dy, e);
    const float dt = __fmul_rn(dy, h);
    const float di = __fmul_rn(__fsub_rn(1.f, __fmul_rn(t, t)), dt);
    const float dd = __fmul_rn(di, C);
    const float d3 = __fmul_rn(dd, A);
    const float d2 = __fmul_rn(d3, x);
    const float fromX2 = __fmul_rn(d2, x);  // x·x: both factors are x, each contributes d2·x
    float dx = __fadd_rn(__fmul_rn(dh, 0.5f), dd);
    dx = __fadd_rn(dx, __fmul_rn(d3, x2));
    dx = __fadd_rn(dx, fromX2);
    return __fadd_rn(dx, fromX2);
  }
};

struct Silu {
  static __device__ __forceinline__ float sigmoid(float x) { return (float)(1.0 / (1.0 + exp(-(double)x))); }
  static __device__ __forceinline__ float fwd(float x, float, float) { return __fmul_rn(x, sigmoid(x)); }
  // y = x·s: dx = dy·s directly plus (dy·x)·(s·(1 − s)) through the sigmoid.
  static __device__ __forceinline__ float bwd(float x, float dy, float, float) {
    const float s = sigmoid(x);
    const float ds = __fmul_rn(dy, x);
    return __fadd_rn(__fmul_rn(dy, s), __fmul_rn(ds, __fmul_rn(s, __fsub_rn(1.f, s))));
  }
};

template <typename Act>
__device__ void activation_fwd(const ActivationParams& p) {
  if (p.vec) {
    const Float4* x4 = reinterpret_cast<const Float4*>(p.x);
    Float4* out4 = reinterpret_cast<Float4*>(p.out);
    GRID_STRIDE(i, p.n / 4) {
      const Float4 a = x4[i];
      Float4 r;
#pragma unroll
      for (int k = 0; k < 4; k++) r.v[k] = Act::fwd(a.v[k], p.geluA, p.geluC);
      out4[i] = r;
    }
  } else {
    GRID_STRIDE(i, p.n) { p.out[i] = Act::fwd(p.x[i], p.geluA, p.geluC); }
  }
}

template <typename Act>
__device__ void activation_bwd(const ActivationParams& p) {
  if (p.vec) {
    const Float4* x4 = reinterpret_cast<const Float4*>(p.x);
    const Float4* dy4 = reinterpret_cast<const Float4*>(p.dy);
    Float4* out4 = reinterpret_cast<Float4*>(p.out);
    GRID_STRIDE(i, p.n / 4) {
      const Float4 a = x4[i];
      const Float4 g = dy4[i];
      Float4 r;
#pragma unroll
      for (int k = 0; k < 4; k++) r.v[k] = Act::bwd(a.v[k], g.v[k], p.geluA, p.geluC);
      out4[i] = r;
    }
  } else {
    GRID_STRIDE(i, p.n) { p.out[i] = Act::bwd(p.x[i], p.dy[i], p.geluA, p.geluC); }
  }
}

extern "C" __global__ void activation_fwd_gelu_tanh_f32(ActivationParams p) { activation_fwd<GeluTanh>(p); }
extern "C" __global__ void activation_fwd_silu_f32(ActivationParams p) { activation_fwd<Silu>(p); }
extern "C" __global__ void activation_bwd_gelu_tanh_f32(ActivationParams p) { activation_bwd<GeluTanh>(p); }
extern "C" __global__ void activation_bwd_silu_f32(ActivationParams p) { activation_bwd<Silu>(p); }
