// FA2-class backward main loop shared by FlashSigmoid and FlashSoftmax.
//
// One CTA per (key block of BN keys, query head, batch). K and V tiles stay in shared memory; the
// CTA walks the query blocks (Q and dO double-buffered with cp.async) and, per block:
//   S = Q K^T and dP = dO V^T        (warp w owns query rows 16w..16w+15)
//   sigmoid: P = σ(S'),  dS = P(1−P)·dP               (no LSE, no D = rowsum(dO∘O) pass)
//   softmax: P = exp(S' − LSE), dS = P(dP − D)         (D = the P-weighted mean of dP in-block for
//            rows whose keys all lie in key block 0, else rowsum(dO∘O) from flash_bwd_delta)
//   dQ += scale·dS K  → fp32 atomics into dq_acc (many key blocks add to the same rows)
//   P, dS → shared memory; dV += P^T dO, dK += scale·dS^T Q   (warp w owns keys 16w..16w+15)
// dK/dV are added into fp32 [B, Hkv, Nk, D] buffers at the end (atomics sum the GQA group);
// flash_bwd_convert turns the three fp32 buffers into the input dtype.
// VARLEN (packed sequences, VarlenBwdParams) is the same loop with per-sequence pointers and lengths.
#pragma once
#include "flash_common.cuh"

struct BwdParams {
  const void* q;         // [B, H, Nq, D]
  const void* k;         // [B, Hkv, Nk, D]
  const void* v;         // [B, Hkv, Nk, D]
  const void* dout;      // [B, H, Nq, D]
  const float* lse;      // [B, H, Nq] natural log (softmax only)
  const float* delta;    // [B, H, Nq] rowsum(dO∘O) (softmax only; may be null when Nk <= BN)
  float* dq_acc;         // [B, H, Nq, D] fp32, zeroed by the host
  float* dk_acc;         // [B, Hkv, Nk, D] fp32, zeroed
  float* dv_acc;         // [B, Hkv, Nk, D] fp32, zeroed
  const float* alibi;    // [H] or null
  const int* key_lens;   // [B] or null
  int B, H, Hkv, Nq, Nk;
  int causal;
  float scale;
  float bias;
};

// Packed variable-length batch (the forward's VarlenFwdParams layout): q/dout/dq_acc [total_q, H, D],
// k/v/dk_acc/dv_acc [total_k, Hkv, D], lse/delta [total_q, H]; sequence b owns query rows
// [cu_q[b], cu_q[b+1]) and key rows [cu_k[b], cu_k[b+1]). In `b`, B = sequences, Nq / Nk = the
// longest query / key sequence (Nk sets the grid's x extent in blocks); key_lens is null.
// Mirrored by packVarlenBwdParams in src/cuda/flash.ts.
struct VarlenBwdParams {
  BwdParams b;
  const int* cu_q;       // [B + 1] query offsets
  const int* cu_k;       // [B + 1] key offsets
};

// Adds (a, b) to dst[0..1]: one vector atomic on sm_90, two scalar ones before.
__device__ __forceinline__ void atomic_add2(float* dst, float a, float b) {
#if __CUDA_ARCH__ >= 900
  atomicAdd(reinterpret_cast<float2*>(dst), make_float2(a, b));
#else
  atomicAdd(dst, a);
  atomicAdd(dst + 1, b);
#endif
}

