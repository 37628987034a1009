// Shared device helpers for the FA2-class (mma.sync) attention kernels.
// One kernel per .cu file; everything they share (parameter block, tile loads, MMA wrappers,
// masking) lives here so the sigmoid and softmax twins differ only in the nonlinearity.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

// Parameter block passed by value (one kernel argument). Layout is mirrored byte-for-byte by
// src/cuda/params.ts and bench/cuda_harness.py: 8-byte pointers first, then 4-byte fields.
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

__device__ __forceinline__ uint32_t smem_u32(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// Shared-memory tile of ROWS x D elements (16-bit), rows of D*2 bytes split in 16-byte chunks.
// Chunk c of row r lives at chunk (c ^ (r & 7)) so ldmatrix's 8 row addresses hit 8 distinct
// bank groups (no conflicts) while cp.async writes stay 16-byte aligned.
template <int D>
__device__ __forceinline__ uint32_t swz(int row, int chunk) {
  return static_cast<uint32_t>((row * (D / 8) + (chunk ^ (row & 7))) * 16);
}

// Async-load rows [row0, row0+ROWS) of a [N, D] matrix into a swizzled tile; rows >= n are zeros.
template <int ROWS, int D, int NTHREADS>
__device__ __forceinline__ void load_tile(uint32_t tile, const uint16_t* g, int row0, int n) {
  constexpr int CHUNKS = ROWS * D / 8;
  static_assert(CHUNKS % NTHREADS == 0, "tile chunks must divide evenly among threads");
#pragma unroll
  for (int it = 0; it < CHUNKS / NTHREADS; ++it) {
    const int idx = it * NTHREADS + threadIdx.x;
    const int r = idx / (D / 8);
    const int c = idx % (D / 8);
    const int gr = row0 + r;
    const bool ok = gr < n;
    // Out-of-range rows still need a valid address; row 0 of the matrix always exists.
    const uint16_t* src = g + (ok ? static_cast<size_t>(gr) * D + c * 8 : 0);
    cp_async16(tile + swz<D>(r, c), src, ok ? 16 : 0);
  }
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
