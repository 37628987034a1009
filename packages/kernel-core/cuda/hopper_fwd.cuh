// Hopper (sm_90a) forward main loop shared by FlashSigmoid and FlashSoftmax: warpgroup MMA.
//
// CTA = NWG warpgroups (128 threads each) over a BM = 64·NWG query block; warpgroup g owns rows
// 64g..64g+63. Q (once) and the K/V tiles (BN keys, double-buffered) stream into shared memory with
// cp.async in the 128-byte swizzled layout that wgmma reads through matrix descriptors. Per key tile:
//   S = Q K^T   wgmma m64nBNk16, A and B from shared memory (both K-major), D/16 k-steps
//   P = σ(S) or the online-softmax exp2, masking, exactly the element-wise code of the FA2 kernels
//               (score_tile, flash_common.cuh): the wgmma accumulator layout per warp is the m16n8 C
//               layout, so the same lane/row/column mapping applies
//   O += P V    wgmma m64nDk16, P from registers (the S accumulators packed to 16-bit are the A
//               fragments, no shared-memory round trip), V from shared memory read MN-major
// PIPELINE (chosen per head dim, the same for both kinds): software-pipelined inside each warpgroup
// (FlashAttention-3's intra-warpgroup overlap): iteration j issues S(j+1) = Q K(j+1)^T and then
// O += P(j) V(j), waits for S(j+1) only, and runs the element-wise step of tile j+1 while P(j)·V(j) is
// still on the tensor cores; softmax's rescale of O by the new row max waits until that GEMM has
// completed. One CTA barrier per tile (it publishes K(j+1) and V(j), and frees the buffers the next
// prefetch overwrites). Otherwise serial: S, wait, element-wise, P·V, wait, two barriers per tile.
// Measured on the H200 (2026-12-01): pipelined +3–10 % at D = 128 for both kinds (N ≥ 2k); at D = 64, where
// two CTAs per SM already overlap each other, sigmoid +0–11 % but softmax 0–9 % slower: D = 64 stays serial.
// Loads are issued by every thread (as in the FA2 kernels) one tile ahead; where registers and shared memory
// allow several CTAs per SM (D = 64: MINB = 2), the CTAs also overlap one another's element-wise steps and
// GEMMs. This kernel runs short rows; long ones run the TMA + warp-specialised kernel (hopper_tma_fwd.cuh),
// whose consumer warpgroups use the same HopperFwdRows below.
#pragma once
#include "hopper_common.cuh"

// One warpgroup's 64 query rows of a Hopper forward: the O accumulator, the online-softmax state and the steps
// every Hopper forward runs on them — this file's cp.async kernel and hopper_tma_fwd.cuh's TMA one. How the K/V
// tiles arrive and the synchronisation around them are each kernel's own (the hooks of pipelined_step).
template <typename T, int D, int BN, int BM, bool SIGMOID>
struct HopperFwdRows {
  static constexpr int NS = BN / 8;    // n8 blocks of S per warp
  static constexpr int DN = D / 8;     // n8 blocks of O per warp
  static constexpr int SREG = BN / 2;  // S accumulator floats per thread
  static constexpr int OREG = D / 2;   // O accumulator floats per thread
  static constexpr int KD = D / 16, KS = BN / 16;
  static_assert(D % 64 == 0 && BN % 64 == 0 && BN <= 256, "tiles must be whole 128-byte swizzle sub-tiles");

