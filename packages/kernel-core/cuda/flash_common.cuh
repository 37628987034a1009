// Shared device helpers for the FA2-class (mma.sync) attention kernels.
// One kernel per .cu file; everything they share (parameter block, tile loads, MMA wrappers,
// masking) lives here so the sigmoid and softmax twins differ only in the nonlinearity.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>
#include <type_traits>

// Parameter block passed by value (one kernel argument). Layout is mirrored byte-for-byte by
// packFwdParams in src/cuda/flash.ts and by bench/cuda_harness.py: 8-byte pointers
// first, then 4-byte fields.
struct FwdParams {
  const void* q;         // [B, H, Nq, D]
  const void* k;         // [B, Hkv, Nk, D]
  const void* v;         // [B, Hkv, Nk, D]
  void* o;               // [B, H, Nq, D]
  float* lse;            // [B, H, Nq] natural-log LSE (softmax only; may be null)
  const float* alibi;    // [H] slopes, or null
  const int* key_lens;   // [B] valid keys per batch element, or null
  int B, H, Hkv, Nq, Nk;
  int causal;            // bottom-right aligned: key j visible to query i iff j <= i + Nk - Nq
  float scale;           // logit scale
  float bias;            // sigmoid scalar bias (ignored by softmax)
};

// Packed variable-length batch (FlashAttention's varlen layout): q/o [total_q, H, D], k/v
// [total_k, Hkv, D]; sequence b owns query rows [cu_q[b], cu_q[b+1]) and key rows
// [cu_k[b], cu_k[b+1]). In `f`, B = sequences, Nq = the longest query sequence (the grid's
// x extent in blocks), Nk = the longest key sequence; lse is null or [total_q, H] (softmax) and
// key_lens is null. Mirrored by packVarlenFwdParams in src/cuda/flash.ts.
struct VarlenFwdParams {
  FwdParams f;
  const int* cu_q;       // [B + 1] query offsets
  const int* cu_k;       // [B + 1] key offsets
};

template <typename T> struct Pack2;
template <> struct Pack2<__nv_bfloat16> {
  static __device__ __forceinline__ uint32_t from(float a, float b) {
    __nv_bfloat162 h = __floats2bfloat162_rn(a, b);
    return *reinterpret_cast<uint32_t*>(&h);
  }
};
template <> struct Pack2<__half> {
  static __device__ __forceinline__ uint32_t from(float a, float b) {
    __half2 h = __floats2half2_rn(a, b);
    return *reinterpret_cast<uint32_t*>(&h);
  }
};

// D = A(16x16) * B(16x8) + C, fp32 accumulate. A: 4 regs, B: 2 regs, C/D: 4 floats.
template <typename T>
__device__ __forceinline__ void mma16816(float* c, const uint32_t* a, uint32_t b0, uint32_t b1);
template <>
__device__ __forceinline__ void mma16816<__nv_bfloat16>(float* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
template <>
__device__ __forceinline__ void mma16816<__half>(float* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t* r, uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t* r, uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
}

// 16-byte async copy; src_bytes = 0 zero-fills the destination (rows past N, ragged tiles).
__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" :: "r"(dst), "l"(src), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" :: "n"(N)); }

