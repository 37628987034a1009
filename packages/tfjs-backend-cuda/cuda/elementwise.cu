// elementwise kernels of the tfjs cuda backend (see src/kernels/elementwise.ts).
//
// Accuracy under --use_fast_math (the package's build flag): nvcc then turns expf/logf/powf into the
// ex2/lg2.approx instructions, tanhf into tanh.approx.f32 (about 5e-4 relative error), x/y into
// div.approx and sqrtf into sqrt.approx. tfjs's cpu backend computes every op in double
// (Math.exp, Math.tanh, 1 / Math.sqrt(x), …) and rounds the result to float32, and the op checks
// compare with it at 1e-5. So the transcendental ops here compute in double and round once — fast math
// leaves double-precision math alone — which gives cpu's value (up to the rare double rounding), and
// the float ops use the explicitly rounded intrinsics (__fdiv_rn, __fsqrt_rn, __fadd_rn, …), which
// fast math does not replace. The elementwise ops are memory-bound on the H100/H200 (full-rate FP64),
// so the double math costs no time there.
#include "common.cuh"

// ---------------------------------------------------------------------------------------------------
// Unary: out[i] = f(x[i]) over n contiguous elements.

struct UnaryParams {
  void* out;
  const void* x;
  long long n;
  float alpha;  // Step's value for x <= 0
  int vec;      // 1: n % 4 == 0 and both pointers 16-byte aligned, so the kernel moves 4 elements at a time
};

template <typename T>
struct alignas(16) Vec4 {
  T v[4];
};

struct AbsOp { static __device__ float apply(float x, float) { return fabsf(x); } };
struct ExpOp { static __device__ float apply(float x, float) { return (float)exp((double)x); } };
struct FloorOp { static __device__ float apply(float x, float) { return floorf(x); } };
struct LogOp { static __device__ float apply(float x, float) { return (float)log((double)x); } };
struct NegOp { static __device__ float apply(float x, float) { return -x; } };
// Math.max(0, x): NaN stays NaN.
struct ReluOp { static __device__ float apply(float x, float) { return isnan(x) ? x : (x > 0.f ? x : 0.f); } };
struct RsqrtOp { static __device__ float apply(float x, float) { return (float)(1.0 / sqrt((double)x)); } };
struct SigmoidOp { static __device__ float apply(float x, float) { return (float)(1.0 / (1.0 + exp(-(double)x))); } };
struct SqrtOp { static __device__ float apply(float x, float) { return __fsqrt_rn(x); } };
struct SquareOp { static __device__ float apply(float x, float) { return __fmul_rn(x, x); } };
// tfjs Step: NaN for NaN, 1 for x > 0, alpha otherwise.
struct StepOp { static __device__ float apply(float x, float alpha) { return isnan(x) ? x : (x > 0.f ? 1.f : alpha); } };
struct TanhOp { static __device__ float apply(float x, float) { return (float)tanh((double)x); } };
// bool → bool (0/1 ints).
struct LogicalNotOp { static __device__ int apply(int x, float) { return x == 0 ? 1 : 0; } };

template <typename T, typename Op>
__device__ void unary_impl(const UnaryParams& p) {
  T* out = static_cast<T*>(p.out);
  const T* x = static_cast<const T*>(p.x);
  if (p.vec) {
    const long long n4 = p.n / 4;
    GRID_STRIDE(i, n4) {
      const Vec4<T> a = reinterpret_cast<const Vec4<T>*>(x)[i];
      Vec4<T> r;
#pragma unroll
      for (int k = 0; k < 4; k++) r.v[k] = Op::apply(a.v[k], p.alpha);
      reinterpret_cast<Vec4<T>*>(out)[i] = r;
    }
  } else {
    GRID_STRIDE(i, p.n) { out[i] = Op::apply(x[i], p.alpha); }
  }
}

#define UNARY_KERNEL(name, T, Op) \
  extern "C" __global__ void name(UnaryParams p) { unary_impl<T, Op>(p); }

UNARY_KERNEL(unary_abs_f32, float, AbsOp)
UNARY_KERNEL(unary_exp_f32, float, ExpOp)
UNARY_KERNEL(unary_floor_f32, float, FloorOp)
UNARY_KERNEL(unary_log_f32, float, LogOp)
UNARY_KERNEL(unary_neg_f32, float, NegOp)
UNARY_KERNEL(unary_relu_f32, float, ReluOp)
UNARY_KERNEL(unary_rsqrt_f32, float, RsqrtOp)
UNARY_KERNEL(unary_sigmoid_f32, float, SigmoidOp)
UNARY_KERNEL(unary_sqrt_f32, float, SqrtOp)
UNARY_KERNEL(unary_square_f32, float, SquareOp)
UNARY_KERNEL(unary_step_f32, float, StepOp)
UNARY_KERNEL(unary_tanh_f32, float, TanhOp)
UNARY_KERNEL(unary_logical_not_bool, int, LogicalNotOp)