// STAGES = Q/dO buffers: 2 prefetches the next query block during this one; 1 halves that
// shared memory so two CTAs fit per SM at D = 128 (the other CTA hides the load instead).
// VARLEN: p is VarlenBwdParams::b and cu_q/cu_k its offsets; blockIdx.z is the sequence, whose rows
// start at cu_q[b] / cu_k[b] in the packed tensors (q/dO/dQ rows H*D elements apart, k/v/dK/dV rows
// Hkv*D, LSE/delta rows H), and key blocks past the sequence's own keys exit at once. Causal is
// bottom-right per sequence; no key_lens. The dense expressions are kept verbatim behind
// `if constexpr`, so VARLEN = false compiles as before.
template <typename T, int D, int NWARPS, int STAGES, bool SIGMOID, bool VARLEN = false>
__device__ __forceinline__ void flash_bwd(const BwdParams& p, const int* cu_q = nullptr, const int* cu_k = nullptr) {
  constexpr int NT = NWARPS * 32;
  constexpr int BM = 16 * NWARPS, BN = 16 * NWARPS;
  constexpr int KD = D / 16, NS = BN / 8, DN = D / 8;
  constexpr int RB = row_bytes<D>();
  constexpr int PB = BN * 2 + 16;  // padded row of the P / dS tiles (same conflict-free trick)

  extern __shared__ __align__(128) uint8_t smem[];
  const uint32_t sK = smem_u32(smem);
  const uint32_t sV = sK + BN * RB;
  const uint32_t sQ = sV + BN * RB;            // STAGES buffers
  const uint32_t sdO = sQ + STAGES * BM * RB;  // STAGES buffers
  const uint32_t sP = sdO + STAGES * BM * RB;
  const uint32_t sdS = sP + BM * PB;

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int h = blockIdx.y, b = blockIdx.z;
  const int hk = h / (p.H / p.Hkv);
  const int n0 = blockIdx.x * BN;
  // Varlen sequence blockIdx.z: first query/key row and lengths (unused when dense).
  int q_start = 0, k_start = 0, seq_q = 0, seq_k = 0;
  if constexpr (VARLEN) {
    q_start = cu_q[b];
    seq_q = cu_q[b + 1] - q_start;
    k_start = cu_k[b];
    seq_k = cu_k[b + 1] - k_start;
  }
  // Query/key rows of this sequence, and elements between consecutive q/dO/dQ and k/v/dK/dV rows.
  auto Nq = [&] { if constexpr (VARLEN) return seq_q; else return p.Nq; };
  auto Nk = [&] { if constexpr (VARLEN) return seq_k; else return p.Nk; };
  auto q_stride = [&] { if constexpr (VARLEN) return p.H * D; else return D; };
  auto kv_stride = [&] { if constexpr (VARLEN) return p.Hkv * D; else return D; };
  int kv_len, offset;
  if constexpr (VARLEN) {
    kv_len = seq_k;
    offset = seq_k - seq_q;  // bottom-right causal alignment within the sequence
  } else {
    kv_len = p.key_lens ? min(p.key_lens[b], p.Nk) : p.Nk;
    offset = p.Nk - p.Nq;
  }
  if (n0 >= kv_len) return;  // fully padded key block (or past the sequence's keys): its dK/dV stay 0 (buffers were zeroed)
  const int mblocks = (Nq() + BM - 1) / BM;
  // Causal: query i sees key j iff j <= i + offset, so rows below n0 - offset see none of the block.
  const int m_begin = p.causal ? max(0, n0 - offset) / BM : 0;
  if (m_begin >= mblocks) return;

  // Dense: qh / kh = first row of this (b, h) / (b, hk) in the [B, heads, N] row space; element offsets
  // are row·D. Varlen: q_off / kv_off = element offset of the sequence's first row of head h / hk.
  size_t qh = 0, kh = 0, q_off = 0, kv_off = 0;
  if constexpr (VARLEN) {
    q_off = static_cast<size_t>(q_start) * q_stride() + static_cast<size_t>(h) * D;
  } else {
    qh = (static_cast<size_t>(b) * p.H + h) * p.Nq;
    q_off = qh * D;
  }
  const uint16_t* gq = static_cast<const uint16_t*>(p.q) + q_off;
  const uint16_t* gdo = static_cast<const uint16_t*>(p.dout) + q_off;
  if constexpr (VARLEN) {
    kv_off = static_cast<size_t>(k_start) * kv_stride() + static_cast<size_t>(hk) * D;
  } else {
    kh = (static_cast<size_t>(b) * p.Hkv + hk) * p.Nk;
    kv_off = kh * D;
  }
  const uint16_t* gk = static_cast<const uint16_t*>(p.k) + kv_off;
  const uint16_t* gv = static_cast<const uint16_t*>(p.v) + kv_off;
  // Index of query row i's LSE / delta, and element offset of query row i (dQ) and key row j (dK, dV).
  auto lse_row = [&](int i) -> size_t {
    if constexpr (VARLEN) return static_cast<size_t>(q_start + i) * p.H + h;
    else return qh + i;
  };
  auto q_elem = [&](int i) -> size_t {
    if constexpr (VARLEN) return q_off + static_cast<size_t>(i) * q_stride();
    else return (qh + i) * D;
  };
  auto kv_elem = [&](int j) -> size_t {
    if constexpr (VARLEN) return kv_off + static_cast<size_t>(j) * kv_stride();
    else return (kh + j) * D;
  };

  load_tile<BN, D, NT>(sK, gk, n0, kv_len, kv_stride());
  load_tile<BN, D, NT>(sV, gv, n0, kv_len, kv_stride());
  load_tile<BM, D, NT>(sQ, gq, m_begin * BM, Nq(), q_stride());
  load_tile<BM, D, NT>(sdO, gdo, m_begin * BM, Nq(), q_stride());
  cp_async_commit();

  float dk[DN][4], dv[DN][4];
#pragma unroll
  for (int dn = 0; dn < DN; ++dn)
#pragma unroll
    for (int e = 0; e < 4; ++e) { dk[dn][e] = 0.f; dv[dn][e] = 0.f; }

  const ScoreConstants<T, SIGMOID> sc(p, h);
  const int c0 = (lane % 4) * 2;

  for (int mi = m_begin; mi < mblocks; ++mi) {
    const int m0 = mi * BM;
    const int buf = STAGES == 2 ? (mi - m_begin) & 1 : 0;
    cp_async_wait<0>();  // Q/dO(mi) landed (and K/V on the first pass)
    __syncthreads();     // ... and every warp is done with sP/sdS and the other Q/dO buffer
    if (STAGES == 2 && mi + 1 < mblocks) {
      load_tile<BM, D, NT>(sQ + (buf ^ 1) * BM * RB, gq, m0 + BM, Nq(), q_stride());
      load_tile<BM, D, NT>(sdO + (buf ^ 1) * BM * RB, gdo, m0 + BM, Nq(), q_stride());
    }
    cp_async_commit();
    const uint32_t qb = sQ + buf * BM * RB, dob = sdO + buf * BM * RB;

    // S = Q K^T and dP = dO V^T for this warp's 16 query rows.
    float s[NS][4], dp[NS][4];
#pragma unroll
    for (int ns = 0; ns < NS; ++ns)
#pragma unroll
      for (int e = 0; e < 4; ++e) { s[ns][e] = sc.s_init; dp[ns][e] = 0.f; }
#pragma unroll 1
    for (int kd = 0; kd < KD; ++kd) {
      uint32_t qa[4], oa[4];
      ldmatrix_x4(qa, qb + swz<D>(warp * 16 + (lane % 16), kd * 2 + lane / 16));
      ldmatrix_x4(oa, dob + swz<D>(warp * 16 + (lane % 16), kd * 2 + lane / 16));
#pragma unroll
      for (int ns2 = 0; ns2 < NS / 2; ++ns2) {
        uint32_t kf[4], vf[4];
        const int row = ns2 * 16 + (lane & 7) + ((lane >> 4) << 3), chunk = kd * 2 + ((lane >> 3) & 1);
        ldmatrix_x4(kf, sK + swz<D>(row, chunk));
        ldmatrix_x4(vf, sV + swz<D>(row, chunk));
        mma16816<T>(s[2 * ns2], qa, kf[0], kf[1]);
        mma16816<T>(s[2 * ns2 + 1], qa, kf[2], kf[3]);
        mma16816<T>(dp[2 * ns2], oa, vf[0], vf[1]);
        mma16816<T>(dp[2 * ns2 + 1], oa, vf[2], vf[3]);
      }
    }

    // Element-wise: P and dS (dS already carries the logit scale). Pass 1 keeps the f32 P (masked to
    // 0) in s and stores its 16-bit rounding, which the dV GEMM reads, as the P tile; pass 2 forms
    // dS = P·(dP − Drow) from the f32 P, as FlashAttention-2 does (the 16-bit P would add a second
    // rounding to dS, and its row sum differs from 1 by up to 2⁻⁹ in bf16).
    //   softmax Drow: rowsum(dO∘O) from flash_bwd_delta, except for a row whose visible keys all lie
    //   in this block (n0 = 0, at most BN of them: the warp owns the whole row, a quad shuffle away).
    //   There Drow = dP₀ + Σⱼ P·(dP − dP₀) / Σⱼ P, the P-weighted mean of dP anchored at the row's
    //   first key (always visible when any key is: causal and key lengths mask suffixes), so that
    //     - Σⱼ dS = 0 whatever the rounding of P (as the exact gradient: a softmax row's dS sums to
    //       0). Σ P·dP alone carries an error (ΣP − 1)·Drow, which a large common dP makes larger
    //       than dS itself: a bf16 GQA row with P16 summing to 1 − 2⁻⁹ and dP ≈ (6, 15) put dK at
    //       2.02× the naive error (H200 check, D = 32, seed 280494731);
    //     - a row that sees one key gets Drow = dP₀ + 0 = dP exactly, so dS = 0 exactly.
    int lim[2];
    float dist0[2], lse2[2], dlt[2], dp0[2];
    bool local[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int i = m0 + warp * 16 + lane / 4 + r * 8;
      const int visible_end = i >= Nq() ? 0 : p.causal ? min(kv_len, i + offset + 1) : kv_len;
      lim[r] = visible_end - n0 - c0;
      local[r] = n0 == 0 && visible_end <= BN;
      dist0[r] = static_cast<float>(i + offset - n0 - c0);
      lse2[r] = 0.f;
      dlt[r] = 0.f;
      dp0[r] = 0.f;
      if constexpr (!SIGMOID) {
        dp0[r] = __shfl_sync(0xffffffffu, dp[0][2 * r], lane & ~3);  // dP at column 0 (quad lane 0)
        if (i < Nq()) {
          const float l = p.lse[lse_row(i)];
          // A fully masked row has LSE = -inf; +inf makes every exp2 below 0 instead of inf.
          lse2[r] = l == -INFINITY ? INFINITY : l * 1.4426950408889634f;
          if (!local[r]) dlt[r] = p.delta[lse_row(i)];
        }
      }
    }
    const int rl = warp * 16 + lane / 4;
    float rowdot[2] = {0.f, 0.f}, rowsum[2] = {0.f, 0.f};
#pragma unroll
    for (int ns = 0; ns < NS; ++ns) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = e >> 1, dc = ns * 8 + (e & 1);
        float y;
        if constexpr (SIGMOID) {
          float x = s[ns][e];
          if (p.alibi) x -= sc.alibi_acc * fabsf(dist0[r] - static_cast<float>(dc));
          y = sc.sigmoid(x);
        } else {
          float x = s[ns][e] * sc.scale_log2 - lse2[r];
          if (p.alibi) x -= sc.alibi_log2 * fabsf(dist0[r] - static_cast<float>(dc));
          y = exp2_approx(x);
        }
        s[ns][e] = dc < lim[r] ? y : 0.f;
        if constexpr (!SIGMOID) {
          rowdot[r] += s[ns][e] * (dp[ns][e] - dp0[r]);
          rowsum[r] += s[ns][e];
        }
      }
      // Row-major BM x BN P tile in shared memory: this thread's pairs (row g, g+8; cols c0, c0+1).
      const uint32_t col_bytes = (ns * 8 + c0) * 2;
      asm volatile("st.shared.b32 [%0], %1;\n" :: "r"(sP + rl * PB + col_bytes), "r"(Pack2<T>::from(s[ns][0], s[ns][1])));
      asm volatile("st.shared.b32 [%0], %1;\n" :: "r"(sP + (rl + 8) * PB + col_bytes), "r"(Pack2<T>::from(s[ns][2], s[ns][3])));
    }
    if constexpr (!SIGMOID) {
#pragma unroll
      for (int r = 0; r < 2; ++r) {
#pragma unroll
        for (int m = 1; m <= 2; m <<= 1) {
          rowdot[r] += __shfl_xor_sync(0xffffffffu, rowdot[r], m);
          rowsum[r] += __shfl_xor_sync(0xffffffffu, rowsum[r], m);
        }
        // rowsum = 0: no visible key (P = 0, so dS = 0 whatever Drow is, as long as it is finite).
        if (local[r]) dlt[r] = dp0[r] + (rowsum[r] > 0.f ? rowdot[r] / rowsum[r] : 0.f);
      }
    }
    uint32_t dsf[BN / 16][4];