  const FwdParams& p;
  const KeyRange& kr;
  const ScoreConstants<T, SIGMOID> sc;
  const int m0, lane, row_base;  // row_base: this thread's first row (+ 8 for the second)
  const uint32_t q_wg;           // this warpgroup's 64 rows of each Q sub-tile
  float o[OREG];
  float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.f, 0.f};

  // wg: the warpgroup's index among those computing (its rows are m0 + 64·wg ..).
  __device__ __forceinline__ HopperFwdRows(const FwdParams& p_, const KeyRange& kr_, int h, int m0_, int wg, int warp, int lane_, uint32_t sQ)
      : p(p_), kr(kr_), sc(p_, h), m0(m0_), lane(lane_), row_base(m0_ + wg * 64 + warp * 16 + lane_ / 4), q_wg(sQ + wg * 64 * 128) {
#pragma unroll
    for (int i = 0; i < OREG; ++i) o[i] = 0.f;
  }

  // S = Q K^T for the K tile at kbuf, issued as one committed wgmma group (the caller waits).
  __device__ __forceinline__ void issue_qk(float (&s)[SREG], uint32_t kbuf) const {
#pragma unroll
    for (int i = 0; i < SREG; ++i) s[i] = sc.s_init;
    reg_fence<SREG>(s);
    wgmma_fence();
#pragma unroll
    for (int kd = 0; kd < KD; ++kd) wgmma_ss<T, BN>(s, desc_kmajor<BM>(q_wg, kd), desc_kmajor<BN>(kbuf, kd));
    wgmma_commit();
  }

  // The element-wise step of key tile j on its completed S, packed to 16-bit A fragments; softmax returns the
  // factor O must be scaled by (rescale(), applied once O is not in flight).
  __device__ __forceinline__ void score_and_pack(float (&s)[SREG], int j, uint32_t (&pf)[KS][4], float (&alpha)[2]) {
    const int n0 = j * BN;
    const bool need_mask = n0 + BN > kr.kv_len || (p.causal && n0 + BN - 1 > m0 + kr.offset);
    // score_tile rescales an O tile by the row factor; a one-block stand-in of ones captures the factor.
    float one[1][4] = {{1.f, 1.f, 1.f, 1.f}};
    score_tile<SIGMOID, T, NS, 1>(reinterpret_cast<float(&)[NS][4]>(s), one, row_max, row_sum, p, kr, row_base, lane, n0,
                                  need_mask, sc);
    alpha[0] = one[0][0];
    alpha[1] = one[0][2];
    // S accumulator layout == wgmma register-A layout: n8 blocks 2k and 2k+1 form k-step k.
#pragma unroll
    for (int ks = 0; ks < KS; ++ks) {
      pf[ks][0] = Pack2<T>::from(s[8 * ks + 0], s[8 * ks + 1]);
      pf[ks][1] = Pack2<T>::from(s[8 * ks + 2], s[8 * ks + 3]);
      pf[ks][2] = Pack2<T>::from(s[8 * ks + 4], s[8 * ks + 5]);
      pf[ks][3] = Pack2<T>::from(s[8 * ks + 6], s[8 * ks + 7]);
    }
  }

  // O += P V for the V tile at vbuf (read MN-major), issued as one committed wgmma group.
  __device__ __forceinline__ void issue_pv(const uint32_t (&pf)[KS][4], uint32_t vbuf) {
    reg_fence<OREG>(o);
    wgmma_fence();
#pragma unroll
    for (int ks = 0; ks < KS; ++ks) wgmma_rs_tb<T, D>(o, pf[ks], desc_mnmajor<BN>(vbuf, ks));
    wgmma_commit();
  }

  __device__ __forceinline__ void rescale(const float (&alpha)[2]) {
    if constexpr (!SIGMOID) {
#pragma unroll
      for (int dn = 0; dn < DN; ++dn)
#pragma unroll
        for (int e = 0; e < 4; ++e) o[dn * 4 + e] *= alpha[e >> 1];
    }
  }

  // S(0) and its element-wise step (O is 0: nothing to rescale), once K(0) is in shared memory.
  __device__ __forceinline__ void first_tile(uint32_t (&pf)[KS][4], uint32_t kbuf0) {
    float s[SREG];
    float alpha[2];
    issue_qk(s, kbuf0);
    wgmma_wait<0>();
    reg_fence<SREG>(s);
    score_and_pack(s, 0, pf, alpha);
  }

  // Iteration j of the software-pipelined loop: issue S(j+1) = Q K(j+1)^T (MORE: every iteration but the last) and
  // O += P(j) V(j), wait for S(j+1) only and run its element-wise step while P(j)·V(j) is on the tensor cores,
  // then wait for P(j)·V(j) and (softmax) rescale O. The kernel's hooks: before_issue() when K(j+1) and V(j) must
  // be in shared memory, after_issue() right after both groups are committed, pv_done() once P(j)·V(j) has
  // completed (V(j) and P(j)'s registers are free). MORE is a compile-time constant: a run-time branch around
  // the wgmma groups made ptxas serialise them.
  template <bool MORE, typename BeforeIssue, typename AfterIssue, typename PvDone>
  __device__ __forceinline__ void pipelined_step(int j, uint32_t (&pf)[KS][4], uint32_t kbuf_next, uint32_t vbuf,
                                                 BeforeIssue before_issue, AfterIssue after_issue, PvDone pv_done) {
    before_issue();
    float s[SREG];
    if constexpr (MORE) issue_qk(s, kbuf_next);
    issue_pv(pf, vbuf);
    after_issue();
    uint32_t pf_next[KS][4];
    float alpha_next[2];
    if constexpr (MORE) {
      wgmma_wait<1>();  // S(j+1) done; P(j)·V(j) may still run under the element-wise step below
      reg_fence<SREG>(s);
      score_and_pack(s, j + 1, pf_next, alpha_next);
    }
    wgmma_wait<0>();
    reg_fence<OREG>(o);
    // P(j) was read asynchronously: keep its registers live (unreused) until the wait.
    keep_live(pf);
    pv_done();
    if constexpr (MORE) {
      rescale(alpha_next);
#pragma unroll
      for (int ks = 0; ks < KS; ++ks)
#pragma unroll
        for (int q = 0; q < 4; ++q) pf[ks][q] = pf_next[ks][q];
    }
  }

  // O (softmax: divided by the row sums, and the natural-log LSE) to global memory for head (b, h).
  __device__ __forceinline__ void store(int b, int h) const {
    uint16_t* go = static_cast<uint16_t*>(p.o) + (static_cast<size_t>(b) * p.H + h) * p.Nq * D;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int i = row_base + r * 8;
      float inv = 1.f;
      if constexpr (!SIGMOID) {
        float l = row_sum[r];
        l += __shfl_xor_sync(0xffffffffu, l, 1);
        l += __shfl_xor_sync(0xffffffffu, l, 2);
        inv = l > 0.f ? 1.f / l : 0.f;
        if (p.lse && i < p.Nq && (lane % 4) == 0) {
          const float m = row_max[r] == -INFINITY ? 0.f : row_max[r];
          p.lse[(static_cast<size_t>(b) * p.H + h) * p.Nq + i] = l > 0.f ? (m + __log2f(l)) * 0.6931471805599453f : -INFINITY;
        }
      }
      if (i < p.Nq) {
#pragma unroll
        for (int dn = 0; dn < DN; ++dn) {
          const int col = dn * 8 + (lane % 4) * 2;
          *reinterpret_cast<uint32_t*>(go + static_cast<size_t>(i) * D + col) =
              Pack2<T>::from(o[dn * 4 + 2 * r] * inv, o[dn * 4 + 2 * r + 1] * inv);
        }
      }
    }
  }
};

