// Hopper (sm_90a) backward main loop shared by FlashSigmoid and FlashSoftmax: warpgroup MMA.
//
// CTA = 2 warpgroups over BN = 128 keys (warpgroup g owns keys 64g..64g+63), walking the query blocks of
// BM rows (Q, dO and, for softmax, LSE/D double-buffered with cp.async in the 128-byte swizzled layout).
// The score tiles are computed transposed, keys as the MMA's M dimension, so that P^T and dS^T come out
// of the accumulators already in the register layout of the next GEMMs' A operand (as P in the forward):
//   S^T  = K Q^T,  dP^T = V dO^T   wgmma m64nBMk16, A (K, V rows of this warpgroup) and B (Q, dO) from
//                                   shared memory, both K-major
//   sigmoid: P = σ(S'),  dS = P(1−P)·dP          (no LSE, no D = rowsum(dO∘O) pass)
//   softmax: P = exp(S' − LSE), dS = P(dP − D)   (D in-block for rows whose keys all lie in key block 0,
//            as the FA2 kernel: see flash_bwd.cuh; its pre-pass otherwise)
//   dV += P^T dO,  dK += dS^T Q      wgmma m64nDk16, A from registers, B (dO, Q) MN-major from shared memory
//   dQ  = dS K                       dS^T → shared memory [key][query]; wgmma m64n64k16 with both operands
//                                   MN-major; the 2 warpgroups split it into halves (by d at D = 128, BM = 64;
//                                   by queries at D = 64, BM = 128)
// dQ goes through shared memory to one bulk reduce-add (cp.reduce.async.bulk .add.f32, the copy engine)
// per query row into the fp32 dq_acc instead of per-element atomics; it is issued after the next block's
// first barrier and waited for just before sdQ is written again, so it overlaps that block's GEMMs.
// dK/dV stay in registers for the whole query walk and are added into fp32 buffers at the end (atomics
// sum a GQA group), as in the FA2 kernel; flash_bwd_convert converts all three.
// Two CTA barriers per query block.
// TMA = true is the same loop in the TMA + warp-specialised kernel (hopper_tma_bwd.cuh): a producer warpgroup
// loads K/V, Q/dO (2-stage ring) and softmax's LSE/D, completing on mbarriers; the loop's two warpgroups wait
// on a stage's "full" barrier instead of cp.async, free it on its "empty" barrier once the block's GEMMs are
// done, and sync with a named barrier over their 256 threads instead of __syncthreads. Every TMA-only line is
// behind `if constexpr (TMA)`, so the cp.async kernels compile to the same cubins as before.
// Not yet: overlap of the element-wise step of one warpgroup with the other's GEMMs (ping-pong).
#pragma once
#include "hopper_common.cuh"
#include "flash_bwd.cuh"

// 4-byte async copy (the softmax LSE / D rows); src_bytes = 0 zero-fills.
__device__ __forceinline__ void cp_async4(uint32_t dst, const void* src, int src_bytes) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" :: "r"(dst), "l"(src), "r"(src_bytes));
}
// dst[0..bytes/4) += src (shared) through the bulk copy engine; bytes a multiple of 16, both 16-byte aligned.
__device__ __forceinline__ void bulk_reduce_add_f32(float* dst, uint32_t src, uint32_t bytes) {
  asm volatile("cp.reduce.async.bulk.global.shared::cta.bulk_group.add.f32 [%0], [%1], %2;\n" :: "l"(dst), "r"(src), "r"(bytes) : "memory");
}
__device__ __forceinline__ void bulk_commit() { asm volatile("cp.async.bulk.commit_group;\n" ::: "memory"); }
// Waits until this thread's bulk operations have finished reading shared memory (not for their writes).
__device__ __forceinline__ void bulk_wait_read() { asm volatile("cp.async.bulk.wait_group.read 0;\n" ::: "memory"); }