#pragma unroll
    for (int ns = 0; ns < NS; ++ns) {
      float dsv[4];
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float y = s[ns][e];  // 0 where masked
        if constexpr (SIGMOID) dsv[e] = y * (1.f - y) * dp[ns][e] * p.scale;
        else dsv[e] = y * (dp[ns][e] - dlt[e >> 1]) * p.scale;
      }
      const uint32_t col_bytes = (ns * 8 + c0) * 2;
      const uint32_t d0 = Pack2<T>::from(dsv[0], dsv[1]), d1 = Pack2<T>::from(dsv[2], dsv[3]);
      asm volatile("st.shared.b32 [%0], %1;\n" :: "r"(sdS + rl * PB + col_bytes), "r"(d0));
      asm volatile("st.shared.b32 [%0], %1;\n" :: "r"(sdS + (rl + 8) * PB + col_bytes), "r"(d1));
      // dS (this warp's rows) as A fragments for dQ = dS K.
      if (ns & 1) {
        dsf[ns / 2][2] = d0;
        dsf[ns / 2][3] = d1;
      } else {
        dsf[ns / 2][0] = d0;
        dsf[ns / 2][1] = d1;
      }
    }

    // dQ(rows) += dS K: B = K [key][d] read transposed, like V in the forward pass.
    {
      float dq[DN][4];
#pragma unroll
      for (int dn = 0; dn < DN; ++dn)
#pragma unroll
        for (int e = 0; e < 4; ++e) dq[dn][e] = 0.f;
#pragma unroll
      for (int ks = 0; ks < BN / 16; ++ks)
#pragma unroll
        for (int dn2 = 0; dn2 < DN / 2; ++dn2) {
          uint32_t kf[4];
          ldmatrix_x4_trans(kf, sK + swz<D>(ks * 16 + (lane & 7) + (((lane >> 3) & 1) << 3), dn2 * 2 + (lane >> 4)));
          mma16816<T>(dq[2 * dn2], dsf[ks], kf[0], kf[1]);
          mma16816<T>(dq[2 * dn2 + 1], dsf[ks], kf[2], kf[3]);
        }
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const int i = m0 + warp * 16 + lane / 4 + r * 8;
        if (i < Nq()) {
          float* dst = p.dq_acc + q_elem(i) + c0;
#pragma unroll
          for (int dn = 0; dn < DN; ++dn) atomic_add2(dst + dn * 8, dq[dn][2 * r], dq[dn][2 * r + 1]);
        }
      }
    }
    __syncthreads();  // P and dS tiles complete

    // dV += P^T dO and dK += dS^T Q for this warp's 16 keys. A = P^T: ldmatrix.trans of the
    // row-major [query][key] tile; matrix g = lane/8 covers queries (g>>1)*8.., keys (g&1)*8...
