// reduce kernels of the tfjs cuda backend (see src/kernels/reduce.ts).
//
// A reduction reads its input in place through strides (no transposed copy): output element `row`
// starts at offset(row; outShape, outStrides) and its reduced elements j = 0…inner-1 sit at
// offset(j; redShape, redStrides) from there (the host has dropped size-1 dims and merged contiguous
// ones, so reducing the last axis is redRank 1 with stride 1). Three layouts:
//   kWarpRows   one warp per output, for short contiguous-ish rows;
//   kBlockRows  one block per output, for long rows;
//   kColumns    32 outputs per block (adjacent in memory when the input's innermost dim is kept) and
//               blockDim/32 slices of j per output, for reductions over leading axes.
// A long reduction with few outputs would run in a few blocks, each thread walking far through j; the
// host then splits j into gridDim.y chunks of chunkLen (a two-pass split): pass 1 (`partial` set) runs
// one of the layouts above per chunk and stores each chunk's unfinished accumulator at
// partials[chunk * outer + o]; pass 2 (kChunks, x = the partials) reduces them, a warp per output.
// Every order is fixed (lanes/slices stride through j, then a fixed tree), so results are deterministic.
// Accumulation is float32 (int32 for int sums), the partials too.
//
// Softmax's exp is computed in double and rounded, as tfjs's cpu backend does (Math.exp): see
// elementwise.cu on why --use_fast_math's expf is avoided.
#include "common.cuh"
#include <climits>

#define NAN_F __int_as_float(0x7fc00000)

enum ReduceMode { kWarpRows = 0, kBlockRows = 1, kColumns = 2, kChunks = 3 };

struct ReduceParams {
  void* out;          // the output; pass 1 of a split: the partials (Acc) [chunks, outer]
  const void* x;      // the input; kChunks: the partials
  long long outer;    // output elements
  long long inner;    // reduced elements per output
  long long chunkLen; // reduced elements per chunk (blockIdx.y); inner when not split
  int outRank;
  int redRank;
  int mode;
  int partial;        // 1: pass 1 of a split
  int chunks;         // kChunks: partials per output
  int outShape[SIGATTN_MAX_RANK];
  int outStrides[SIGATTN_MAX_RANK];
  int redShape[SIGATTN_MAX_RANK];
  int redStrides[SIGATTN_MAX_RANK];
};

// Offset of element idx of a row-major index space (shape) in memory (strides). 32-bit division: the
// host launches only inputs of fewer than 2^31 elements.
__device__ __forceinline__ long long strided_offset(long long index, int rank, const int (&shape)[SIGATTN_MAX_RANK], const int (&strides)[SIGATTN_MAX_RANK]) {
  unsigned i = (unsigned)index;
  long long off = 0;
#pragma unroll
  for (int d = SIGATTN_MAX_RANK - 1; d >= 0; d--) {
    if (d < rank) {
      const unsigned c = i % (unsigned)shape[d];
      i /= (unsigned)shape[d];
      off += (long long)c * strides[d];
    }
  }
  return off;
}

__device__ __forceinline__ long long reduced_offset(const ReduceParams& p, long long j) {
  if (p.redRank == 1) return j * p.redStrides[0];
  return strided_offset(j, p.redRank, p.redShape, p.redStrides);
}

struct ArgAcc {
  float v;
  int i;
};

__device__ __forceinline__ float shfl_down(float v, int off) { return __shfl_down_sync(0xffffffffu, v, off); }
__device__ __forceinline__ int shfl_down(int v, int off) { return __shfl_down_sync(0xffffffffu, v, off); }
__device__ __forceinline__ ArgAcc shfl_down(ArgAcc a, int off) {
  return ArgAcc{__shfl_down_sync(0xffffffffu, a.v, off), __shfl_down_sync(0xffffffffu, a.i, off)};
}

// Rounded float add (never fused); wrapping int add, as Int32Array stores a sum.
__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ int add(int a, int b) { return (int)((unsigned)a + (unsigned)b); }

// Op: In (element type), Acc, Out; init(); load(x, j); combine(a, b); finish(acc, inner).
template <typename T>
struct SumOp {
  using In = T;
  using Acc = T;
  using Out = T;
  static __device__ Acc init() { return T(0); }
  static __device__ Acc load(T v, long long) { return v; }
  static __device__ Acc combine(Acc a, Acc b) { return add(a, b); }
  static __device__ Out finish(Acc a, long long) { return a; }
};

struct MeanOp : SumOp<float> {
  // tfjs's Mean of nothing is 0 (a sum over no elements).
  static __device__ float finish(float a, long long n) { return n == 0 ? 0.f : __fdiv_rn(a, (float)n); }
};

