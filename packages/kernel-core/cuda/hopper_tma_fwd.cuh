// Hopper (sm_90a) forward with the bulk tensor copy engine (TMA) and warp specialisation, shared by
// FlashSigmoid and FlashSoftmax (D = 64 and 128).
//
// CTA = 1 + NCWG warpgroups. Warpgroup 0 is the producer: it gives most of its registers away (setmaxnreg)
// and one of its threads issues every copy — Q once, then K(j) and V(j) into a ring of STAGES shared-memory
// stages, each copy a 3-D tensor-map box in the 128-byte swizzled layout wgmma reads, completing on an
// mbarrier (expect_tx). The NCWG consumers own 64 query rows each and run the main loop of hopper_fwd.cuh's
// pipelined path (S(j+1) = Q K(j+1)^T and P(j)·V(j) in flight while the element-wise step of tile j+1 runs)
// without a CTA barrier: a consumer waits on the stage's "K full" / "V full" mbarriers and, once its
// P(j)·V(j) has completed, each of its threads arrives on the stage's "empty" mbarrier, which the producer
// waits on before refilling the stage.
// PINGPONG (2 consumers): the consumers take turns issuing their GEMMs (two named barriers), so the tensor
// cores run one warpgroup's S(j+1) and P(j)·V(j) while the other computes its element-wise step
// (FlashAttention-3's inter-warpgroup schedule). Without it the consumers drift freely.
// Shipped (H200 tune, benchmarks/cuda/tuning/h200-2026-12-01-tma-fwd-pingpong-d64): D = 128 two consumers
// with ping-pong (softmax +6–9 % at N ≥ 4k, sigmoid ±3 %); D = 64 three consumers (BM = 192) without, the
// consumers' 160 registers leaving no room for a fourth.
// Rows past Nq / keys past Nk are outside the tensor map's box range and arrive as zeros (per head, since
// the map is 3-D: [B·heads, N, D]); masking is score_tile()'s, as in every forward.
#pragma once
#include "hopper_fwd.cuh"

// The kernel's one argument; mirrored by packTmaFwdParams in src/cuda/flash.ts (maps at 0, 128, 256;
// FwdParams at 384; 512 bytes in all).
struct TmaFwdParams {
  TensorMap q;  // [B·H, Nq, D], box {64, BM, 1}
  TensorMap k;  // [B·Hkv, Nk, D], box {64, BN, 1}
  TensorMap v;  // as k
  FwdParams f;
};

template <int D, int BN, int NCWG, int STAGES>
__host__ __device__ constexpr int hopper_tma_fwd_smem_bytes() {
  return (64 * NCWG + 2 * STAGES * BN) * D * 2 + 1024 + 1024;  // Q, K and V stages; barriers; 1024-byte alignment
}

// Registers per thread after setmaxnreg: the producer keeps 24, the consumers split the rest of the 64K
// register file (multiples of 8; 2 consumers: 24 + 2·240 ≤ 3·170, 3 consumers: 24 + 3·160 ≤ 4·128).
template <int NCWG>
__host__ __device__ constexpr int tma_fwd_consumer_regs() {
  static_assert(NCWG == 2 || NCWG == 3, "2 or 3 consumer warpgroups");
  return NCWG == 2 ? 240 : 160;
}