#pragma unroll
    for (int ks = 0; ks < BM / 16; ++ks) {
      const int g = lane >> 3;
      const uint32_t a_off = (ks * 16 + (g >> 1) * 8 + (lane & 7)) * PB + (warp * 16 + (g & 1) * 8) * 2;
      uint32_t pa[4], sa[4];
      ldmatrix_x4_trans(pa, sP + a_off);
      ldmatrix_x4_trans(sa, sdS + a_off);
#pragma unroll
      for (int dn2 = 0; dn2 < DN / 2; ++dn2) {
        uint32_t of[4], qf[4];
        const int row = ks * 16 + (lane & 7) + (((lane >> 3) & 1) << 3), chunk = dn2 * 2 + (lane >> 4);
        ldmatrix_x4_trans(of, dob + swz<D>(row, chunk));
        ldmatrix_x4_trans(qf, qb + swz<D>(row, chunk));
        mma16816<T>(dv[2 * dn2], pa, of[0], of[1]);
        mma16816<T>(dv[2 * dn2 + 1], pa, of[2], of[3]);
        mma16816<T>(dk[2 * dn2], sa, qf[0], qf[1]);
        mma16816<T>(dk[2 * dn2 + 1], sa, qf[2], qf[3]);
      }
    }
    if (STAGES == 1 && mi + 1 < mblocks) {
      __syncthreads();  // everyone is done reading this Q/dO before it is overwritten
      load_tile<BM, D, NT>(sQ, gq, m0 + BM, Nq(), q_stride());
      load_tile<BM, D, NT>(sdO, gdo, m0 + BM, Nq(), q_stride());
      cp_async_commit();
    }
  }
  cp_async_wait<0>();

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int j = n0 + warp * 16 + lane / 4 + r * 8;
    if (j < Nk()) {  // varlen: a row past the sequence's keys belongs to the next sequence
      float* dkp = p.dk_acc + kv_elem(j) + c0;
      float* dvp = p.dv_acc + kv_elem(j) + c0;
#pragma unroll
      for (int dn = 0; dn < DN; ++dn) {
        atomic_add2(dkp + dn * 8, dk[dn][2 * r], dk[dn][2 * r + 1]);
        atomic_add2(dvp + dn * 8, dv[dn][2 * r], dv[dn][2 * r + 1]);
      }
    }
  }
}

