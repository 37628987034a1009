/**
 * cuBLAS at run time, through koffi (as kernel-core loads libcuda): never required, found if present.
 * The library is $SIGATTN_LIBCUBLAS if set (e.g. a PyTorch wheel's
 * `.../site-packages/nvidia/cublas/lib/libcublas.so.12`), else the first of `libcublas.so.13`,
 * `libcublas.so.12`, `libcublas.so` the dynamic loader finds.
 *
 * Only cublasGemmStridedBatchedEx is used, with CUBLAS_COMPUTE_32F_FAST_TF32 (float in and out, TF32
 * tensor cores, float accumulate: the same arithmetic as this package's own kernel). The handle runs on
 * the legacy default stream (0), the stream every kernel of the backend runs on, so no events are needed.
 *
 * cuBLAS is column-major and tfjs row-major: a row-major M×N C = op(A)·op(B) is, read column-major, the
 * N×M matrix Cᵀ = op(B)ᵀ·op(A)ᵀ, so cuBLAS gets (m, n, k) = (N, M, K), B's memory as its first operand
 * and A's as its second, each with its own transpose flag and row-major leading dimension
 * (`cublasGemmArgs`).
 */
import koffi from 'koffi';
import type { CuPtr } from '@sigattn/kernel-core';
import type { GemmPlan } from './kernels/matmul.js';

/** Default sonames, newest first (CUDA 13, then 12). */
export const CUBLAS_SONAMES = ['libcublas.so.13', 'libcublas.so.12', 'libcublas.so'] as const;

// cublas_api.h / library_types.h values.
const CUBLAS_OP_N = 0;
const CUBLAS_OP_T = 1;
const CUDA_R_32F = 0;
const CUBLAS_COMPUTE_32F_FAST_TF32 = 77;
const CUBLAS_COMPUTE_32F = 68;
const CUBLAS_GEMM_DEFAULT = -1;

const STATUS_NAMES: Record<number, string> = {
  0: 'CUBLAS_STATUS_SUCCESS',
  1: 'CUBLAS_STATUS_NOT_INITIALIZED',
  3: 'CUBLAS_STATUS_ALLOC_FAILED',
  7: 'CUBLAS_STATUS_INVALID_VALUE',
  8: 'CUBLAS_STATUS_ARCH_MISMATCH',
  11: 'CUBLAS_STATUS_MAPPING_ERROR',
  13: 'CUBLAS_STATUS_EXECUTION_FAILED',
  14: 'CUBLAS_STATUS_INTERNAL_ERROR',
  15: 'CUBLAS_STATUS_NOT_SUPPORTED',
  16: 'CUBLAS_STATUS_LICENSE_ERROR',
};

export function cublasStatusName(status: number): string {
  return STATUS_NAMES[status] ?? `cublasStatus ${status}`;
}

const PROTOTYPES = {
  create: 'int cublasCreate_v2(_Out_ void **handle)',
  destroy: 'int cublasDestroy_v2(void *handle)',
  setStream: 'int cublasSetStream_v2(void *handle, void *stream)',
  getVersion: 'int cublasGetVersion_v2(void *handle, _Out_ int *version)',
  gemmStridedBatchedEx:
    'int cublasGemmStridedBatchedEx(void *handle, int transa, int transb, int m, int n, int k, const void *alpha, ' +
    'const void *A, int Atype, int lda, int64_t strideA, const void *B, int Btype, int ldb, int64_t strideB, ' +
    'const void *beta, void *C, int Ctype, int ldc, int64_t strideC, int batchCount, int computeType, int algo)',
} as const;

type Fn = (...args: unknown[]) => number;
type Api = { [K in keyof typeof PROTOTYPES]: Fn };

/** The arguments of one cublasGemmStridedBatchedEx call (column-major view). */
export interface CublasGemmArgs {
  transa: 0 | 1;
  transb: 0 | 1;
  m: number;
  n: number;
  k: number;
  A: CuPtr;
  lda: number;
  strideA: number;
  B: CuPtr;
  ldb: number;
  strideB: number;
  C: CuPtr;
  ldc: number;
  strideC: number;
  batchCount: number;
}

/** Whether cuBLAS's single batch stride per operand can express the plan (batch dims merged to ≤ 1; K > 0). */
export function cublasCanRun(plan: GemmPlan): boolean {
  return plan.batchShape.length <= 1 && plan.K > 0;
}

/**
 * The cuBLAS call computing `plan` (row-major C = op(A)·op(B) per batch) as column-major Cᵀ = op(B)ᵀ·op(A)ᵀ.
 * A row-major matrix with leading dimension ld is, read column-major with the same ld, its transpose; so
 * B's storage read column-major is op(B)ᵀ when transB is false (no transpose asked of cuBLAS) and
 * op(B) when it is true (cuBLAS transposes), and likewise for A.
 */
