// Hopper (sm_90a) backward with the bulk tensor copy engine (TMA) and warp specialisation, shared by
// FlashSigmoid and FlashSoftmax (D = 64 and 128, the tiles of hopper_bwd.cuh).
//
// CTA = 3 warpgroups, 384 threads. Warpgroup 0 is the producer (setmaxnreg down to 24 registers): thread 0
// issues K and V of the CTA's 128 keys once (one "K/V full" mbarrier), then Q(mi) and dO(mi) of each query
// block into a ring of 2 stages, as 3-D tensor-map boxes in the 128-byte swizzled layout wgmma reads,
// completing on the stage's "full" mbarrier (expect_tx); for softmax, warp 0's lanes store the block's LSE
// and D rows into the stage and arrive on the same barrier. Before refilling a stage the producer waits on
// its "empty" mbarrier, on which every consumer thread arrives once the block's GEMMs that read it have
// completed. Warpgroups 1 and 2 (setmaxnreg up to 240) are the consumers and run hopper_bwd.cuh's main
// loop unchanged (the TMA instantiation of hopper_bwd<>): the same GEMMs, element-wise step, dS^T tile and
// bulk dQ reduce, with the CTA barriers replaced by a named barrier over their 256 threads.
// Rows past Nq / keys past Nk are outside the tensor maps' box range and arrive as zeros (per head: the maps
// are 3-D, [B·heads, N, D]); keys in [key_lens[b], Nk) arrive as the tensor's values rather than zeros, which
// is the same result for finite inputs (their P and dS are masked to exactly 0), as in the TMA forward.
#pragma once
#include <stddef.h>
#include "hopper_bwd.cuh"

// The kernel's one argument; mirrored by packTmaBwdParams in src/cuda/flash.ts (maps at 0, 128, 256, 384;
// BwdParams at 512; 640 bytes in all, the struct being 64-byte aligned).
struct TmaBwdParams {
  // q [B·H, Nq, D] with boxes {64, BM, 1}; k, v [B·Hkv, Nk, D] with boxes {64, 128, 1}; dout as q.
  TensorMap maps[4];
  BwdParams b;
};
static_assert(offsetof(TmaBwdParams, b) == 512 && sizeof(BwdParams) == 120 && sizeof(TmaBwdParams) == 640,
              "TmaBwdParams layout is mirrored by packTmaBwdParams in src/cuda/flash.ts");

template <int D, int BM>
__host__ __device__ constexpr int hopper_tma_bwd_smem_bytes() {
  return hopper_bwd_smem_bytes<D, BM>() + 64;  // + the 5 mbarriers (K/V full; full and empty per stage)
}

// Entry + config {BM, BN, threads, smem}: the producer warpgroup + the 2 consumer warpgroups.
#define HOPPER_TMA_BWD_ENTRY(NAME, T, D, BM, SIGMOID)                                                    \
  static_assert(hopper_tma_bwd_smem_bytes<D, BM>() <= 227 * 1024, "TMA backward tiles exceed 227 KB");   \
  extern "C" __global__ void __launch_bounds__(384, 1) NAME(const __grid_constant__ TmaBwdParams p) {     \
    hopper_bwd<T, D, BM, SIGMOID, true>(p.b, p.maps);                                                    \
  }                                                                                                      \
  extern "C" __device__ const int NAME##_cfg[4] = {BM, 128, 384, hopper_tma_bwd_smem_bytes<D, BM>()};
