// Data-movement and creation kernels of the tfjs cuda backend (src/kernels/movement.ts writes the
// structs and the host-side plans; test/movement-plan.test.ts emulates this index math in TS).
//
// Every dtype is 4 bytes on the device, so the kernels that only move values work on 32-bit words
// (`_b32`: float32, int32 and bool alike) and never touch them arithmetically: no rounding, no
// denormal flushing, NaN payloads kept.
//
// Index width: `<kernel>` indexes with int (the host uses it while every index stays below 2^30, so
// the grid-stride step cannot overflow either); `<kernel>_wide` with long long for larger tensors.
#include "common.cuh"

// Dims of the strided gather: Tile doubles the rank (a repeat dim and an input dim per axis).
#define MOVE_MAX_DIMS 12
// Inputs per Concat launch (more inputs take several launches, each writing its own columns).
#define CONCAT_MAX_INPUTS 16

typedef unsigned int b32;

// Grid-stride loop with the index type I.
#define GRID_STRIDE_T(I, i, n) \
  for (I i = (I)blockIdx.x * (I)blockDim.x + (I)threadIdx.x; i < (I)(n); i += (I)gridDim.x * (I)blockDim.x)

// ---------------------------------------------------------------------------------------------
// Strided gather: out[i] = in[inOffset + Σ_d coord_d(i) · inStride_d], coord_d(i) the row-major
// coordinates of i in outShape. Transpose, Slice, SplitV, Unpack, StridedSlice (signed strides) and
// Tile (stride-0 repeat dims) are all this kernel with different plans.
struct GatherParams {
  b32* out;
  const b32* in;
  long long n;
  long long inOffset;
  int rank;
  long long outShape[MOVE_MAX_DIMS];
  long long inStride[MOVE_MAX_DIMS];
};

template <typename I>
__device__ __forceinline__ void gather_body(const GatherParams& p) {
  GRID_STRIDE_T(I, i, p.n) {
    I rem = i;
    I src = (I)p.inOffset;
    for (int d = p.rank - 1; d >= 0; d--) {
      const I size = (I)p.outShape[d];
      const I c = rem % size;
      rem /= size;
      src += c * (I)p.inStride[d];
    }
    p.out[i] = p.in[src];
  }
}

extern "C" __global__ void gather_b32(GatherParams p) { gather_body<int>(p); }
extern "C" __global__ void gather_b32_wide(GatherParams p) { gather_body<long long>(p); }

// ---------------------------------------------------------------------------------------------
// PadV2: out[i] = in[Σ_d (coord_d − before_d) · inStride_d] where every coord_d − before_d lies in
// [0, inShape_d), else the constant (its 32-bit pattern in the output dtype).
struct PadParams {
  b32* out;
  const b32* in;
  long long n;
  int rank;
  b32 value;
  long long outShape[SIGATTN_MAX_RANK];
  long long inShape[SIGATTN_MAX_RANK];
  long long before[SIGATTN_MAX_RANK];
  long long inStride[SIGATTN_MAX_RANK];
};

template <typename I>
__device__ __forceinline__ void pad_body(const PadParams& p) {
  GRID_STRIDE_T(I, i, p.n) {
    I rem = i;
    I src = 0;
    bool inside = true;
    for (int d = p.rank - 1; d >= 0; d--) {
      const I size = (I)p.outShape[d];
      const I c = rem % size - (I)p.before[d];
      rem /= size;
      inside = inside && c >= 0 && c < (I)p.inShape[d];
      src += c * (I)p.inStride[d];
    }
    p.out[i] = inside ? p.in[src] : p.value;
  }
}

extern "C" __global__ void pad_b32(PadParams p) { pad_body<int>(p); }
extern "C" __global__ void pad_b32_wide(PadParams p) { pad_body<long long>(p); }