// ---------------------------------------------------------------------------------------------------
// Binary with numpy broadcasting: out[i] = op(a[ia], b[ib]).

enum BinaryMode {
  kSame = 0,     // a, b and out have the same shape: ia = ib = i
  kScalarA = 1,  // a has one element: ia = 0, ib = i
  kScalarB = 2,  // b has one element: ia = i, ib = 0
  kStrided = 3,  // i decomposed over shape[0..rank) (row-major); ia, ib from aStrides/bStrides (0 = broadcast)
};

struct BinaryParams {
  void* out;
  const void* a;
  const void* b;
  long long n;
  int mode;
  int vec;  // kSame/kScalarA/kScalarB only: n % 4 == 0 and the full-size pointers 16-byte aligned
  int rank;
  int shape[SIGATTN_MAX_RANK];
  int aStrides[SIGATTN_MAX_RANK];
  int bStrides[SIGATTN_MAX_RANK];
};

struct AddF { static __device__ float apply(float a, float b) { return __fadd_rn(a, b); } };
struct SubF { static __device__ float apply(float a, float b) { return __fsub_rn(a, b); } };
struct MulF { static __device__ float apply(float a, float b) { return __fmul_rn(a, b); } };
struct DivF { static __device__ float apply(float a, float b) { return __fdiv_rn(a, b); } };
// Math.max / Math.min: NaN if either is NaN.
struct MaxF { static __device__ float apply(float a, float b) { return (isnan(a) || isnan(b)) ? __int_as_float(0x7fc00000) : (a > b ? a : b); } };
struct MinF { static __device__ float apply(float a, float b) { return (isnan(a) || isnan(b)) ? __int_as_float(0x7fc00000) : (a < b ? a : b); } };
// Math.pow in double: as C's pow (negative base with an integer exponent is real, with any other NaN)
// except where JavaScript differs: pow(x, NaN) is NaN even for x = 1, and pow(±1, ±Infinity) is NaN.
struct PowF {
  static __device__ float apply(float a, float b) {
    if (isnan(b) || (isinf(b) && fabsf(a) == 1.f)) return __int_as_float(0x7fc00000);
    return (float)pow((double)a, (double)b);
  }
};
struct AddI { static __device__ int apply(int a, int b) { return (int)((unsigned)a + (unsigned)b); } };
struct SubI { static __device__ int apply(int a, int b) { return (int)((unsigned)a - (unsigned)b); } };
struct MulI { static __device__ int apply(int a, int b) { return (int)((unsigned)a * (unsigned)b); } };
struct MaxI { static __device__ int apply(int a, int b) { return a > b ? a : b; } };
struct MinI { static __device__ int apply(int a, int b) { return a < b ? a : b; } };
// Comparisons give bool (int 0/1); any comparison with NaN is false except !=.
template <typename T> struct GreaterOp { static __device__ int apply(T a, T b) { return a > b ? 1 : 0; } };
template <typename T> struct GreaterEqualOp { static __device__ int apply(T a, T b) { return a >= b ? 1 : 0; } };
template <typename T> struct LessOp { static __device__ int apply(T a, T b) { return a < b ? 1 : 0; } };
template <typename T> struct LessEqualOp { static __device__ int apply(T a, T b) { return a <= b ? 1 : 0; } };
template <typename T> struct EqualOp { static __device__ int apply(T a, T b) { return a == b ? 1 : 0; } };
template <typename T> struct NotEqualOp { static __device__ int apply(T a, T b) { return a != b ? 1 : 0; } };
struct LogicalAndOp { static __device__ int apply(int a, int b) { return (a != 0 && b != 0) ? 1 : 0; } };
struct LogicalOrOp { static __device__ int apply(int a, int b) { return (a != 0 || b != 0) ? 1 : 0; } };

// Element offsets of output element i in a and b (row-major decomposition over p.shape). 32-bit
// division: the host sends strided launches only for outputs of fewer than 2^31 elements.
__device__ __forceinline__ void broadcast_offsets(const BinaryParams& p, long long index, long long& ia, long long& ib) {
  unsigned i = (unsigned)index;
  ia = 0;
  ib = 0;
#pragma unroll
  for (int d = SIGATTN_MAX_RANK - 1; d >= 0; d--) {
    if (d < p.rank) {
      const unsigned c = i % (unsigned)p.shape[d];
      i /= (unsigned)p.shape[d];
      ia += (long long)c * p.aStrides[d];
      ib += (long long)c * p.bStrides[d];
    }
  }
}

