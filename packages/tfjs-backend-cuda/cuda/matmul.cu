// BatchMatMul of the tfjs cuda backend (src/kernels/matmul.ts builds the plan and launches):
// C[z] = op(A[z]) · op(B[z]) for every output batch index z, float32 in and out, TF32 tensor cores
// (nvcuda::wmma m16n16k8, float accumulate).
//
// Layout. A is stored row-major as [M, K] (transA = false, lda ≥ K) or [K, M] (transA = true, lda ≥ M);
// B as [K, N] (transB = false) or [N, K] (transB = true); C is [batch, M, N] contiguous (ldc = N).
// Shared memory keeps each operand tile in its global layout (rows along the contiguous dimension, so
// loads stay coalesced) and the wmma fragment layout absorbs the transpose:
//   A [M,K] → As[BM][BK+PAD], matrix_a row_major;   A [K,M] → As[BK][BM+PAD], matrix_a col_major;
//   B [K,N] → Bs[BK][BN+PAD], matrix_b row_major;   B [N,K] → Bs[BN][BK+PAD], matrix_b col_major.
// PAD = 4 floats keeps rows 16-byte aligned (cp.async 16) and every fragment origin 32-byte aligned
// (wmma's requirement): fragment rows/cols start at multiples of 8 (k) or 16 (m, n).
//
// Ragged shapes: every tile load is bounds-checked and zero-fills outside [0, rows) × [0, cols) through
// cp.async's src-size operand (0 bytes read → zeros), so partial tiles contribute nothing; the epilogue
// writes only in-range elements, and every in-range element of C is written (K = 0 writes zeros).
//
// Batch: the host merges the output batch dimensions (at most 4 after merging) and passes, per
// dimension, its size and the element stride of A and B along it (0 where the operand is broadcast).
// Grid: x = N tiles, y = M tiles, z = batch; y and z are looped so any M and batch fit the grid limits.
//
// Two-stage cp.async pipeline: the copy of k-tile t+1 is in flight while tile t is multiplied.
//
// Registers: the load loops and the k-step loop are not unrolled and the launch bounds ask for 2 (128×128)
// or 4 (64×64) blocks per SM; fully unrolled, ptxas hoisted every 64-bit load address and fragment and
// spilled at 255 registers.
#include "common.cuh"
#include <mma.h>
#include <type_traits>

using namespace nvcuda;

#define MATMUL_MAX_BATCH_RANK 4

// Field order = MatmulParams writer in src/kernels/matmul.ts.
struct MatmulParams {
  const float* a;
  const float* b;
  float* c;
  long long lda;  // row-major leading dimension of A's stored matrix
  long long ldb;
  long long ldc;  // = N
  long long strideC;  // = M·N
  long long batchStrideA[MATMUL_MAX_BATCH_RANK];
  long long batchStrideB[MATMUL_MAX_BATCH_RANK];
  int batchShape[MATMUL_MAX_BATCH_RANK];  // padded with 1
  int M;
  int N;
  int K;
  int batch;      // product of batchShape
  int vecA;       // 1: A's rows are 16-byte aligned (base, lda and batch strides multiples of 4 floats)
  int vecB;
};

constexpr int BK = 32;
constexpr int PAD = 4;

__device__ __forceinline__ unsigned smem_addr(const void* p) {
  return static_cast<unsigned>(__cvta_generic_to_shared(p));
}

// Copy `bytes` (0..16) of src into 16 bytes of shared memory, zero-filling the rest.
__device__ __forceinline__ void cp_async16(float* dst, const float* src, int bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(bytes));
}

// Copy one float (bytes = 4) or write a zero (bytes = 0).
__device__ __forceinline__ void cp_async4(float* dst, const float* src, int bytes) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(bytes));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }

// Wait until at most `n` of this thread's committed groups are still pending.
template <int n>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(n) : "memory"); }

// Load the ROWS × COLS tile at (r0, c0) of a row-major matrix with leading dimension ld and valid
// extent rows × cols into dst (row pitch COLS + PAD). Out-of-range elements become 0; out-of-range
// sources are replaced by `src` itself (a valid address; nothing is read from it).
template <int ROWS, int COLS, int THREADS>
__device__ __forceinline__ void load_tile(float* dst, const float* src, long long ld, int r0, int c0, int rows, int cols, bool vec) {
  constexpr int PITCH = COLS + PAD;
  if (vec) {
    constexpr int V = COLS / 4;                        // float4 per tile row
    constexpr int PER_THREAD = ROWS * V / THREADS;
    static_assert(ROWS * V % THREADS == 0, "tile float4 count must divide by the thread count");
#pragma unroll 1
    for (int i = 0; i < PER_THREAD; i++) {
      const int idx = threadIdx.x + i * THREADS;
      const int r = idx / V, c = (idx % V) * 4;
      const int gr = r0 + r, gc = c0 + c;
      int bytes = 0;
      if (gr < rows && gc < cols) bytes = min(cols - gc, 4) * 4;
      const float* p = bytes > 0 ? src + (long long)gr * ld + gc : src;
      cp_async16(dst + r * PITCH + c, p, bytes);
    }
  } else {
    constexpr int PER_THREAD = ROWS * COLS / THREADS;
    static_assert(ROWS * COLS % THREADS == 0, "tile size must divide by the thread count");
#pragma unroll 1
    for (int i = 0; i < PER_THREAD; i++) {
      const int idx = threadIdx.x + i * THREADS;
      const int r = idx / COLS, c = idx % COLS;
      const int gr = r0 + r, gc = c0 + c;
      const bool in = gr < rows && gc < cols;
      cp_async4(dst + r * PITCH + c, in ? src + (long long)gr * ld + gc : src, in ? 4 : 0);
    }
  }
}