// ---------------------------------------------------------------------------------------------
// Concat as a 2-D problem: every input is [outer, inner_k] (inner_k = its size from the axis on) and
// the output [outer, outInner]. One launch writes columns [colStart, colStart + width) of the output
// from up to CONCAT_MAX_INPUTS inputs; input k owns the launch's columns [colOffset_k, colOffset_k +
// inner_k) (colOffset_0 = 0, ascending).
struct ConcatParams {
  b32* out;
  const b32* in[CONCAT_MAX_INPUTS];
  long long n;  // outer · width
  long long width;
  long long outInner;
  long long colStart;
  int count;
  long long colOffset[CONCAT_MAX_INPUTS];
  long long inner[CONCAT_MAX_INPUTS];
};

template <typename I>
__device__ __forceinline__ void concat_body(const ConcatParams& p) {
  GRID_STRIDE_T(I, i, p.n) {
    const I width = (I)p.width;
    const I row = i / width;
    const I col = i - row * width;
    int k = 0;
    while (k + 1 < p.count && (I)p.colOffset[k + 1] <= col) k++;
    p.out[row * (I)p.outInner + (I)p.colStart + col] = p.in[k][row * (I)p.inner[k] + col - (I)p.colOffset[k]];
  }
}

extern "C" __global__ void concat_b32(ConcatParams p) { concat_body<int>(p); }
extern "C" __global__ void concat_b32_wide(ConcatParams p) { concat_body<long long>(p); }

// ---------------------------------------------------------------------------------------------
// GatherV2 (batchDims 0): x as [outer, dimSize, inner], indices flat [count], out [outer, count,
// inner]. An index outside [0, dimSize) gives 0 (tfjs cpu throws instead; the device cannot without a
// read-back).
struct GatherAxisParams {
  b32* out;
  const b32* x;
  const int* indices;
  long long n;
  long long dimSize;
  long long inner;
  long long count;
};

template <typename I>
__device__ __forceinline__ void gather_axis_body(const GatherAxisParams& p) {
  GRID_STRIDE_T(I, i, p.n) {
    const I inner = (I)p.inner;
    const I count = (I)p.count;
    const I k = i % inner;
    const I t = i / inner;
    const I j = t % count;
    const I o = t / count;
    const I index = (I)p.indices[j];
    p.out[i] = (index >= 0 && index < (I)p.dimSize) ? p.x[(o * (I)p.dimSize + index) * inner + k] : 0u;
  }
}

extern "C" __global__ void gather_axis_b32(GatherAxisParams p) { gather_axis_body<int>(p); }
extern "C" __global__ void gather_axis_b32_wide(GatherAxisParams p) { gather_axis_body<long long>(p); }

// ---------------------------------------------------------------------------------------------
// OneHot: out[e, c] = indices[e] == c ? on : off (32-bit patterns of the output dtype); an index
// outside [0, depth) matches no c, so its row is all off, as on tfjs cpu.
struct OneHotParams {
  b32* out;
  const int* indices;
  long long n;  // events · depth
  long long depth;
  b32 on;
  b32 off;
};

template <typename I>
__device__ __forceinline__ void one_hot_body(const OneHotParams& p) {
  GRID_STRIDE_T(I, i, p.n) {
    const I depth = (I)p.depth;
    const I event = i / depth;
    const I c = i - event * depth;
    p.out[i] = ((I)p.indices[event] == c) ? p.on : p.off;
  }
}

extern "C" __global__ void one_hot_b32(OneHotParams p) { one_hot_body<int>(p); }
extern "C" __global__ void one_hot_b32_wide(OneHotParams p) { one_hot_body<long long>(p); }

// ---------------------------------------------------------------------------------------------
// Fill (Fill, OnesLike, ZerosLike): every element the same 32-bit pattern.
struct FillParams {
  b32* out;
  long long n;
  b32 value;
};

extern "C" __global__ void fill_b32(FillParams p) {
  GRID_STRIDE(i, p.n) p.out[i] = p.value;
}