// One MUFU op: sigmoid(x) = 0.5*tanh(0.5x) + 0.5 (the caller folds the 0.5 into its scale).
__device__ __forceinline__ float tanh_approx(float x) {
  float y;
  asm("tanh.approx.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}
__device__ __forceinline__ float exp2_approx(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

__device__ __forceinline__ float rcp_approx(float x) {
  float y;
  asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// σ of the logit scale·x, where x is the QK^T accumulator (which starts at bias/scale).
//   bf16: 0.5·tanh(0.5·scale·x) + 0.5 — one MUFU op. Its absolute error near σ = 0 is about half an
//         fp32 ulp of 1 (the sum 1 + tanh cancels), i.e. ≈ 3e-8: below bf16's relative resolution
//         (2^-9) for every σ above ≈ 1e-5 (logits above ≈ −11.5).
//   fp16: 1 / (1 + 2^(−scale·log2e·x)) — ex2 + rcp, two MUFU ops, relative error of a few fp32 ulps
//         everywhere. fp16 resolves σ to 2^-12 relative, so at b ≈ −9 (σ ≈ 1e-4, where b = −log n
//         puts the logits for n ≈ 10k) the tanh form's 3e-8 is 30 % of an fp16 ulp and the H200
//         check measured 2.1× the naive error with it.
// ex2(+inf) = inf and rcp(inf) = 0, so no clamp is needed for very negative logits.
template <typename T>
struct Sigmoid {
  static constexpr bool kExp = std::is_same_v<T, __half>;
  float k;
  __device__ __forceinline__ explicit Sigmoid(float scale) : k(kExp ? -scale * 1.4426950408889634f : 0.5f * scale) {}
  __device__ __forceinline__ float operator()(float x) const {
    if constexpr (kExp) return rcp_approx(1.f + exp2_approx(k * x));
    else return fmaf(0.5f, tanh_approx(k * x), 0.5f);
  }
};

// The per-(kernel, head) constants of the element-wise step, from a FwdParams or BwdParams: the ALiBi slope of
// head h, the score accumulator's start (bias/scale for sigmoid: the bias is folded into the QK^T GEMM), σ, and
// ALiBi and the logit scale in the units each kind works in (accumulator units for σ, log2 units for softmax).
template <typename T, bool SIGMOID>
struct ScoreConstants {
  float slope, s_init, alibi_acc, scale_log2, alibi_log2;
  Sigmoid<T> sigmoid;
  template <typename Params>
  __device__ __forceinline__ ScoreConstants(const Params& p, int h)
      : slope(p.alibi ? p.alibi[h] : 0.f),
        s_init(SIGMOID ? p.bias / p.scale : 0.f),
        alibi_acc(slope / p.scale),
        scale_log2(p.scale * 1.4426950408889634f),
        alibi_log2(slope * 1.4426950408889634f),
        sigmoid(p.scale) {}
};

__device__ __forceinline__ uint32_t smem_u32(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// Shared-memory tile of ROWS x D elements (16-bit). Rows are padded by 16 bytes, so the 8 row
// addresses of one ldmatrix (same 16-byte column chunk, consecutive rows) fall in 8 different
// bank groups: conflict-free like an XOR swizzle, but every address is affine in (row, chunk), so
// the unrolled loops need one base register per operand instead of one per k-step.
template <int D>
__host__ __device__ constexpr int row_bytes() { return D * 2 + 16; }
template <int D>
__device__ __forceinline__ uint32_t swz(int row, int chunk) {
  return static_cast<uint32_t>(row * row_bytes<D>() + chunk * 16);
}

// Async-load rows [row0, row0+ROWS) of a [N, D] matrix (rows `stride` elements apart: D when
// contiguous, H*D in a packed varlen [tokens, H, D] tensor) into a padded tile; rows >= n are zeros.
// Each thread copies one 16-byte chunk column every RPI rows, so its global and shared addresses
// are one base plus compile-time offsets (few registers). Rows past n use src size 0: the address
// is not read, and the destination is zero-filled.
template <int ROWS, int D, int NTHREADS>
__device__ __forceinline__ void load_tile(uint32_t tile, const uint16_t* g, int row0, int n, int stride = D) {
  constexpr int CPR = D / 8;             // 16-byte chunks per row
  constexpr int RPI = NTHREADS / CPR;    // rows covered per iteration
  static_assert(NTHREADS % CPR == 0 && ROWS % RPI == 0, "tile chunks must divide evenly among threads");
  const int r0 = threadIdx.x / CPR, c = threadIdx.x % CPR;
  const uint16_t* src = g + static_cast<size_t>(row0 + r0) * stride + c * 8;
  const int left = n - row0 - r0;        // rows this thread may still read
#pragma unroll
  for (int it = 0; it < ROWS / RPI; ++it) {
    const int r = r0 + it * RPI;
    cp_async16(tile + swz<D>(r, c), src + it * RPI * stride, it * RPI < left ? 16 : 0);
  }
}

// The query block a dense forward CTA owns: head h of batch element b (K/V head hk: grouped-query attention
// shares a K/V head among H / Hkv query heads) and rows m0..m0+BM. Causal blocks near the end of the sequence do
// the most work, so the grid launches them first.
struct FwdBlock {
  int h, b, hk, m0;
};
__device__ __forceinline__ FwdBlock fwd_block(const FwdParams& p, int BM) {
  const int mblocks = (p.Nq + BM - 1) / BM;
  const int mb = p.causal ? mblocks - 1 - static_cast<int>(blockIdx.x) : static_cast<int>(blockIdx.x);
  const int h = blockIdx.y;
  return {h, static_cast<int>(blockIdx.z), h / (p.H / p.Hkv), mb * BM};
}

// Number of keys query block [m0, m0+BM) can see, and whether keys in [n0, n0+BN) need a mask.
struct KeyRange {
  int n_end;      // exclusive bound on visible keys for the block's last row
  int kv_len;     // valid keys for this batch element (padding)
  int offset;     // Nk - Nq (bottom-right causal alignment)
};

__device__ __forceinline__ KeyRange key_range(const FwdParams& p, int b, int m0, int BM) {
  KeyRange kr;
  kr.kv_len = p.key_lens ? min(p.key_lens[b], p.Nk) : p.Nk;
  kr.offset = p.Nk - p.Nq;
  kr.n_end = kr.kv_len;
  if (p.causal) kr.n_end = min(kr.n_end, max(0, m0 + BM + kr.offset));
  return kr;
}

// The element-wise step of one forward score tile, shared by the FA2-class (flash_fwd.cuh) and the Hopper
// (hopper_fwd.cuh) kernels so that both families compute the same numbers from one definition.
// `s` is one m16 row slice of a warp's S tile in the m16n8 C layout: NS n8 blocks, rows `row0` (lane/4) and
// row0 + 8, columns c0 = (lane%4)·2 and c0 + 1 of each block, the first block at key n0. Sigmoid: mask, ALiBi
// and σ in place. Softmax: masked, ALiBi-shifted log2-domain logits, the online max/sum of the two rows
// (row_max/row_sum) updated across the quad, `o` (DN n8 blocks of the same rows) rescaled, and s replaced by
// exp2(logit − max). Only tiles that cross the padding/ragged edge or the causal diagonal pay for masking
// (`need_mask`); `lim` counts the visible keys from the thread's first column and `dist0` is the ALiBi
// distance there, so the per-element work is a compare against a compile-time constant.
template <bool SIGMOID, typename T, int NS, int DN>
__device__ __forceinline__ void score_tile(float (&s)[NS][4], float (&o)[DN][4], float (&row_max)[2], float (&row_sum)[2],
                                           const FwdParams& p, const KeyRange& kr, int row0, int lane, int n0, bool need_mask,
                                           const ScoreConstants<T, SIGMOID>& sc) {
  const int c0 = (lane % 4) * 2;
  int lim[2];
  float dist0[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int i = row0 + r * 8;
    const int visible_end = p.causal ? min(kr.kv_len, i + kr.offset + 1) : kr.kv_len;
    lim[r] = need_mask ? visible_end - n0 - c0 : NS * 8;
    dist0[r] = static_cast<float>(i + kr.offset - n0 - c0);
  }
  if constexpr (SIGMOID) {
#pragma unroll
    for (int ns = 0; ns < NS; ++ns)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = e >> 1, dc = ns * 8 + (e & 1);
        float x = s[ns][e];
        if (p.alibi) x -= sc.alibi_acc * fabsf(dist0[r] - static_cast<float>(dc));
        s[ns][e] = dc < lim[r] ? sc.sigmoid(x) : 0.f;
      }
  } else {
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int ns = 0; ns < NS; ++ns)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = e >> 1, dc = ns * 8 + (e & 1);
        float x = s[ns][e] * sc.scale_log2;
        if (p.alibi) x -= sc.alibi_log2 * fabsf(dist0[r] - static_cast<float>(dc));
        x = dc < lim[r] ? x : -INFINITY;
        s[ns][e] = x;
        mx[r] = fmaxf(mx[r], x);
      }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
      const float m_new = fmaxf(row_max[r], mx[r]);
      // A row with nothing visible yet keeps max -inf; subtract 0 so exp2 gives 0, not NaN.
      const float m_use = m_new == -INFINITY ? 0.f : m_new;
      const float alpha = exp2_approx(row_max[r] - m_use);
      row_max[r] = m_new;
      row_sum[r] *= alpha;
#pragma unroll
      for (int dn = 0; dn < DN; ++dn) { o[dn][2 * r] *= alpha; o[dn][2 * r + 1] *= alpha; }
      mx[r] = m_use;
    }
#pragma unroll
    for (int ns = 0; ns < NS; ++ns)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float y = exp2_approx(s[ns][e] - mx[e >> 1]);
        row_sum[e >> 1] += y;
        s[ns][e] = y;
      }
  }
}
