// FA2-class forward main loop shared by FlashSigmoid and FlashSoftmax.
//
// CTA = NWARPS warps over a BM-row query block; each warp owns MT = BM/(16*NWARPS) m16 slices.
// Q is loaded once (cp.async); with QREG its mma A fragments stay in registers, otherwise (large
// MT*D, where registers run out) they are re-read from shared memory with ldmatrix each k-step,
// as FlashAttention-2 does. Each K/V fragment feeds MT mmas. K and V tiles (BN keys)
// are double-buffered in padded shared memory: K(j+1) streams in while S(j) = Q K(j)^T and the
// nonlinearity run, V(j+1) streams in while P(j) V(j) runs. S lives in registers and is turned
// into the P A-fragments of the second mma without a round trip through shared memory.
//
// The only difference between the twins is the element-wise step (if constexpr on SIGMOID):
//   sigmoid: acc starts at bias/scale, p = Sigmoid<T>(acc) (flash_common.cuh: tanh for bf16, 1 MUFU;
//            ex2 + rcp for fp16, whose resolution needs it; no row state)
//   softmax: online max/sum with exp2, O rescaled per tile, O /= l and LSE at the end.
#pragma once
#include "flash_common.cuh"

#ifndef FLASH_KD_UNROLL
#define FLASH_KD_UNROLL 1
#endif

