// Decode attention: one query token per (batch, head) against a KV cache (Nq = 1), split-K
// ("flash-decoding"). A generation step reads the whole cache once and does 4·D FLOPs per key, so
// it is bound by HBM bandwidth, not by tensor cores: no mma here, just 16-byte vector loads.
//
// Grid (num_splits, H, B): block (split, h, b) takes keys [split·chunk, (split+1)·chunk) of head
// (b, h) (GQA: its K/V head h / (H/Hkv); the query heads of a group read the same rows, which L2
// serves). 128 threads; each key row is read by D/8 lanes of 16 bytes (one 8-element segment each),
// so a warp covers 32/(D/8) keys per load and the block KG = 1024/D keys; each thread keeps U = 4
// keys' K and V loads in flight before it uses any of them.
//   score: q·k over the segment, summed over the D/8 lanes with an xor butterfly (every lane ends
//          with the same bits: each step adds the same two values in either order)
//   sigmoid: acc starts at bias/scale and p = Sigmoid<T>(acc) — the helper and the folding of the
//            FA2 kernels (flash_common.cuh), so the numerics match; the partials just add
//   softmax: online max/sum in log2 units per thread (one rescale per U keys), then merged over the
//            block's key groups in a fixed order
// With one split the block writes O (and the LSE) itself; otherwise it writes an fp32 partial O
// (softmax: unnormalised, with its row max and sum) and flash_decode_combine merges the splits of a
// row in split order — deterministic, no atomics — and writes O and the natural-log LSE.
//
// Visibility with Nq = 1: the query sits at position Nk − 1 (bottom-right), so a causal mask hides
// nothing; keys j ≥ key_lens[b] are masked; the ALiBi distance is Nk − 1 − j.
#include "flash_common.cuh"

// Kernel parameters: FwdParams (the same block the forward kernels take) plus the split-K fields.
// Mirrored byte-for-byte by packDecodeParams in src/cuda/flash.ts: FwdParams (88 bytes), two
// pointers at 88 and 96, num_splits at 104, chunk at 108 (112 bytes).
struct DecodeParams {
  FwdParams f;
  float* part_o;   // [B·H, num_splits, D] partial outputs (used when num_splits > 1)
  float* part_ml;  // [B·H, num_splits, 2] softmax row max (log2 units) and row sum per split
  int num_splits;
  int chunk;       // keys per split, a multiple of the kernel's keys per step (its _cfg[0])
};

constexpr int DECODE_THREADS = 128;
constexpr int DECODE_UNROLL = 4;  // keys per thread whose loads are in flight together
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

// 8 consecutive 16-bit values (one 16-byte load) widened to fp32.
template <typename T>
__device__ __forceinline__ void unpack8(const uint4& u, float* f) {
  const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    if constexpr (std::is_same_v<T, __nv_bfloat16>) {
      f[2 * i] = __uint_as_float(w[i] << 16);
      f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
    } else {
      const float2 x = __half22float2(*reinterpret_cast<const __half2*>(&w[i]));
      f[2 * i] = x.x;
      f[2 * i + 1] = x.y;
    }
  }
}

template <typename T>
__device__ __forceinline__ uint16_t to_bits(float x) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) return __bfloat16_as_ushort(__float2bfloat16_rn(x));
  else return __half_as_ushort(__float2half_rn(x));
}

__device__ __forceinline__ uint4 ld16(const uint16_t* p) { return __ldg(reinterpret_cast<const uint4*>(p)); }