export function cublasGemmArgs(plan: GemmPlan, a: CuPtr, b: CuPtr, c: CuPtr): CublasGemmArgs {
  if (!cublasCanRun(plan)) throw new Error(`cuda backend: cuBLAS cannot run a matmul with ${plan.batchShape.length} batch dimensions or K = 0`);
  return {
    transa: plan.transB ? CUBLAS_OP_T : CUBLAS_OP_N,
    transb: plan.transA ? CUBLAS_OP_T : CUBLAS_OP_N,
    m: plan.N,
    n: plan.M,
    k: plan.K,
    A: b,
    lda: Math.max(1, plan.ldb),
    strideA: plan.batchStrideB[0] ?? 0,
    B: a,
    ldb: Math.max(1, plan.lda),
    strideB: plan.batchStrideA[0] ?? 0,
    C: c,
    ldc: Math.max(1, plan.N),
    strideC: plan.M * plan.N,
    batchCount: plan.batch,
  };
}

/** Candidate library paths: $SIGATTN_LIBCUBLAS alone when set, else the default sonames. */
export function cublasCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  return env.SIGATTN_LIBCUBLAS ? [env.SIGATTN_LIBCUBLAS] : [...CUBLAS_SONAMES];
}

/** A cuBLAS handle on the legacy default stream. */
export class Cublas {
  private handle: CuPtr | null;
  private readonly alpha = new Float32Array([1]);
  private readonly beta = new Float32Array([0]);

  private constructor(
    private readonly api: Api,
    readonly path: string,
  ) {
    const box: (bigint | null)[] = [null];
    this.check('cublasCreate', api.create(box));
    this.handle = box[0] as bigint;
    this.check('cublasSetStream', api.setStream(this.handle, 0n));
  }

  /**
   * Load the first library of `candidates` that loads and create a handle (the CUDA context must be
   * current: open the driver first). Throws an Error naming every path tried and why it failed.
   */
  static open(candidates: readonly string[] = cublasCandidates()): Cublas {
    const failures: string[] = [];
    for (const path of candidates) {
      let api: Api;
      try {
        const lib = koffi.load(path);
        api = Object.fromEntries(Object.entries(PROTOTYPES).map(([k, proto]) => [k, lib.func(proto) as unknown as Fn])) as Api;
      } catch (err) {
        failures.push(`${path}: ${(err as Error).message.split('\n')[0]}`);
        continue;
      }
      try {
        return new Cublas(api, path);
      } catch (err) {
        throw new Error(`cuBLAS at ${path}: ${(err as Error).message}`);
      }
    }
    throw new Error(`cuBLAS not found (${failures.join('; ')}); set SIGATTN_LIBCUBLAS to libcublas.so's path`);
  }

  private check(call: string, status: number, detail = ''): void {
    if (status !== 0) throw new Error(`${call} failed: ${cublasStatusName(status)}${detail}`);
  }

  /** cuBLAS's version number (e.g. 120804 for 12.8.4). */
  version(): number {
    const box: (number | null)[] = [null];
    this.check('cublasGetVersion', this.api.getVersion(this.live(), box));
    return box[0] as number;
  }

  private live(): CuPtr {
    if (this.handle === null) throw new Error('cuBLAS handle used after destroy()');
    return this.handle;
  }

  /**
   * Queue one strided batched GEMM on stream 0 (C = op(A)·op(B), column-major; beta 0): TF32 tensor cores,
   * or with `fp32` full float32 products (CUBLAS_COMPUTE_32F; for comparing with the cpu backends).
   */
  gemmStridedBatched(g: CublasGemmArgs, fp32 = false): void {
    const status = this.api.gemmStridedBatchedEx(
      this.live(), g.transa, g.transb, g.m, g.n, g.k, this.alpha,
      g.A, CUDA_R_32F, g.lda, g.strideA, g.B, CUDA_R_32F, g.ldb, g.strideB,
      this.beta, g.C, CUDA_R_32F, g.ldc, g.strideC, g.batchCount, fp32 ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT,
    );
    if (status !== 0) {
      this.check('cublasGemmStridedBatchedEx', status, ` (m ${g.m}, n ${g.n}, k ${g.k}, lda ${g.lda}, ldb ${g.ldb}, ldc ${g.ldc}, batch ${g.batchCount})`);
    }
  }

  destroy(): void {
    if (this.handle === null) return;
    this.check('cublasDestroy', this.api.destroy(this.handle));
    this.handle = null;
  }
}