// Shared-memory floats of one pipeline stage of A (resp. B): the tile in its stored layout.
template <int BM, bool TA>
struct TileA {
  static constexpr int ROWS = TA ? BK : BM;
  static constexpr int COLS = TA ? BM : BK;
  static constexpr int FLOATS = ROWS * (COLS + PAD);
};
template <int BN, bool TB>
struct TileB {
  static constexpr int ROWS = TB ? BN : BK;
  static constexpr int COLS = TB ? BK : BN;
  static constexpr int FLOATS = ROWS * (COLS + PAD);
};

template <int BM, int BN, int WM, int WN, bool TA, bool TB>
__device__ __forceinline__ void gemm_tf32(const MatmulParams& p) {
  constexpr int WARPS_M = BM / WM, WARPS_N = BN / WN;
  constexpr int THREADS = WARPS_M * WARPS_N * 32;
  constexpr int FM = WM / 16, FN = WN / 16;
  using TA_ = TileA<BM, TA>;
  using TB_ = TileB<BN, TB>;
  static_assert(WARPS_M * WARPS_N * 256 <= TA_::FLOATS, "epilogue scratch must fit in stage 0 of A");

  extern __shared__ __align__(128) float smem[];
  float* As = smem;                      // [2][TA_::FLOATS]
  float* Bs = smem + 2 * TA_::FLOATS;    // [2][TB_::FLOATS]

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int warpM = warp / WARPS_N, warpN = warp % WARPS_N;
  const int M = p.M, N = p.N, K = p.K;
  const int mTiles = (M + BM - 1) / BM;
  const int kTiles = (K + BK - 1) / BK;
  const int n0 = blockIdx.x * BN;
  const bool vecA = p.vecA != 0, vecB = p.vecB != 0;

  for (int z = blockIdx.z; z < p.batch; z += gridDim.z) {
    // Batch offsets: z as a row-major index over batchShape.
    long long offA = 0, offB = 0;
    int rem = z;
#pragma unroll
    for (int d = MATMUL_MAX_BATCH_RANK - 1; d >= 0; d--) {
      const int idx = rem % p.batchShape[d];
      rem /= p.batchShape[d];
      offA += idx * p.batchStrideA[d];
      offB += idx * p.batchStrideB[d];
    }
    const float* A = p.a + offA;
    const float* B = p.b + offB;
    float* C = p.c + (long long)z * p.strideC;

    for (int mt = blockIdx.y; mt < mTiles; mt += gridDim.y) {
      const int m0 = mt * BM;

      wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc[FM][FN];
#pragma unroll
      for (int i = 0; i < FM; i++)
#pragma unroll
        for (int j = 0; j < FN; j++) wmma::fill_fragment(acc[i][j], 0.0f);

      // Stage s of k-tile kt: A rows/cols in stored coordinates ([M,K] or [K,M]), likewise B.
      auto load_stage = [&](int s, int kt) {
        const int k0 = kt * BK;
        if (TA) load_tile<BK, BM, THREADS>(As + s * TA_::FLOATS, A, p.lda, k0, m0, K, M, vecA);
        else load_tile<BM, BK, THREADS>(As + s * TA_::FLOATS, A, p.lda, m0, k0, M, K, vecA);
        if (TB) load_tile<BN, BK, THREADS>(Bs + s * TB_::FLOATS, B, p.ldb, n0, k0, N, K, vecB);
        else load_tile<BK, BN, THREADS>(Bs + s * TB_::FLOATS, B, p.ldb, k0, n0, K, N, vecB);
      };

      if (kTiles > 0) load_stage(0, 0);
      cp_async_commit();
      for (int kt = 0; kt < kTiles; kt++) {
        // Stage (kt+1)&1 was last read in iteration kt-1, which ended with __syncthreads.
        if (kt + 1 < kTiles) load_stage((kt + 1) & 1, kt + 1);
        cp_async_commit();
        cp_async_wait<1>();  // this thread's copies of k-tile kt have landed
        __syncthreads();     // ... and every other thread's

        const float* as = As + (kt & 1) * TA_::FLOATS;
        const float* bs = Bs + (kt & 1) * TB_::FLOATS;
#pragma unroll 1
        for (int kk = 0; kk < BK; kk += 8) {
          using LayoutA = typename std::conditional<TA, wmma::col_major, wmma::row_major>::type;
          using LayoutB = typename std::conditional<TB, wmma::col_major, wmma::row_major>::type;
          wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, LayoutA> fa[FM];
          wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, LayoutB> fb[FN];
#pragma unroll
          for (int i = 0; i < FM; i++) {
            const int mm = warpM * WM + i * 16;
            // Element (m, k) of the tile: row-major As[m][k] or column-major As[k][m].
            const float* src = TA ? as + kk * (BM + PAD) + mm : as + mm * (BK + PAD) + kk;
            wmma::load_matrix_sync(fa[i], src, TA ? BM + PAD : BK + PAD);
#pragma unroll
            for (int e = 0; e < fa[i].num_elements; e++) fa[i].x[e] = wmma::__float_to_tf32(fa[i].x[e]);
          }
#pragma unroll
          for (int j = 0; j < FN; j++) {
            const int nn = warpN * WN + j * 16;
            // Element (k, n): row-major Bs[k][n] or column-major Bs[n][k].
            const float* src = TB ? bs + nn * (BK + PAD) + kk : bs + kk * (BN + PAD) + nn;
            wmma::load_matrix_sync(fb[j], src, TB ? BK + PAD : BN + PAD);
#pragma unroll
            for (int e = 0; e < fb[j].num_elements; e++) fb[j].x[e] = wmma::__float_to_tf32(fb[j].x[e]);
          }
#pragma unroll
          for (int i = 0; i < FM; i++)
#pragma unroll
            for (int j = 0; j < FN; j++) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
        }
        __syncthreads();  // everyone is done with stage kt&1 before it is refilled
      }
      cp_async_wait<0>();  // no copy may still target shared memory when the scratch reuses it
      __syncthreads();

      // Epilogue through a 16×16 scratch per warp, so ragged edges are written element by element.
      float* scratch = smem + warp * 256;
#pragma unroll
      for (int i = 0; i < FM; i++) {
#pragma unroll
        for (int j = 0; j < FN; j++) {
          const int rowBase = m0 + warpM * WM + i * 16;
          const int colBase = n0 + warpN * WN + j * 16;
          wmma::store_matrix_sync(scratch, acc[i][j], 16, wmma::mem_row_major);
          __syncwarp();
#pragma unroll
          for (int e = 0; e < 8; e++) {
            const int idx = lane + e * 32;
            const int r = rowBase + idx / 16, c = colBase + idx % 16;
            if (r < M && c < N) C[(long long)r * p.ldc + c] = scratch[idx];
          }
          __syncwarp();
        }
      }
      __syncthreads();  // the scratch (stage 0 of A) is refilled by the next tile's loads
    }
  }
}