// tfjs's Max/Min: NaN wins; over no elements NaN (float) or 0 (int).
struct MaxF {
  using In = float;
  using Acc = float;
  using Out = float;
  static __device__ Acc init() { return -INFINITY; }
  static __device__ Acc load(float v, long long) { return v; }
  static __device__ Acc combine(float a, float b) { return (isnan(a) || a > b) ? a : b; }
  static __device__ Out finish(float a, long long n) { return n == 0 ? NAN_F : a; }
};
struct MinF {
  using In = float;
  using Acc = float;
  using Out = float;
  static __device__ Acc init() { return INFINITY; }
  static __device__ Acc load(float v, long long) { return v; }
  static __device__ Acc combine(float a, float b) { return (isnan(a) || a < b) ? a : b; }
  static __device__ Out finish(float a, long long n) { return n == 0 ? NAN_F : a; }
};
struct MaxI {
  using In = int;
  using Acc = int;
  using Out = int;
  static __device__ Acc init() { return INT_MIN; }
  static __device__ Acc load(int v, long long) { return v; }
  static __device__ Acc combine(int a, int b) { return a > b ? a : b; }
  static __device__ Out finish(int a, long long n) { return n == 0 ? 0 : a; }
};
struct MinI {
  using In = int;
  using Acc = int;
  using Out = int;
  static __device__ Acc init() { return INT_MAX; }
  static __device__ Acc load(int v, long long) { return v; }
  static __device__ Acc combine(int a, int b) { return a < b ? a : b; }
  static __device__ Out finish(int a, long long n) { return n == 0 ? 0 : a; }
};

// tfjs's ArgMax scans j = 0, 1, … keeping the first strictly greater value: the first index of the
// maximum, NaNs never taken, except that a NaN at j = 0 is never replaced (index 0). load() maps that
// NaN to +inf at index 0 (wins, and ties with a later +inf go to the lower index) and other NaNs to
// the identity (-inf at INT_MAX), so combine() is a commutative total order.
struct ArgMaxF {
  using In = float;
  using Acc = ArgAcc;
  using Out = int;
  static __device__ Acc init() { return ArgAcc{-INFINITY, INT_MAX}; }
  static __device__ Acc load(float v, long long j) {
    if (isnan(v)) return j == 0 ? ArgAcc{INFINITY, 0} : init();
    return ArgAcc{v, (int)j};
  }
  static __device__ Acc combine(Acc a, Acc b) { return (a.v > b.v || (a.v == b.v && a.i < b.i)) ? a : b; }
  static __device__ Out finish(Acc a, long long n) { return (n == 0 || a.i == INT_MAX) ? 0 : a.i; }
};

template <typename Op>
__device__ __forceinline__ typename Op::Acc warp_reduce(typename Op::Acc v) {
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) v = Op::combine(v, shfl_down(v, off));
  return v;  // lane 0 holds the warp's result
}

// Every thread of the block gets the result; `smem` needs 33 entries and is free again on return.
template <typename Op>
__device__ __forceinline__ typename Op::Acc block_reduce(typename Op::Acc v, typename Op::Acc* smem) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_reduce<Op>(v);
  if (lane == 0) smem[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < warps ? smem[lane] : Op::init();
    v = warp_reduce<Op>(v);
    if (lane == 0) smem[32] = v;
  }
  __syncthreads();
  v = smem[32];
  __syncthreads();
  return v;
}

// The result for output o of this block's chunk: finished into out, or (pass 1) the raw accumulator.
template <typename Op>
__device__ __forceinline__ void store(const ReduceParams& p, long long o, typename Op::Acc acc) {
  if (p.partial) static_cast<typename Op::Acc*>(p.out)[blockIdx.y * p.outer + o] = acc;
  else static_cast<typename Op::Out*>(p.out)[o] = Op::finish(acc, p.inner);
}