// VARLEN: p is VarlenFwdParams::f and cu_q/cu_k its offsets; blockIdx.z is the sequence, whose
// rows start at cu_q[b] / cu_k[b] in the packed [tokens, heads, D] tensors (rows heads*D apart),
// and query blocks past the sequence's own length exit at once. The softmax LSE (when p.lse is set)
// goes to [total_q, H] at row (cu_q[b] + i) * H + h; no key_lens. The dense
// expressions are kept verbatim behind `if constexpr`, so VARLEN = false compiles as before.
template <typename T, int D, int BM, int BN, int NWARPS, bool QREG, bool SIGMOID, bool VARLEN = false>
__device__ __forceinline__ void flash_fwd(const FwdParams& p, const int* cu_q = nullptr, const int* cu_k = nullptr) {
  constexpr int KD_UNROLL = QREG ? D / 16 : FLASH_KD_UNROLL;
  constexpr int NT = NWARPS * 32;
  constexpr int MT = BM / (16 * NWARPS);  // m16 slices per warp
  constexpr int KD = D / 16;              // k-steps of Q K^T over the head dim
  constexpr int NS = BN / 8;              // n8 tiles of S per slice
  constexpr int DN = D / 8;               // n8 tiles of O per slice
  static_assert(MT >= 1 && BM == MT * 16 * NWARPS, "BM must be a multiple of 16*NWARPS");
  static_assert(BN % 16 == 0 && D % 16 == 0, "tile sizes must be multiples of 16");

  extern __shared__ __align__(128) uint8_t smem[];
  const uint32_t sQ = smem_u32(smem);
  constexpr int RB = row_bytes<D>();
  const uint32_t sK = sQ + BM * RB;
  const uint32_t sV = sK + 2 * BN * RB;

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  // Varlen sequence blockIdx.z: first query/key row and lengths (unused when dense).
  int q_start = 0, k_start = 0, seq_q = 0, seq_k = 0;
  if constexpr (VARLEN) {
    q_start = cu_q[blockIdx.z];
    seq_q = cu_q[blockIdx.z + 1] - q_start;
    k_start = cu_k[blockIdx.z];
    seq_k = cu_k[blockIdx.z + 1] - k_start;
  }
  // Query rows of this sequence, and elements between consecutive q/o and k/v rows.
  auto Nq = [&] { if constexpr (VARLEN) return seq_q; else return p.Nq; };
  auto q_stride = [&] { if constexpr (VARLEN) return p.H * D; else return D; };
  auto kv_stride = [&] { if constexpr (VARLEN) return p.Hkv * D; else return D; };
  const int mblocks = (Nq() + BM - 1) / BM;
  if constexpr (VARLEN) {
    if (static_cast<int>(blockIdx.x) >= mblocks) return;  // the grid covers the longest sequence
  }
  // Causal blocks near the end of the sequence do the most work; launch them first.
  const int mb = p.causal ? mblocks - 1 - static_cast<int>(blockIdx.x) : static_cast<int>(blockIdx.x);
  const int h = blockIdx.y, b = blockIdx.z;
  const int hk = h / (p.H / p.Hkv);  // grouped-query attention: query heads share a K/V head
  const int m0 = mb * BM;

  const uint16_t* gq;
  const uint16_t* gk;
  const uint16_t* gv;
  uint16_t* go;
  KeyRange kr;
  if constexpr (VARLEN) {
    const size_t q_off = static_cast<size_t>(q_start) * q_stride() + static_cast<size_t>(h) * D;
    const size_t kv_off = static_cast<size_t>(k_start) * kv_stride() + static_cast<size_t>(hk) * D;
    gq = static_cast<const uint16_t*>(p.q) + q_off;
    gk = static_cast<const uint16_t*>(p.k) + kv_off;
    gv = static_cast<const uint16_t*>(p.v) + kv_off;
    go = static_cast<uint16_t*>(p.o) + q_off;
    kr.kv_len = seq_k;
    kr.offset = seq_k - seq_q;  // bottom-right causal alignment within the sequence
    kr.n_end = kr.kv_len;
    if (p.causal) kr.n_end = min(kr.n_end, max(0, m0 + BM + kr.offset));
  } else {
    gq = static_cast<const uint16_t*>(p.q) + (static_cast<size_t>(b) * p.H + h) * p.Nq * D;
    gk = static_cast<const uint16_t*>(p.k) + (static_cast<size_t>(b) * p.Hkv + hk) * p.Nk * D;
    gv = static_cast<const uint16_t*>(p.v) + (static_cast<size_t>(b) * p.Hkv + hk) * p.Nk * D;
    go = static_cast<uint16_t*>(p.o) + (static_cast<size_t>(b) * p.H + h) * p.Nq * D;
    kr = key_range(p, b, m0, BM);
  }
  const int nblocks = (kr.n_end + BN - 1) / BN;

  // Prologue: groups Q, K0, V0 (empty groups keep the wait counts uniform).
  load_tile<BM, D, NT>(sQ, gq, m0, Nq(), q_stride());
  cp_async_commit();
  if (nblocks > 0) load_tile<BN, D, NT>(sK, gk, 0, kr.kv_len, kv_stride());
  cp_async_commit();
  if (nblocks > 0) load_tile<BN, D, NT>(sV, gv, 0, kr.kv_len, kv_stride());
  cp_async_commit();

  cp_async_wait<2>();
  __syncthreads();
  // Q A-fragment of slice mt, k-step kd (row lane%16, 8-column chunk lane/16 of the 16x16 block).
  auto q_addr = [&](int mt, int kd) { return sQ + swz<D>(warp * MT * 16 + mt * 16 + (lane % 16), kd * 2 + lane / 16); };
  uint32_t qf[QREG ? MT : 1][QREG ? KD : 1][4];
  if constexpr (QREG) {
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int kd = 0; kd < KD; ++kd) ldmatrix_x4(qf[mt][kd], q_addr(mt, kd));
  }

  float acc[MT][DN][4];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int dn = 0; dn < DN; ++dn)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[mt][dn][e] = 0.f;

  // Softmax row state (rows lane/4 and lane/4+8 of each slice), in log2 units.
  float row_max[MT][2], row_sum[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int r = 0; r < 2; ++r) { row_max[mt][r] = -INFINITY; row_sum[mt][r] = 0.f; }

  // Sigmoid folds the bias into the accumulator start: acc = q.k + bias/scale, so the MUFU input
  // is one FMUL away (tanh(0.5*scale*acc) or ex2(-scale*log2e*acc)). The host rejects scale == 0.
  const ScoreConstants<T, SIGMOID> sc(p, h);

  for (int j = 0; j < nblocks; ++j) {
    const int n0 = j * BN;
    cp_async_wait<1>();  // K(j) landed; V(j) may still be in flight
    __syncthreads();
    if (j + 1 < nblocks) load_tile<BN, D, NT>(sK + ((j + 1) & 1) * BN * RB, gk, n0 + BN, kr.kv_len, kv_stride());
    cp_async_commit();

    const uint32_t kbuf = sK + (j & 1) * BN * RB;
    float s[MT][NS][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int ns = 0; ns < NS; ++ns)
#pragma unroll
        for (int e = 0; e < 4; ++e) s[mt][ns][e] = sc.s_init;
    // Without QREG the k-step loop stays rolled (KD_UNROLL): its addresses are affine in kd, and a
    // rolled loop stops ptxas from hoisting every K fragment ahead, which would spill at MT = 2.
#pragma unroll KD_UNROLL
    for (int kd = 0; kd < KD; ++kd) {
      uint32_t qs[QREG ? 1 : MT][4];
      if constexpr (!QREG) {
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) ldmatrix_x4(qs[mt], q_addr(mt, kd));
      }
#pragma unroll
      for (int ns2 = 0; ns2 < NS / 2; ++ns2) {
        uint32_t kf[4];
        ldmatrix_x4(kf, kbuf + swz<D>(ns2 * 16 + (lane & 7) + ((lane >> 4) << 3), kd * 2 + ((lane >> 3) & 1)));
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          const uint32_t* a = QREG ? qf[QREG ? mt : 0][QREG ? kd : 0] : qs[QREG ? 0 : mt];
          mma16816<T>(s[mt][2 * ns2], a, kf[0], kf[1]);
          mma16816<T>(s[mt][2 * ns2 + 1], a, kf[2], kf[3]);
        }
      }
    }

    const bool need_mask = n0 + BN > kr.kv_len || (p.causal && n0 + BN - 1 > m0 + kr.offset);
    uint32_t pf[MT][BN / 16][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
      score_tile<SIGMOID, T, NS, DN>(s[mt], acc[mt], row_max[mt], row_sum[mt], p, kr,
                                     m0 + warp * MT * 16 + mt * 16 + lane / 4, lane, n0, need_mask, sc);
      // S accumulator layout == P A-fragment layout: n8 tiles 2k and 2k+1 form k-step k.
#pragma unroll
      for (int ks = 0; ks < BN / 16; ++ks) {
        pf[mt][ks][0] = Pack2<T>::from(s[mt][2 * ks][0], s[mt][2 * ks][1]);
        pf[mt][ks][1] = Pack2<T>::from(s[mt][2 * ks][2], s[mt][2 * ks][3]);
        pf[mt][ks][2] = Pack2<T>::from(s[mt][2 * ks + 1][0], s[mt][2 * ks + 1][1]);
        pf[mt][ks][3] = Pack2<T>::from(s[mt][2 * ks + 1][2], s[mt][2 * ks + 1][3]);
      }
    }

    cp_async_wait<1>();  // V(j) landed; K(j+1) may still be in flight
    __syncthreads();
    const uint32_t vbuf = sV + (j & 1) * BN * RB;