template <typename T, int D, bool SIGMOID>
__device__ __forceinline__ void flash_decode(const DecodeParams& dp) {
  const FwdParams& p = dp.f;
  constexpr int SEG = D / 8;                   // lanes per key row
  constexpr int KG = DECODE_THREADS / SEG;     // key groups: keys per load step of the block
  constexpr int U = DECODE_UNROLL;
  constexpr int STEP = KG * U;                 // keys per loop iteration
  static_assert(D % 8 == 0 && 32 % SEG == 0 && SEG <= 32, "D/8 lanes must tile a warp");

  __shared__ float s_m[KG], s_l[KG];
  __shared__ __align__(16) float s_acc[KG][D];

  const int tid = threadIdx.x, seg = tid % SEG, kg = tid / SEG;
  const int split = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
  const int hk = h / (p.H / p.Hkv);
  const int kv_len = p.key_lens ? min(p.key_lens[b], p.Nk) : p.Nk;
  const int j0 = split * dp.chunk;
  const int j_end = min(j0 + dp.chunk, kv_len);
  const size_t row = static_cast<size_t>(b) * p.H + h;  // Nq = 1: one query row per (b, h)

  const uint16_t* gq = static_cast<const uint16_t*>(p.q) + row * D + seg * 8;
  const size_t kv0 = (static_cast<size_t>(b) * p.Hkv + hk) * p.Nk * D + seg * 8;
  const uint16_t* gk = static_cast<const uint16_t*>(p.k) + kv0;
  const uint16_t* gv = static_cast<const uint16_t*>(p.v) + kv0;

  float qf[8];
  unpack8<T>(ld16(gq), qf);
  float acc[8];
#pragma unroll
  for (int e = 0; e < 8; ++e) acc[e] = 0.f;
  float m = -INFINITY, l = 0.f;  // softmax state of this thread's key group, log2 units

  const float slope = p.alibi ? p.alibi[h] : 0.f;
  const float s_init = SIGMOID ? p.bias / p.scale : 0.f;  // sigmoid bias folded into the score (host rejects scale 0)
  const Sigmoid<T> sigmoid(p.scale);
  const float alibi_acc = slope / p.scale;
  const float scale_log2 = p.scale * kLog2e;
  const float alibi_log2 = slope * kLog2e;
  const int query_pos = p.Nk - 1;

  // Every thread runs the same iterations (the loop bound is block-uniform), so the shuffles below
  // always see the whole warp; keys past j_end are predicated off.
  for (int base = j0; base < j_end; base += STEP) {
    uint4 kr[U], vr[U];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int j = base + u * KG + kg;
      const bool in = j < j_end;
      kr[u] = in ? ld16(gk + static_cast<size_t>(j) * D) : make_uint4(0, 0, 0, 0);
      vr[u] = in ? ld16(gv + static_cast<size_t>(j) * D) : make_uint4(0, 0, 0, 0);
    }
    float x[U];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      float kf[8];
      unpack8<T>(kr[u], kf);
      float d = 0.f;
#pragma unroll
      for (int e = 0; e < 8; ++e) d = fmaf(qf[e], kf[e], d);
#pragma unroll
      for (int off = SEG / 2; off >= 1; off /= 2) d += __shfl_xor_sync(0xffffffffu, d, off);
      x[u] = d;
    }
    if constexpr (SIGMOID) {
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const int j = base + u * KG + kg;
        float s = x[u] + s_init;
        if (p.alibi) s -= alibi_acc * static_cast<float>(query_pos - j);
        const float pr = j < j_end ? sigmoid(s) : 0.f;
        float vf[8];
        unpack8<T>(vr[u], vf);
#pragma unroll
        for (int e = 0; e < 8; ++e) acc[e] = fmaf(pr, vf[e], acc[e]);
      }
    } else {
      float mx = m;
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const int j = base + u * KG + kg;
        float s = x[u] * scale_log2;
        if (p.alibi) s -= alibi_log2 * static_cast<float>(query_pos - j);
        x[u] = j < j_end ? s : -INFINITY;
        mx = fmaxf(mx, x[u]);
      }
      // A key group with nothing visible yet keeps max -inf; subtract 0 so exp2 gives 0, not NaN.
      const float m_use = mx == -INFINITY ? 0.f : mx;
      const float alpha = exp2_approx(m - m_use);
      l *= alpha;
#pragma unroll
      for (int e = 0; e < 8; ++e) acc[e] *= alpha;
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const float pr = exp2_approx(x[u] - m_use);
        l += pr;
        float vf[8];
        unpack8<T>(vr[u], vf);
#pragma unroll
        for (int e = 0; e < 8; ++e) acc[e] = fmaf(pr, vf[e], acc[e]);
      }
      m = mx;
    }
  }

  // Merge the block's key groups in a fixed order (group 0, 1, ...): deterministic.
  float M = 0.f;  // block row max in log2 units (0 when nothing is visible)
  if constexpr (!SIGMOID) {
    if (seg == 0) { s_m[kg] = m; s_l[kg] = l; }
    __syncthreads();
    float mb = -INFINITY;
#pragma unroll
    for (int g = 0; g < KG; ++g) mb = fmaxf(mb, s_m[g]);
    M = mb == -INFINITY ? 0.f : mb;
    const float f = exp2_approx(m - M);
#pragma unroll
    for (int e = 0; e < 8; ++e) acc[e] *= f;
  }
  float4* dst = reinterpret_cast<float4*>(&s_acc[kg][seg * 8]);
  dst[0] = make_float4(acc[0], acc[1], acc[2], acc[3]);
  dst[1] = make_float4(acc[4], acc[5], acc[6], acc[7]);
  __syncthreads();
  if (tid >= D) return;
  float o = 0.f, L = 0.f;