template <int D, int BM>
__host__ __device__ constexpr int hopper_bwd_smem_bytes() {
  // K, V; Q, dO (2 buffers each); dS^T; the padded fp32 dQ tile; LSE, D (2 buffers each), dP0 and two
  // row sums (softmax); + 1 KB for aligning the swizzle atoms.
  return 2 * 128 * D * 2 + 4 * BM * D * 2 + 128 * BM * 2 + BM * (D * 4 + 32) + 7 * BM * 4 + 1024;
}

// The barrier over the threads that run the main loop: the whole CTA (cp.async kernel), or the 256 consumer
// threads of the TMA kernel (named barrier 1: its producer warpgroup never joins, and has left the loop).
template <bool TMA>
__device__ __forceinline__ void bwd_sync() {
  if constexpr (TMA) named_bar_sync(1, 256);
  else __syncthreads();
}

// TMA: `maps` = the q, k, v, dout tensor maps of TmaBwdParams (hopper_tma_bwd.cuh), in that order; the CTA is 384
// threads, warpgroup 0 the producer and warpgroups 1-2 running the main loop as the cp.async kernel's 2 warpgroups.
template <typename T, int D, int BM, bool SIGMOID, bool TMA = false>
__device__ __forceinline__ void hopper_bwd(const BwdParams& p, const TensorMap* maps = nullptr) {
  constexpr int BN = 128, NT = 256;
  constexpr int DREG = D / 2;       // dK and dV accumulator floats per thread
  constexpr int KD = D / 16, KN = BN / 16;
  constexpr int QROW = D * 4 + 32;  // padded fp32 dQ row: a warp's float2 stores take the minimum 2 wavefronts
  static_assert((D == 128 && BM == 64) || (D == 64 && BM == 128),
                "dQ = dS K is computed as two m64n64 halves: by d at D = 128 (BM = 64), by queries at D = 64 (BM = 128)");

  extern __shared__ __align__(128) uint8_t smem_raw[];
  // Swizzle atoms must sit on 1024-byte boundaries (descriptor base offset 0); the host adds 1 KB.
  uint8_t* base = smem_raw + ((1024u - (smem_u32(smem_raw) & 1023u)) & 1023u);
  const uint32_t sK = smem_u32(base);
  const uint32_t sV = sK + BN * D * 2;
  const uint32_t sQ = sV + BN * D * 2;       // 2 buffers
  const uint32_t sdO = sQ + 2 * BM * D * 2;  // 2 buffers
  const uint32_t sdS = sdO + 2 * BM * D * 2; // [BN keys][BM queries]: BM/64 swizzled sub-tiles
  const uint32_t sdQ = sdS + BN * BM * 2;    // [BM][D] fp32, rows QROW bytes apart
  const uint32_t sLse = sdQ + BM * QROW;     // softmax: [2][BM] LSE, [2][BM] D, [BM] dP0, [2][BM] row sums
  const uint32_t sDel = sLse + 2 * BM * 4;
  float* lse_s = reinterpret_cast<float*>(base + (sLse - sK));
  float* del_s = reinterpret_cast<float*>(base + (sDel - sK));
  float* dp0_s = del_s + 2 * BM;
  float* red_s = dp0_s + BM;
  // TMA: mbarriers after red_s: K/V full, then per stage s (= query block parity) "full" and "empty".
  const uint32_t kv_full = sDel + 5 * BM * 4;
  const auto stage_full = [&](int s) { return kv_full + 8 + 16 * s; };
  const auto stage_empty = [&](int s) { return kv_full + 16 + 16 * s; };

  // TMA: tid numbers the 256 consumer threads (the producer warpgroup's are negative and leave before the loop).
  const int tid = TMA ? static_cast<int>(threadIdx.x) - 128 : static_cast<int>(threadIdx.x);
  const int wg = tid / 128, warp = (tid / 32) % 4, lane = tid % 32;
  const int h = blockIdx.y, b = blockIdx.z;
  const int hk = h / (p.H / p.Hkv);
  const int n0 = blockIdx.x * BN;
  const int kv_len = p.key_lens ? min(p.key_lens[b], p.Nk) : p.Nk;
  const int offset = p.Nk - p.Nq;
  if (n0 >= kv_len) return;  // fully padded key block: its dK/dV stay 0 (buffers were zeroed)
  const int mblocks = (p.Nq + BM - 1) / BM;
  // Causal: query i sees key j iff j <= i + offset, so rows below n0 - offset see none of the block.
  const int m_begin = p.causal ? max(0, n0 - offset) / BM : 0;
  if (m_begin >= mblocks) return;

  const size_t qh = (static_cast<size_t>(b) * p.H + h) * p.Nq;
  const uint16_t* gq = static_cast<const uint16_t*>(p.q) + qh * D;
  const uint16_t* gdo = static_cast<const uint16_t*>(p.dout) + qh * D;
  const size_t kh = (static_cast<size_t>(b) * p.Hkv + hk) * p.Nk;
  const uint16_t* gk = static_cast<const uint16_t*>(p.k) + kh * D;
  const uint16_t* gv = static_cast<const uint16_t*>(p.v) + kh * D;

  auto load_query_block = [&](int buf, int mi) {
    load_tile_sw128<BM, D, NT>(sQ + buf * BM * D * 2, gq, mi * BM, p.Nq, tid);
    load_tile_sw128<BM, D, NT>(sdO + buf * BM * D * 2, gdo, mi * BM, p.Nq, tid);
    if constexpr (!SIGMOID) {
      if (tid < BM) {
        const int i = mi * BM + tid;
        const bool in = i < p.Nq;
        cp_async4(sLse + (buf * BM + tid) * 4, p.lse + qh + (in ? i : 0), in ? 4 : 0);
        if (p.delta) cp_async4(sDel + (buf * BM + tid) * 4, p.delta + qh + (in ? i : 0), in ? 4 : 0);
      }
    }
  };
  // Rows of query block mi of sdQ → dq_acc, one bulk reduce-add per row (threads 0..BM-1).
  auto reduce_dq = [&](int mi) {
    if (tid < BM) {
      const int i = mi * BM + tid;
      if (i < p.Nq) bulk_reduce_add_f32(p.dq_acc + (qh + i) * D, sdQ + tid * QROW, D * 4);
      bulk_commit();
    }
  };

  if constexpr (TMA) {
    if (threadIdx.x == 0) {
      mbar_init(kv_full, 1);
      for (int s = 0; s < 2; ++s) {
        mbar_init(stage_full(s), SIGMOID ? 1 : 32);  // softmax: producer warp 0's 32 lanes (LSE/D rows)
        mbar_init(stage_empty(s), 256);              // every consumer thread arrives
      }
      asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();
    if (threadIdx.x < 128) {
      setmaxnreg_dec<24>();
      // Producer: thread 0 issues the tensor-map boxes (K and V once; Q(mi) and dO(mi) per query block into the
      // stage of its parity); softmax's LSE/D rows come from warp 0's lanes (plain loads and shared stores,
      // released by their arrive on the stage's full barrier). Rows past Nq get LSE = D = 0, as the cp.async
      // zero-fill (their scores are masked; D is rewritten by the in-block rule where it is used).
      const int pl = threadIdx.x;
      if (SIGMOID ? pl == 0 : pl < 32) {
        if (pl == 0) {
          mbar_expect_tx(kv_full, 2 * BN * D * 2);
#pragma unroll
          for (int c = 0; c < D / 64; ++c) {
            tma_load_3d(sK + c * BN * 128, &maps[1], c * 64, n0, b * p.Hkv + hk, kv_full);
            tma_load_3d(sV + c * BN * 128, &maps[2], c * 64, n0, b * p.Hkv + hk, kv_full);
          }
        }
        for (int mi = m_begin; mi < mblocks; ++mi) {
          const int f = mi - m_begin, s = f & 1;
          if (f >= 2) mbar_wait(stage_empty(s), ((f >> 1) - 1) & 1);  // the consumers are done with fill f - 2
          if constexpr (!SIGMOID) {
#pragma unroll
            for (int r = pl; r < BM; r += 32) {
              const int i = mi * BM + r;
              lse_s[s * BM + r] = i < p.Nq ? p.lse[qh + i] : 0.f;
              del_s[s * BM + r] = i < p.Nq && p.delta ? p.delta[qh + i] : 0.f;
            }
          }
          if (pl == 0) {
            mbar_expect_tx(stage_full(s), 2 * BM * D * 2);  // also thread 0's arrival
#pragma unroll
            for (int c = 0; c < D / 64; ++c) {
              tma_load_3d(sQ + s * BM * D * 2 + c * BM * 128, &maps[0], c * 64, mi * BM, b * p.H + h, stage_full(s));
              tma_load_3d(sdO + s * BM * D * 2 + c * BM * 128, &maps[3], c * 64, mi * BM, b * p.H + h, stage_full(s));
            }
          } else {
            mbar_arrive(stage_full(s));
          }
        }
      }
      return;
    }
    setmaxnreg_inc<240>();
  } else {
    load_tile_sw128<BN, D, NT>(sK, gk, n0, kv_len, tid);
    load_tile_sw128<BN, D, NT>(sV, gv, n0, kv_len, tid);
    load_query_block(0, m_begin);
    cp_async_commit();
  }

  float dk[DREG], dv[DREG];
#pragma unroll
  for (int i = 0; i < DREG; ++i) { dk[i] = 0.f; dv[i] = 0.f; }

  const ScoreConstants<T, SIGMOID> sc(p, h);
  const int c0 = (lane % 4) * 2;
  const int key_local0 = wg * 64 + warp * 16 + lane / 4;  // this thread's S^T rows: + 8r
  const int kb = n0 + key_local0;
  const uint32_t k_wg = sK + wg * 64 * 128, v_wg = sV + wg * 64 * 128;
  // dQ halves: D = 128 → warpgroup g takes d columns 64g.. (K sub-tile g) of all BM = 64 queries;
  // D = 64 → queries 64g.. (dS^T sub-tile g) and all 64 d columns.
  const uint32_t dq_a = sdS + (BM == 128 ? wg * BN * 128 : 0);
  const uint32_t dq_b = sK + (BM == 64 ? wg * BN * 128 : 0);
  const int dq_row0 = (BM == 128 ? wg * 64 : 0) + warp * 16 + lane / 4;
  const int dq_col0 = (BM == 64 ? wg * 64 : 0) + c0;

  if constexpr (TMA) mbar_wait(kv_full, 0);
  for (int mi = m_begin; mi < mblocks; ++mi) {
    const int m0 = mi * BM;
    const int buf = (mi - m_begin) & 1;
    if constexpr (TMA) {
      mbar_wait(stage_full(buf), ((mi - m_begin) >> 1) & 1);  // Q/dO(mi) (and LSE/D) landed
      bwd_sync<TMA>();  // the previous block's sdQ is complete; sdS, dp0_s, red_s are free
      if (mi > m_begin) reduce_dq(mi - 1);
    } else {
      cp_async_wait<0>();  // Q/dO(mi) landed (and K/V on the first pass)
      fence_proxy_async();
      __syncthreads();     // ... visible to every thread and to wgmma; the previous block's sdQ is complete
      if (mi > m_begin) reduce_dq(mi - 1);
      if (mi + 1 < mblocks) load_query_block(buf ^ 1, mi + 1);
      cp_async_commit();
    }
    const uint32_t qb = sQ + buf * BM * D * 2, dob = sdO + buf * BM * D * 2;
    uint32_t pf_last[4][4], ds_last[4][4];

    // The block's queries in halves of 64 (one at D = 128, two at D = 64), so the S^T/dP^T accumulators
    // stay m64n64 (32 floats each) beside dK and dV: the registers that keep D = 64 free of spills.
#pragma unroll
    for (int hq = 0; hq < BM / 64; ++hq) {
      const int mh = m0 + 64 * hq;   // first query of this half
      const int col_h = 64 * hq;     // its first column in the block's LSE / D / dS^T arrays
      float s[32], dp[32];
#pragma unroll
      for (int i = 0; i < 32; ++i) { s[i] = sc.s_init; dp[i] = 0.f; }
      reg_fence<32>(s);
      reg_fence<32>(dp);
      wgmma_fence();
#pragma unroll
      for (int kd = 0; kd < KD; ++kd) wgmma_ss<T, 64>(s, desc_kmajor<BN>(k_wg, kd), desc_kmajor<BM>(qb + col_h * 128, kd));
#pragma unroll
      for (int kd = 0; kd < KD; ++kd) wgmma_ss<T, 64>(dp, desc_kmajor<BN>(v_wg, kd), desc_kmajor<BM>(dob + col_h * 128, kd));
      wgmma_commit();
      wgmma_wait<0>();  // (also the previous half's dV/dK)
      reg_fence<32>(s);
      reg_fence<32>(dp);

      // Element (ns, e) of the accumulators: key j = kb + 8r (r = e >> 1), query i = mh + c0 + dc with
      // dc = 8ns + (e & 1). Visible iff j < kv_len, i < Nq and (causal) j <= i + offset, i.e. lo[r] <= dc < hi[r].
      const bool need_mask = n0 + BN > kv_len || mh + 64 > p.Nq || (p.causal && n0 + BN - 1 > mh + offset);
      int lo[2], hi[2];
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        lo[r] = p.causal ? kb + 8 * r - mh - c0 - offset : 0;
        hi[r] = kb + 8 * r < kv_len ? p.Nq - mh - c0 : 0;
      }
      const float dist0 = static_cast<float>(mh + c0 + offset - kb);  // ALiBi: |i + offset - j| = |dist0 + dc - 8r|

#pragma unroll
      for (int ns = 0; ns < 8; ++ns)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int r = e >> 1, dc = ns * 8 + (e & 1);
          float y;
          if constexpr (SIGMOID) {
            float x = s[4 * ns + e];
            if (p.alibi) x -= sc.alibi_acc * fabsf(dist0 + static_cast<float>(dc - 8 * r));
            y = sc.sigmoid(x);
          } else {
            // A row with no visible key has LSE = -inf and x = +inf here, but all its elements are masked
            // (need_mask holds for its block) and the select below makes them 0.
            float x = s[4 * ns + e] * sc.scale_log2 - lse_s[buf * BM + col_h + c0 + dc] * 1.4426950408889634f;
            if (p.alibi) x -= sc.alibi_log2 * fabsf(dist0 + static_cast<float>(dc - 8 * r));
            y = exp2_approx(x);
          }
          if (need_mask) y = dc >= lo[r] && dc < hi[r] ? y : 0.f;
          s[4 * ns + e] = y;
        }

      if constexpr (SIGMOID) {
#pragma unroll
        for (int i = 0; i < 32; ++i) dp[i] = s[i] * (1.f - s[i]) * dp[i] * p.scale;
      } else {
        // Drow per query column: rowsum(dO∘O) from the pre-pass, except for rows whose visible keys all lie in
        // this (first) key block, which take the P-weighted mean of dP anchored at key 0 (flash_bwd.cuh says
        // why). Those rows are a prefix of the queries, so the block-uniform test is on the half's first row.
        const auto visible_end = [&](int i) { return p.causal ? min(kv_len, i + offset + 1) : kv_len; };
        const bool any_local = n0 == 0 && visible_end(mh) <= BN;
        if (any_local) {
          if (tid < 64) { red_s[col_h + tid] = 0.f; red_s[BM + col_h + tid] = 0.f; }
          if (tid < 4) {  // warpgroup 0, warp 0, lanes 0-3 hold key 0 (r = 0)
#pragma unroll
            for (int ns = 0; ns < 8; ++ns) { dp0_s[col_h + ns * 8 + c0] = dp[4 * ns]; dp0_s[col_h + ns * 8 + c0 + 1] = dp[4 * ns + 1]; }
          }
          bwd_sync<TMA>();
#pragma unroll
          for (int ns = 0; ns < 8; ++ns)
#pragma unroll
            for (int c = 0; c < 2; ++c) {
              const int col = col_h + ns * 8 + c0 + c;
              const float d0 = dp0_s[col];
              // Shared-memory atomics straight from every lane (no shuffle tree): this path runs for at most
              // two query blocks of key block 0, and the shuffles' temporaries cost the main loop a spill.
              atomicAdd(&red_s[col], s[4 * ns + c] * (dp[4 * ns + c] - d0) + s[4 * ns + 2 + c] * (dp[4 * ns + 2 + c] - d0));
              atomicAdd(&red_s[BM + col], s[4 * ns + c] + s[4 * ns + 2 + c]);
            }
          bwd_sync<TMA>();
          // The local rows' Drow replaces the pre-pass value in this block's D buffer, so the dS step below
          // is the same code for every row (a per-column branch there cost the main loop a register spill).
          if (tid < 64 && visible_end(mh + tid) <= BN) {
            // rowsum = 0: no visible key (P = 0, so dS = 0 whatever Drow is, as long as it is finite).
            const float rs = red_s[BM + col_h + tid];
            del_s[buf * BM + col_h + tid] = dp0_s[col_h + tid] + (rs > 0.f ? red_s[col_h + tid] / rs : 0.f);
          }
          bwd_sync<TMA>();
        }
#pragma unroll
        for (int ns = 0; ns < 8; ++ns)
#pragma unroll
          for (int c = 0; c < 2; ++c) {
            const float drow = del_s[buf * BM + col_h + ns * 8 + c0 + c];
#pragma unroll
            for (int r = 0; r < 2; ++r) {
              const int e = 2 * r + c;
              dp[4 * ns + e] = s[4 * ns + e] * (dp[4 * ns + e] - drow) * p.scale;
            }
          }
      }

      // P^T and dS^T as wgmma A fragments (accumulator n8 blocks 2k, 2k+1 = k-step k); dS^T also to shared
      // memory for dQ: the packed pair (key key_local0 + 8r; queries col_h + 8ns + c0, +1) at chunk 8hq + ns.
      uint32_t pf[4][4], dsf[4][4];
#pragma unroll
      for (int ks = 0; ks < 4; ++ks)
#pragma unroll
        for (int q = 0; q < 4; ++q) {
          pf[ks][q] = Pack2<T>::from(s[8 * ks + 2 * q], s[8 * ks + 2 * q + 1]);
          dsf[ks][q] = Pack2<T>::from(dp[8 * ks + 2 * q], dp[8 * ks + 2 * q + 1]);
          const int ns = 2 * ks + (q >> 1), r = q & 1;
          asm volatile("st.shared.b32 [%0], %1;\n" :: "r"(sdS + sw128_offset<BN>(key_local0 + 8 * r, 8 * hq + ns) + c0 * 2), "r"(dsf[ks][q]));
        }

      reg_fence<DREG>(dv);
      reg_fence<DREG>(dk);
      wgmma_fence();
      // B = this half's 64 rows of dO / Q, read MN-major: k-step ks of the half is k-step 4hq + ks of the tile.
#pragma unroll
      for (int ks = 0; ks < 4; ++ks) wgmma_rs_tb<T, D>(dv, pf[ks], desc_mnmajor<BM>(dob, 4 * hq + ks));
#pragma unroll
      for (int ks = 0; ks < 4; ++ks) wgmma_rs_tb<T, D>(dk, dsf[ks], desc_mnmajor<BM>(qb, 4 * hq + ks));
      wgmma_commit();
      if (hq + 1 == BM / 64) {
        // The last half's A registers are read while dQ runs: kept live until the wait below.
#pragma unroll
        for (int ks = 0; ks < 4; ++ks) {
          pf_last[ks][0] = pf[ks][0]; pf_last[ks][1] = pf[ks][1]; pf_last[ks][2] = pf[ks][2]; pf_last[ks][3] = pf[ks][3];
          ds_last[ks][0] = dsf[ks][0]; ds_last[ks][1] = dsf[ks][1]; ds_last[ks][2] = dsf[ks][2]; ds_last[ks][3] = dsf[ks][3];
        }
      } else {
        wgmma_wait<0>();
        reg_fence<DREG>(dv);
        reg_fence<DREG>(dk);
        keep_live(pf);
        keep_live(dsf);
      }
    }

    if (tid < BM) bulk_wait_read();  // the previous block's dQ reduce is done reading sdQ
    fence_proxy_async();             // dS^T (st.shared) is read next by wgmma
    bwd_sync<TMA>();                 // dS^T complete from both warpgroups; sdQ free

    float dq[32];
#pragma unroll
    for (int i = 0; i < 32; ++i) dq[i] = 0.f;
    reg_fence<32>(dq);
    wgmma_fence();
#pragma unroll
    for (int ks = 0; ks < KN; ++ks) wgmma_ss_tt<T, 64>(dq, desc_mnmajor<BN>(dq_a, ks), desc_mnmajor<BN>(dq_b, ks));
    wgmma_commit();
    wgmma_wait<0>();  // dQ, and this block's dV/dK
    reg_fence<32>(dq);
    reg_fence<DREG>(dv);
    reg_fence<DREG>(dk);
    // The A registers are read asynchronously: keep them live (unreused) until the wait.
    keep_live(pf_last);
    keep_live(ds_last);
    // TMA: every read of this block's stage (Q, dO by the GEMMs just waited for; LSE, D) is done. Every consumer
    // thread arrives, in uniform code (a lane-0-only arrive made ptxas serialise the forward's wgmmas).
    if constexpr (TMA) mbar_arrive(stage_empty(buf));

#pragma unroll
    for (int ns = 0; ns < 8; ++ns)
#pragma unroll
      for (int r = 0; r < 2; ++r)
        asm volatile("st.shared.v2.f32 [%0], {%1, %2};\n"
                     :: "r"(sdQ + (dq_row0 + 8 * r) * QROW + (dq_col0 + ns * 8) * 4), "f"(dq[4 * ns + 2 * r]), "f"(dq[4 * ns + 2 * r + 1]));
    fence_proxy_async();  // sdQ is read next by the bulk copy engine
  }
  if constexpr (!TMA) cp_async_wait<0>();
  bwd_sync<TMA>();
  reduce_dq(mblocks - 1);
  if (tid < BM) bulk_wait_read();  // shared memory must outlive the copy engine's reads

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int j = kb + 8 * r;
    if (j < p.Nk) {
      float* dkp = p.dk_acc + (kh + j) * D + c0;
      float* dvp = p.dv_acc + (kh + j) * D + c0;
#pragma unroll
      for (int dn = 0; dn < D / 8; ++dn) {
        atomic_add2(dkp + dn * 8, dk[4 * dn + 2 * r], dk[4 * dn + 2 * r + 1]);
        atomic_add2(dvp + dn * 8, dv[4 * dn + 2 * r], dv[4 * dn + 2 * r + 1]);
      }
    }
  }
}

// Entry + config global {BM, BN, threads, smem} (the convention of every attention kernel here).
#define HOPPER_BWD_ENTRY(NAME, T, D, BM, SIGMOID)                                                  \
  extern "C" __global__ void __launch_bounds__(256, 1) NAME(const __grid_constant__ BwdParams p) {  \
    hopper_bwd<T, D, BM, SIGMOID>(p);                                                              \
  }                                                                                                \
  extern "C" __device__ const int NAME##_cfg[4] = {BM, 128, 256, hopper_bwd_smem_bytes<D, BM>()};