// Dynamic shared memory of one instantiation, in bytes (mirrored by matmulSmemBytes in matmul.ts).
#define MATMUL_SMEM(BM, BN, TA, TB) (2 * (TileA<BM, TA>::FLOATS + TileB<BN, TB>::FLOATS) * 4)

// 128×128 tiles, 8 warps of 64×32; 64×64 tiles, 4 warps of 32×32.
#define MATMUL_KERNELS(TA, TB, SUFFIX)                                                                       \
  extern "C" __global__ void __launch_bounds__(256, 2) matmul_tf32_128_##SUFFIX(MatmulParams p) {              \
    gemm_tf32<128, 128, 64, 32, TA, TB>(p);                                                                  \
  }                                                                                                          \
  extern "C" __global__ void __launch_bounds__(128, 4) matmul_tf32_64_##SUFFIX(MatmulParams p) {               \
    gemm_tf32<64, 64, 32, 32, TA, TB>(p);                                                                    \
  }

MATMUL_KERNELS(false, false, nn)
MATMUL_KERNELS(false, true, nt)
MATMUL_KERNELS(true, false, tn)
MATMUL_KERNELS(true, true, tt)

// Compile-time checks of the byte counts the host uses (matmulSmemBytes).
static_assert(MATMUL_SMEM(128, 128, false, false) == 2 * (128 * 36 + 32 * 132) * 4, "smem 128 nn");
static_assert(MATMUL_SMEM(128, 128, true, true) == 2 * (32 * 132 + 128 * 36) * 4, "smem 128 tt");
static_assert(MATMUL_SMEM(64, 64, false, true) == 2 * (64 * 36 + 64 * 36) * 4, "smem 64 nt");
static_assert(MATMUL_SMEM(64, 64, true, false) == 2 * (32 * 68 + 32 * 68) * 4, "smem 64 tn");