#pragma unroll
  for (int g = 0; g < KG; ++g) o += s_acc[g][tid];
  if constexpr (!SIGMOID) {
#pragma unroll
    for (int g = 0; g < KG; ++g) L += s_l[g] * exp2_approx(s_m[g] - M);
  }
  if (dp.num_splits == 1) {
    // Fully masked rows (key length 0) give O = 0 and LSE = -inf, as the forward kernels do.
    const float inv = SIGMOID ? 1.f : (L > 0.f ? 1.f / L : 0.f);
    static_cast<uint16_t*>(p.o)[row * D + tid] = to_bits<T>(o * inv);
    if (!SIGMOID && p.lse && tid == 0) p.lse[row] = L > 0.f ? (M + __log2f(L)) * kLn2 : -INFINITY;
  } else {
    const size_t part = row * dp.num_splits + split;
    dp.part_o[part * D + tid] = o;
    if (!SIGMOID && tid == 0) {
      dp.part_ml[part * 2] = L > 0.f ? M : -INFINITY;
      dp.part_ml[part * 2 + 1] = L;
    }
  }
}

// Merge the splits of one row (block (h, b), D threads) in split order: sigmoid sums the partial
// outputs; softmax rescales each by 2^(m_s − M), divides by L = Σ l_s·2^(m_s − M) and writes
// LSE = (M + log2 L)·ln 2.
template <typename T, int D, bool SIGMOID>
__device__ __forceinline__ void flash_decode_combine(const DecodeParams& dp) {
  const FwdParams& p = dp.f;
  const int t = threadIdx.x, h = blockIdx.x, b = blockIdx.y, S = dp.num_splits;
  const size_t row = static_cast<size_t>(b) * p.H + h;
  const float* po = dp.part_o + row * S * D + t;
  float o = 0.f;
  if constexpr (SIGMOID) {
    for (int s = 0; s < S; ++s) o += po[static_cast<size_t>(s) * D];
  } else {
    const float* ml = dp.part_ml + row * S * 2;
    float mb = -INFINITY;
    for (int s = 0; s < S; ++s) mb = fmaxf(mb, ml[2 * s]);
    const float M = mb == -INFINITY ? 0.f : mb;
    float L = 0.f;
    for (int s = 0; s < S; ++s) {
      const float f = exp2_approx(ml[2 * s] - M);  // an empty split has m = -inf: weight 0
      L += ml[2 * s + 1] * f;
      o += po[static_cast<size_t>(s) * D] * f;
    }
    o = L > 0.f ? o / L : 0.f;
    if (p.lse && t == 0) p.lse[row] = L > 0.f ? (M + __log2f(L)) * kLn2 : -INFINITY;
  }
  static_cast<uint16_t*>(p.o)[row * D + t] = to_bits<T>(o);
}

// Entries and their launch configuration as device globals (read by the host, as the forward
// kernels' _cfg): {keys per step, 0, threads, dynamic smem}. The combine runs D threads per row.
#define FLASH_DECODE_ENTRY(KIND, SIG, TNAME, T, D)                                                         \
  extern "C" __global__ void __launch_bounds__(DECODE_THREADS)                                            \
      flash_decode_##KIND##_##TNAME##_d##D(const __grid_constant__ DecodeParams p) {                      \
    flash_decode<T, D, SIG>(p);                                                                           \
  }                                                                                                       \
  extern "C" __device__ const int flash_decode_##KIND##_##TNAME##_d##D##_cfg[4] = {                       \
      DECODE_THREADS / ((D) / 8) * DECODE_UNROLL, 0, DECODE_THREADS, 0};                                  \
  extern "C" __global__ void __launch_bounds__(D)                                                         \
      flash_decode_combine_##KIND##_##TNAME##_d##D(const __grid_constant__ DecodeParams p) {              \
    flash_decode_combine<T, D, SIG>(p);                                                                   \
  }                                                                                                       \
  extern "C" __device__ const int flash_decode_combine_##KIND##_##TNAME##_d##D##_cfg[4] = {0, 0, D, 0};

#define FLASH_DECODE_DIMS(KIND, SIG, TNAME, T) \
  FLASH_DECODE_ENTRY(KIND, SIG, TNAME, T, 32)  \
  FLASH_DECODE_ENTRY(KIND, SIG, TNAME, T, 64)  \
  FLASH_DECODE_ENTRY(KIND, SIG, TNAME, T, 128)

FLASH_DECODE_DIMS(sigmoid, true, bf16, __nv_bfloat16)
FLASH_DECODE_DIMS(sigmoid, true, fp16, __half)
FLASH_DECODE_DIMS(softmax, false, bf16, __nv_bfloat16)
FLASH_DECODE_DIMS(softmax, false, fp16, __half)