#pragma unroll
    for (int ks = 0; ks < BN / 16; ++ks)
#pragma unroll
      for (int dn2 = 0; dn2 < DN / 2; ++dn2) {
        uint32_t vf[4];
        ldmatrix_x4_trans(vf, vbuf + swz<D>(ks * 16 + (lane & 7) + (((lane >> 3) & 1) << 3), dn2 * 2 + (lane >> 4)));
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          mma16816<T>(acc[mt][2 * dn2], pf[mt][ks], vf[0], vf[1]);
          mma16816<T>(acc[mt][2 * dn2 + 1], pf[mt][ks], vf[2], vf[3]);
        }
      }
    if (j + 1 < nblocks) load_tile<BN, D, NT>(sV + ((j + 1) & 1) * BN * RB, gv, n0 + BN, kr.kv_len, kv_stride());
    cp_async_commit();
  }
  cp_async_wait<0>();

#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
    const int row0 = m0 + warp * MT * 16 + mt * 16 + lane / 4;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int i = row0 + r * 8;
      float inv = 1.f;
      if constexpr (!SIGMOID) {
        float l = row_sum[mt][r];
        l += __shfl_xor_sync(0xffffffffu, l, 1);
        l += __shfl_xor_sync(0xffffffffu, l, 2);
        // Fully masked rows (padding, causal with Nk < Nq) give O = 0 and LSE = -inf.
        inv = l > 0.f ? 1.f / l : 0.f;
        if (p.lse && i < Nq() && (lane % 4) == 0) {
          const float m = row_max[mt][r] == -INFINITY ? 0.f : row_max[mt][r];
          // Dense lse [B, H, Nq]; varlen lse [total_q, H] (the packed q's row order), row (q_start + i)·H + h.
          // go already points at element (q_start·H + h)·D, so the row is derived from it: keeping q_start
          // live across the main loop made the sm_90 D = 32 softmax kernel spill.
          size_t row;
          if constexpr (VARLEN) row = static_cast<size_t>(go - static_cast<uint16_t*>(p.o)) / D + static_cast<size_t>(i) * p.H;
          else row = (static_cast<size_t>(b) * p.H + h) * p.Nq + i;
          p.lse[row] = l > 0.f ? (m + __log2f(l)) * 0.6931471805599453f : -INFINITY;
        }
      }
      if (i < Nq()) {
#pragma unroll
        for (int dn = 0; dn < DN; ++dn) {
          const int col = dn * 8 + (lane % 4) * 2;
          *reinterpret_cast<uint32_t*>(go + static_cast<size_t>(i) * q_stride() + col) =
              Pack2<T>::from(acc[mt][dn][2 * r] * inv, acc[mt][dn][2 * r + 1] * inv);
        }
      }
    }
  }
}