// ---------------------------------------------------------------------------------------------
// Cast. JavaScript's ToInt32 (what tfjs cpu's Int32Array.from does): NaN and ±Inf → 0, truncate
// toward zero, then wrap modulo 2^32. Doubles, so a float ≥ 2^31 wraps as on the cpu instead of
// saturating as the hardware conversion does.
__device__ __forceinline__ int to_int32(double x) {
  if (x > -2147483649.0 && x < 2147483648.0) return (int)x;  // (int) truncates toward zero
  if (!isfinite(x)) return 0;
  double m = fmod(trunc(x), 4294967296.0);  // exact: |x| ≥ 2^31 is an integer when it is a float
  if (m < 0) m += 4294967296.0;
  return (int)(unsigned int)m;
}

struct CastParams {
  b32* out;
  const b32* in;
  long long n;
};

extern "C" __global__ void cast_f32_i32(CastParams p) {
  GRID_STRIDE(i, p.n) p.out[i] = (b32)to_int32((double)__uint_as_float(p.in[i]));
}

// int32 and bool (int 0/1) to float32, rounding to nearest even as Float32Array.from does.
extern "C" __global__ void cast_i32_f32(CastParams p) {
  GRID_STRIDE(i, p.n) p.out[i] = __float_as_uint(__int2float_rn((int)p.in[i]));
}

// x != 0 on the bits: −0 is false, NaN and denormals are true (no flush-to-zero under fast math).
extern "C" __global__ void cast_f32_bool(CastParams p) {
  GRID_STRIDE(i, p.n) p.out[i] = (p.in[i] & 0x7fffffffu) != 0u ? 1u : 0u;
}

extern "C" __global__ void cast_i32_bool(CastParams p) {
  GRID_STRIDE(i, p.n) p.out[i] = p.in[i] != 0u ? 1u : 0u;
}

// ---------------------------------------------------------------------------------------------
// Range. tfjs cpu accumulates (v[i] = v[i−1] + step, stored in the output's type). Where every partial
// sum is exact (the host checks) the closed form gives the same values in parallel: float32 as one
// fmaf (exact product and sum, one rounding of an exactly representable value), int32 in wrapping
// 32-bit arithmetic (ToInt32 is a ring homomorphism on integers). Otherwise one thread replays the
// cpu's recurrence (double add, then store in the output type), which is exact and only slow for long
// ranges of that rarer kind. start and step come as the two 32-bit halves of a double.
struct RangeParams {
  b32* out;
  long long n;
  int startLo;
  int startHi;
  int stepLo;
  int stepHi;
};

extern "C" __global__ void range_affine_f32(RangeParams p) {
  const float start = (float)__hiloint2double(p.startHi, p.startLo);
  const float step = (float)__hiloint2double(p.stepHi, p.stepLo);
  GRID_STRIDE(i, p.n) p.out[i] = __float_as_uint(fmaf((float)i, step, start));
}

// startLo: the first value (already ToInt32); stepLo: the step modulo 2^32.
extern "C" __global__ void range_affine_i32(RangeParams p) {
  const b32 start = (b32)p.startLo;
  const b32 step = (b32)p.stepLo;
  GRID_STRIDE(i, p.n) p.out[i] = start + (b32)i * step;
}

extern "C" __global__ void range_serial_f32(RangeParams p) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  const double step = __hiloint2double(p.stepHi, p.stepLo);
  float v = (float)__hiloint2double(p.startHi, p.startLo);
  for (long long i = 0; i < p.n; i++) {
    if (i > 0) v = (float)((double)v + step);
    p.out[i] = __float_as_uint(v);
  }
}

extern "C" __global__ void range_serial_i32(RangeParams p) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  const double step = __hiloint2double(p.stepHi, p.stepLo);
  int v = to_int32(__hiloint2double(p.startHi, p.startLo));
  for (long long i = 0; i < p.n; i++) {
    if (i > 0) v = to_int32((double)v + step);
    p.out[i] = (b32)v;
  }
}