template <typename In, typename Out, typename Op>
__device__ void binary_impl(const BinaryParams& p) {
  Out* out = static_cast<Out*>(p.out);
  const In* a = static_cast<const In*>(p.a);
  const In* b = static_cast<const In*>(p.b);
  if (p.mode == kStrided) {
    GRID_STRIDE(i, p.n) {
      long long ia, ib;
      broadcast_offsets(p, i, ia, ib);
      out[i] = Op::apply(a[ia], b[ib]);
    }
  } else if (p.vec) {
    const long long n4 = p.n / 4;
    GRID_STRIDE(i, n4) {
      Vec4<In> av, bv;
      if (p.mode == kScalarA) {
        const In s = a[0];
        av = Vec4<In>{{s, s, s, s}};
      } else {
        av = reinterpret_cast<const Vec4<In>*>(a)[i];
      }
      if (p.mode == kScalarB) {
        const In s = b[0];
        bv = Vec4<In>{{s, s, s, s}};
      } else {
        bv = reinterpret_cast<const Vec4<In>*>(b)[i];
      }
      Vec4<Out> r;
#pragma unroll
      for (int k = 0; k < 4; k++) r.v[k] = Op::apply(av.v[k], bv.v[k]);
      reinterpret_cast<Vec4<Out>*>(out)[i] = r;
    }
  } else {
    GRID_STRIDE(i, p.n) {
      const In av = p.mode == kScalarA ? a[0] : a[i];
      const In bv = p.mode == kScalarB ? b[0] : b[i];
      out[i] = Op::apply(av, bv);
    }
  }
}

#define BINARY_KERNEL(name, In, Out, Op) \
  extern "C" __global__ void name(BinaryParams p) { binary_impl<In, Out, Op>(p); }

BINARY_KERNEL(binary_add_f32, float, float, AddF)
BINARY_KERNEL(binary_sub_f32, float, float, SubF)
BINARY_KERNEL(binary_mul_f32, float, float, MulF)
BINARY_KERNEL(binary_div_f32, float, float, DivF)
BINARY_KERNEL(binary_maximum_f32, float, float, MaxF)
BINARY_KERNEL(binary_minimum_f32, float, float, MinF)
BINARY_KERNEL(binary_pow_f32, float, float, PowF)
BINARY_KERNEL(binary_add_i32, int, int, AddI)
BINARY_KERNEL(binary_sub_i32, int, int, SubI)
BINARY_KERNEL(binary_mul_i32, int, int, MulI)
BINARY_KERNEL(binary_maximum_i32, int, int, MaxI)
BINARY_KERNEL(binary_minimum_i32, int, int, MinI)
BINARY_KERNEL(binary_greater_f32, float, int, GreaterOp<float>)
BINARY_KERNEL(binary_greater_equal_f32, float, int, GreaterEqualOp<float>)
BINARY_KERNEL(binary_less_f32, float, int, LessOp<float>)
BINARY_KERNEL(binary_less_equal_f32, float, int, LessEqualOp<float>)
BINARY_KERNEL(binary_equal_f32, float, int, EqualOp<float>)
BINARY_KERNEL(binary_not_equal_f32, float, int, NotEqualOp<float>)
BINARY_KERNEL(binary_greater_i32, int, int, GreaterOp<int>)
BINARY_KERNEL(binary_greater_equal_i32, int, int, GreaterEqualOp<int>)
BINARY_KERNEL(binary_less_i32, int, int, LessOp<int>)
BINARY_KERNEL(binary_less_equal_i32, int, int, LessEqualOp<int>)
BINARY_KERNEL(binary_equal_i32, int, int, EqualOp<int>)
BINARY_KERNEL(binary_not_equal_i32, int, int, NotEqualOp<int>)
BINARY_KERNEL(binary_logical_and_bool, int, int, LogicalAndOp)
BINARY_KERNEL(binary_logical_or_bool, int, int, LogicalOrOp)

// ---------------------------------------------------------------------------------------------------
// AddN: out = ((x0 + x1) + x2) + …, left to right as tfjs's cpu backend sums. Up to ADDN_MAX inputs
// per launch; the host chains launches for more, passing the running sum (out) as the next x0.

#define ADDN_MAX 16

struct AddNParams {
  float* out;
  const float* x[ADDN_MAX];
  long long n;
  int count;
};

extern "C" __global__ void addn_f32(AddNParams p) {
  GRID_STRIDE(i, p.n) {
    float s = p.x[0][i];
    for (int k = 1; k < p.count; k++) s = __fadd_rn(s, p.x[k][i]);
    p.out[i] = s;
  }
}

// ---------------------------------------------------------------------------------------------------
// Select: out[i] = cond[ic] ? t[i] : e[i], copying 4-byte words (so any dtype). cond either has the
// output's size (ic = i) or, as tfjs's Select allows, is rank 1 over the first axis (ic = i / rowSize).

struct SelectParams {
  int* out;
  const int* cond;
  const int* t;
  const int* e;
  long long n;
  long long rowSize;  // 1 when cond has the output's size
};

extern "C" __global__ void select_32(SelectParams p) {
  GRID_STRIDE(i, p.n) {
    const long long ic = p.rowSize == 1 ? i : i / p.rowSize;
    p.out[i] = p.cond[ic] != 0 ? p.t[i] : p.e[i];
  }
}