// Kernel entry + its launch configuration as a device global (read by the host through
// cuModuleGetGlobal), so the tile sizes have a single source of truth. MINB = CTAs per SM the
// register budget must allow (__launch_bounds__ min blocks); QREG keeps Q fragments in registers.
#define FLASH_FWD_ENTRY(NAME, T, D, BM, BN, NW, MINB, QREG, SIGMOID)                              \
  extern "C" __global__ void __launch_bounds__((NW) * 32, MINB) NAME(const __grid_constant__ FwdParams p) { \
    flash_fwd<T, D, BM, BN, NW, QREG, SIGMOID>(p);                                                \
  }                                                                                               \
  extern "C" __device__ const int NAME##_cfg[4] = {BM, BN, (NW) * 32, ((BM) + 4 * (BN)) * row_bytes<D>()};

// Varlen entry (packed sequences, VarlenFwdParams), given the dense entry's tiles in each .cu file;
// grid (query blocks of the longest sequence, H, sequences).
#define FLASH_FWD_VARLEN_ENTRY(NAME, T, D, BM, BN, NW, MINB, QREG, SIGMOID)                       \
  extern "C" __global__ void __launch_bounds__((NW) * 32, MINB) NAME(const __grid_constant__ VarlenFwdParams p) { \
    flash_fwd<T, D, BM, BN, NW, QREG, SIGMOID, true>(p.f, p.cu_q, p.cu_k);                      \
  }                                                                                               \
  extern "C" __device__ const int NAME##_cfg[4] = {BM, BN, (NW) * 32, ((BM) + 4 * (BN)) * row_bytes<D>()};