template <typename T, int D, int BN, int NCWG, int STAGES, bool PINGPONG, bool SIGMOID>
__device__ __forceinline__ void hopper_tma_fwd(const TmaFwdParams& tp) {
  const FwdParams& p = tp.f;
  constexpr int BM = 64 * NCWG;
  static_assert(!PINGPONG || NCWG == 2, "ping-pong alternates two consumer warpgroups");
  constexpr int KS = HopperFwdRows<T, D, BN, BM, SIGMOID>::KS;
  constexpr uint32_t TILE_K = BN * D * 2;  // bytes of one K (or V) stage

  extern __shared__ __align__(128) uint8_t smem_raw[];
  const uint32_t sQ = (smem_u32(smem_raw) + 1023u) & ~1023u;
  const uint32_t sK = sQ + BM * D * 2;           // STAGES stages
  const uint32_t sV = sK + STAGES * TILE_K;      // STAGES stages
  const uint32_t bars = sV + STAGES * TILE_K;    // q_full, then per stage k_full, v_full, empty
  const uint32_t q_full = bars;
  // (indexed by stage s = block % STAGES; phase(j) below is the block's fill count parity)
  const auto k_full = [&](int s) { return bars + 8 * (1 + 3 * s); };
  const auto v_full = [&](int s) { return bars + 8 * (2 + 3 * s); };
  const auto empty = [&](int s) { return bars + 8 * (3 + 3 * s); };

  const int tid = threadIdx.x, wg = tid / 128, warp = (tid / 32) % 4, lane = tid % 32;
  const FwdBlock blk = fwd_block(p, BM);
  const int h = blk.h, b = blk.b, hk = blk.hk, m0 = blk.m0;
  const KeyRange kr = key_range(p, b, m0, BM);
  const int nblocks = (kr.n_end + BN - 1) / BN;

  if (tid == 0) {
    mbar_init(q_full, 1);
    for (int s = 0; s < STAGES; ++s) {
      mbar_init(k_full(s), 1);
      mbar_init(v_full(s), 1);
      mbar_init(empty(s), 128 * NCWG);  // every consumer thread arrives
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();

  if (wg == 0) {
    setmaxnreg_dec<24>();
    if (tid == 0) {
      mbar_expect_tx(q_full, BM * D * 2);
#pragma unroll
      for (int c = 0; c < D / 64; ++c) tma_load_3d(sQ + c * BM * 128, &tp.q, c * 64, m0, b * p.H + h, q_full);
      for (int j = 0; j < nblocks; ++j) {
        const int s = j % STAGES;
        if (j >= STAGES) mbar_wait(empty(s), ((j / STAGES) - 1) & 1);
        mbar_expect_tx(k_full(s), TILE_K);
#pragma unroll
        for (int c = 0; c < D / 64; ++c) tma_load_3d(sK + s * TILE_K + c * BN * 128, &tp.k, c * 64, j * BN, b * p.Hkv + hk, k_full(s));
        mbar_expect_tx(v_full(s), TILE_K);
#pragma unroll
        for (int c = 0; c < D / 64; ++c) tma_load_3d(sV + s * TILE_K + c * BN * 128, &tp.v, c * 64, j * BN, b * p.Hkv + hk, v_full(s));
      }
    }
    return;
  }

  setmaxnreg_inc<tma_fwd_consumer_regs<NCWG>()>();
  const int cwg = wg - 1;  // consumer warpgroup: query rows 64·cwg..
  const auto kbuf = [&](int j) { return sK + (j % STAGES) * TILE_K; };
  const auto vbuf = [&](int j) { return sV + (j % STAGES) * TILE_K; };
  const auto phase = [&](int j) { return static_cast<uint32_t>((j / STAGES) & 1); };

  HopperFwdRows<T, D, BN, BM, SIGMOID> rows(p, kr, h, m0, cwg, warp, lane, sQ);
  uint32_t pf[KS][4];
  mbar_wait(q_full, 0);  // also when no key block is visible: the CTA must not exit with the copy in flight
  if (nblocks > 0) {
    mbar_wait(k_full(0), 0);
    rows.first_tile(pf, kbuf(0));
  }
  const auto step = [&](int j, auto more_tag) {
    constexpr bool more = decltype(more_tag)::value;
    const auto before_issue = [&] {
      // Both waits before the first issue: a wait loop between two wgmma groups makes ptxas serialise them.
      if constexpr (more) mbar_wait(k_full((j + 1) % STAGES), phase(j + 1));
      mbar_wait(v_full(j % STAGES), phase(j));
      // Ping-pong: the warpgroups take turns issuing their GEMMs (barrier 1 + cwg is this warpgroup's turn), so
      // the tensor cores run one warpgroup's S(j+1) and P(j)·V(j) while the other runs its element-wise step.
      if constexpr (PINGPONG) named_bar_sync(1 + cwg, 256);
    };
    // Hand the turn over; warpgroup 1's last step has no later turn of warpgroup 0 to hand to.
    const auto after_issue = [&] {
      if constexpr (PINGPONG) {
        if (more || cwg == 0) named_bar_arrive(2 - cwg, 256);
      }
    };
    // Stage j (K(j), read by S(j) long since, and V(j)) is free once this warpgroup's P(j)·V(j) is done: every
    // consumer thread arrives (a lane-0-only arrive, a divergent branch here, made ptxas serialise the wgmmas).
    const auto pv_done = [&] { mbar_arrive(empty(j % STAGES)); };
    rows.template pipelined_step<more>(j, pf, kbuf(j + 1), vbuf(j), before_issue, after_issue, pv_done);
  };
  // Warpgroup 0 takes the first turn (both warpgroups walk the same nblocks key blocks).
  if constexpr (PINGPONG) {
    if (cwg == 1 && nblocks > 0) named_bar_arrive(1, 256);
  }
  for (int j = 0; j + 1 < nblocks; ++j) step(j, std::true_type{});
  if (nblocks > 0) step(nblocks - 1, std::false_type{});
  rows.store(b, h);
}

// Entry + config {BM, BN, threads, smem}: the producer warpgroup + NCWG consumers (64 query rows each).
#define HOPPER_TMA_FWD_ENTRY(NAME, T, D, BN, NCWG, STAGES, PINGPONG, SIGMOID)                                   \
  extern "C" __global__ void __launch_bounds__(128 * ((NCWG) + 1), 1) NAME(const __grid_constant__ TmaFwdParams p) { \
    hopper_tma_fwd<T, D, BN, NCWG, STAGES, PINGPONG, SIGMOID>(p);                                             \
  }                                                                                                           \
  extern "C" __device__ const int NAME##_cfg[4] = {64 * (NCWG), BN, 128 * ((NCWG) + 1),                        \
                                                   hopper_tma_fwd_smem_bytes<D, BN, NCWG, STAGES>()};