template <typename Op>
__device__ void reduce_impl(const ReduceParams& p) {
  using In = typename Op::In;
  using Acc = typename Op::Acc;
  const In* x = static_cast<const In*>(p.x);
  const int lane = threadIdx.x & 31;
  // This block's chunk of j (all of it when not split); load() gets the global j.
  const long long jBegin = (long long)blockIdx.y * p.chunkLen;
  const long long jEnd = min(jBegin + p.chunkLen, p.inner);
  if (p.mode == kWarpRows) {
    const long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= p.outer) return;  // the whole warp leaves together
    const In* xr = x + strided_offset(row, p.outRank, p.outShape, p.outStrides);
    Acc acc = Op::init();
    for (long long j = jBegin + lane; j < jEnd; j += 32) acc = Op::combine(acc, Op::load(xr[reduced_offset(p, j)], j));
    acc = warp_reduce<Op>(acc);
    if (lane == 0) store<Op>(p, row, acc);
  } else if (p.mode == kBlockRows) {
    __shared__ Acc smem[33];
    const long long row = blockIdx.x;
    const In* xr = x + strided_offset(row, p.outRank, p.outShape, p.outStrides);
    Acc acc = Op::init();
    for (long long j = jBegin + threadIdx.x; j < jEnd; j += blockDim.x) acc = Op::combine(acc, Op::load(xr[reduced_offset(p, j)], j));
    acc = block_reduce<Op>(acc, smem);
    if (threadIdx.x == 0) store<Op>(p, row, acc);
  } else if (p.mode == kColumns) {
    __shared__ Acc part[32][33];
    const int slices = blockDim.x >> 5, slice = threadIdx.x >> 5;
    const long long o = (long long)blockIdx.x * 32 + lane;
    Acc acc = Op::init();
    if (o < p.outer) {
      const In* xr = x + strided_offset(o, p.outRank, p.outShape, p.outStrides);
      for (long long j = jBegin + slice; j < jEnd; j += slices) acc = Op::combine(acc, Op::load(xr[reduced_offset(p, j)], j));
    }
    part[slice][lane] = acc;
    __syncthreads();
    if (slice == 0 && o < p.outer) {
      Acc r = part[0][lane];
      for (int k = 1; k < slices; k++) r = Op::combine(r, part[k][lane]);
      store<Op>(p, o, r);
    }
  } else {
    // kChunks (pass 2): a warp per output; lanes stride through the chunks, then the warp tree.
    const Acc* partials = static_cast<const Acc*>(p.x);
    const long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= p.outer) return;  // the whole warp leaves together
    Acc acc = Op::init();
    for (int c = lane; c < p.chunks; c += 32) acc = Op::combine(acc, partials[c * p.outer + row]);
    acc = warp_reduce<Op>(acc);
    if (lane == 0) static_cast<typename Op::Out*>(p.out)[row] = Op::finish(acc, p.inner);
  }
}

#define REDUCE_KERNEL(name, Op) \
  extern "C" __global__ void name(ReduceParams p) { reduce_impl<Op>(p); }

REDUCE_KERNEL(reduce_sum_f32, SumOp<float>)
REDUCE_KERNEL(reduce_sum_i32, SumOp<int>)
REDUCE_KERNEL(reduce_mean_f32, MeanOp)
REDUCE_KERNEL(reduce_max_f32, MaxF)
REDUCE_KERNEL(reduce_max_i32, MaxI)
REDUCE_KERNEL(reduce_min_f32, MinF)
REDUCE_KERNEL(reduce_min_i32, MinI)
REDUCE_KERNEL(reduce_argmax_f32, ArgMaxF)

// ---------------------------------------------------------------------------------------------------
// Softmax over the last axis of contiguous rows: m = max (NaN wins, as tfjs's Max), e = exp(x - m)
// (the difference rounded to float, as tfjs's cpu Sub, then exp in double), out = e / Σe.

struct SoftmaxParams {
  float* out;
  const float* x;
  long long rows;
  long long n;  // row length
  int mode;     // kWarpRows or kBlockRows
};

__device__ __forceinline__ float softmax_exp(float x, float m) { return (float)exp((double)__fsub_rn(x, m)); }

extern "C" __global__ void softmax_f32(SoftmaxParams p) {
  if (p.mode == kWarpRows) {
    const int lane = threadIdx.x & 31;
    const long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= p.rows) return;  // the whole warp leaves together
    const float* x = p.x + row * p.n;
    float* out = p.out + row * p.n;
    float m = MaxF::init();
    for (long long j = lane; j < p.n; j += 32) m = MaxF::combine(m, x[j]);
    m = __shfl_sync(0xffffffffu, warp_reduce<MaxF>(m), 0);
    float s = 0.f;
    for (long long j = lane; j < p.n; j += 32) s = __fadd_rn(s, softmax_exp(x[j], m));
    s = __shfl_sync(0xffffffffu, warp_reduce<SumOp<float>>(s), 0);
    for (long long j = lane; j < p.n; j += 32) out[j] = __fdiv_rn(softmax_exp(x[j], m), s);
  } else {
    __shared__ float smem[33];
    const long long row = blockIdx.x;
    const float* x = p.x + row * p.n;
    float* out = p.out + row * p.n;
    float m = MaxF::init();
    for (long long j = threadIdx.x; j < p.n; j += blockDim.x) m = MaxF::combine(m, x[j]);
    m = block_reduce<MaxF>(m, smem);
    float s = 0.f;
    for (long long j = threadIdx.x; j < p.n; j += blockDim.x) s = __fadd_rn(s, softmax_exp(x[j], m));
    s = block_reduce<SumOp<float>>(s, smem);
    for (long long j = threadIdx.x; j < p.n; j += blockDim.x) out[j] = __fdiv_rn(softmax_exp(x[j], m), s);
  }
}