template <typename T, int D, int BN, int NWG, bool PIPELINE, bool SIGMOID>
__device__ __forceinline__ void hopper_fwd(const FwdParams& p) {
  constexpr int BM = 64 * NWG;
  constexpr int NT = 128 * NWG;
  using Rows = HopperFwdRows<T, D, BN, BM, SIGMOID>;
  constexpr int SREG = Rows::SREG, KS = Rows::KS;

  extern __shared__ __align__(128) uint8_t smem_raw[];
  // Swizzle atoms must sit on 1024-byte boundaries (descriptor base offset 0); the host adds 1 KB.
  const uint32_t sQ = (smem_u32(smem_raw) + 1023u) & ~1023u;
  const uint32_t sK = sQ + BM * D * 2;
  const uint32_t sV = sK + 2 * BN * D * 2;

  const int tid = threadIdx.x, wg = tid / 128, warp = (tid / 32) % 4, lane = tid % 32;
  const FwdBlock blk = fwd_block(p, BM);
  const int h = blk.h, b = blk.b, hk = blk.hk, m0 = blk.m0;

  const uint16_t* gq = static_cast<const uint16_t*>(p.q) + (static_cast<size_t>(b) * p.H + h) * p.Nq * D;
  const uint16_t* gk = static_cast<const uint16_t*>(p.k) + (static_cast<size_t>(b) * p.Hkv + hk) * p.Nk * D;
  const uint16_t* gv = static_cast<const uint16_t*>(p.v) + (static_cast<size_t>(b) * p.Hkv + hk) * p.Nk * D;

  const KeyRange kr = key_range(p, b, m0, BM);
  const int nblocks = (kr.n_end + BN - 1) / BN;
  const auto kbuf = [&](int j) { return sK + (j & 1) * BN * D * 2; };
  const auto vbuf = [&](int j) { return sV + (j & 1) * BN * D * 2; };

  Rows rows(p, kr, h, m0, wg, warp, lane, sQ);
  if constexpr (PIPELINE) {
    // Prologue: Q, K(0), V(0), K(1) in one cp.async group; S(0) and its element-wise step.
    load_tile_sw128<BM, D, NT>(sQ, gq, m0, p.Nq, tid);
    if (nblocks > 0) {
      load_tile_sw128<BN, D, NT>(kbuf(0), gk, 0, kr.kv_len, tid);
      load_tile_sw128<BN, D, NT>(vbuf(0), gv, 0, kr.kv_len, tid);
    }
    if (nblocks > 1) load_tile_sw128<BN, D, NT>(kbuf(1), gk, BN, kr.kv_len, tid);
    cp_async_commit();
    uint32_t pf[KS][4];
    if (nblocks > 0) {
      cp_async_wait<0>();
      fence_proxy_async();
      __syncthreads();
      rows.first_tile(pf, kbuf(0));
    }
    const auto step = [&](int j, auto more_tag) {
      constexpr bool more = decltype(more_tag)::value;
      // One CTA barrier per tile: K(j+1) and V(j) landed (the previous iteration's group); every warpgroup is
      // past its P(j-1)·V(j-1) and S(j) GEMMs, so K(j)'s and V(j-1)'s buffers are free for K(j+2) and V(j+1).
      const auto before_issue = [&] {
        cp_async_wait<0>();
        fence_proxy_async();
        __syncthreads();
        if (j + 2 < nblocks) load_tile_sw128<BN, D, NT>(kbuf(j), gk, (j + 2) * BN, kr.kv_len, tid);
        if constexpr (more) load_tile_sw128<BN, D, NT>(vbuf(j + 1), gv, (j + 1) * BN, kr.kv_len, tid);
        cp_async_commit();
      };
      rows.template pipelined_step<more>(j, pf, kbuf(j + 1), vbuf(j), before_issue, [] {}, [] {});
    };
    for (int j = 0; j + 1 < nblocks; ++j) step(j, std::true_type{});
    if (nblocks > 0) step(nblocks - 1, std::false_type{});
  } else {
    // Serial: per tile, S = Q K(j)^T, wait, element-wise, P·V(j), wait (two barriers per tile; K(j+1) and
    // V(j+1) are copied while this tile computes).
    load_tile_sw128<BM, D, NT>(sQ, gq, m0, p.Nq, tid);
    cp_async_commit();
    if (nblocks > 0) load_tile_sw128<BN, D, NT>(kbuf(0), gk, 0, kr.kv_len, tid);
    cp_async_commit();
    if (nblocks > 0) load_tile_sw128<BN, D, NT>(vbuf(0), gv, 0, kr.kv_len, tid);
    cp_async_commit();  // (empty groups keep the wait counts uniform)
    for (int j = 0; j < nblocks; ++j) {
      cp_async_wait<1>();  // K(j) landed (and Q on the first pass); V(j) may still be in flight
      fence_proxy_async();
      __syncthreads();
      if (j + 1 < nblocks) load_tile_sw128<BN, D, NT>(kbuf(j + 1), gk, (j + 1) * BN, kr.kv_len, tid);
      cp_async_commit();
      float s[SREG];
      rows.issue_qk(s, kbuf(j));
      wgmma_wait<0>();
      reg_fence<SREG>(s);
      uint32_t pf[KS][4];
      float alpha[2];
      rows.score_and_pack(s, j, pf, alpha);
      rows.rescale(alpha);
      cp_async_wait<1>();  // V(j) landed; K(j+1) may still be in flight
      fence_proxy_async();
      __syncthreads();
      rows.issue_pv(pf, vbuf(j));
      wgmma_wait<0>();
      reg_fence<Rows::OREG>(rows.o);
      keep_live(pf);
      if (j + 1 < nblocks) load_tile_sw128<BN, D, NT>(vbuf(j + 1), gv, (j + 1) * BN, kr.kv_len, tid);
      cp_async_commit();
    }
  }
  cp_async_wait<0>();
  rows.store(b, h);
}

// Entry + launch config {BM, BN, threads, dynamic smem bytes} as a device global, the convention of
// the FA2 kernels (flash_fwd.cuh), so the host loads both families the same way.
#define HOPPER_FWD_ENTRY(NAME, T, D, BN, NWG, MINB, PIPELINE, SIGMOID)                             \
  extern "C" __global__ void __launch_bounds__((NWG) * 128, MINB) NAME(const __grid_constant__ FwdParams p) { \
    hopper_fwd<T, D, BN, NWG, PIPELINE, SIGMOID>(p);                                                       \
  }                                                                                              \
  extern "C" __device__ const int NAME##_cfg[4] = {64 * (NWG), BN, (NWG) * 128, (64 * (NWG) + 4 * (BN)) * (D) * 2 + 1024};