template <int D, int NWARPS, int STAGES>
__host__ __device__ constexpr int bwd_smem_bytes() {
  return 2 * (16 * NWARPS) * row_bytes<D>() + 2 * STAGES * (16 * NWARPS) * row_bytes<D>() + 2 * (16 * NWARPS) * (32 * NWARPS + 16);
}

// Entry + config global {BM, BN, threads, smem} (same convention as the forward kernels).
#define FLASH_BWD_ENTRY(NAME, T, D, NW, STAGES, MINB, SIGMOID)                                     \
  extern "C" __global__ void __launch_bounds__((NW) * 32, MINB) NAME(const __grid_constant__ BwdParams p) { \
    flash_bwd<T, D, NW, STAGES, SIGMOID>(p);                                                       \
  }                                                                                                \
  extern "C" __device__ const int NAME##_cfg[4] = {16 * (NW), 16 * (NW), (NW) * 32, bwd_smem_bytes<D, NW, STAGES>()};

// Varlen entry (packed sequences, VarlenBwdParams), given the dense entry's tiles in each .cu file;
// grid (key blocks of the longest key sequence, H, sequences).
#define FLASH_BWD_VARLEN_ENTRY(NAME, T, D, NW, STAGES, MINB, SIGMOID)                              \
  extern "C" __global__ void __launch_bounds__((NW) * 32, MINB) NAME(const __grid_constant__ VarlenBwdParams p) { \
    flash_bwd<T, D, NW, STAGES, SIGMOID, true>(p.b, p.cu_q, p.cu_k);                               \
  }                                                                                                \
  extern "C" __device__ const int NAME##_cfg[4] = {16 * (NW), 16 * (NW), (NW) * 32, bwd_smem_bytes<D, NW, STAGES>()};
