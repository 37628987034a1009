/**
 * BatchMatMul: C = op(A)·op(B) over broadcast batch dimensions (float32), on cuBLAS when it is found at
 * run time and on this package's TF32 tensor-core kernel (cuda/matmul.cu) otherwise.
 *
 * The plan (`planBatchMatMul`, pure, tested on the CPU by emulation) turns tfjs's shapes and transpose
 * flags into one GEMM description shared by both implementations: M, N, K; the row-major leading
 * dimensions of the stored A ([M,K], or [K,M] when transposed) and B ([K,N], or [N,K]); the output batch
 * dimensions after dropping 1s and merging neighbours that are contiguous in both operands, each with
 * A's and B's element stride (0 where that operand is broadcast). A batch that only A has, over a
 * contiguous untransposed A, folds into M (`[2,3,M,K]·[K,N]` is one `[6M,K]·[K,N]` GEMM).
 *
 * Batch semantics are numpy's (right-aligned, size-1 dimensions broadcast). tfjs's cpu kernel indexes
 * the flattened batches modulo each operand's batch size instead; the two agree whenever one operand's
 * batch dimensions are a suffix of the other's (or all 1), the only broadcasts tfjs's gradient and the
 * zoo produce, and differ for mixed ones such as [2,1,…]·[1,3,…] (numpy's answer is the right one).
 *
 * Precision: TF32 inputs (10-bit mantissa), float accumulation, like cuBLAS with
 * CUBLAS_COMPUTE_32F_FAST_TF32 and PyTorch with allow_tf32. Non-float32 inputs run on the cpu fallback.
 *
 * Mode ($SIGATTN_CUDA_MATMUL, or setMatmulMode): `auto` (default: cuBLAS if it loads, else the own
 * kernel), `cublas` (an error if cuBLAS is missing), `own`. matmulImpl() says which one runs. Plans
 * cuBLAS's one stride per operand cannot express (batch dimensions that do not merge into one) and
 * K = 0 always run on the own kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, closestName } from '@sigattn/common';
import { cudaDriver, type CuPtr } from '@sigattn/kernel-core';
import type { CudaBackend } from '../backend.js';
import type { CudaDevice } from '../device.js';
import { Cublas, cublasCanRun, cublasGemmArgs } from '../cublas.js';
import { cpuFallback } from '../fallback.js';
import { KernelParams } from '../params.js';
import { broadcastStrides, cuda, sizeOf, type Info } from './util.js';

/** Batch dimensions the kernel indexes after merging (MATMUL_MAX_BATCH_RANK in matmul.cu). */
export const MATMUL_MAX_BATCH_RANK = 4;

export interface GemmPlan {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  /** Row-major leading dimension of A's stored matrix: K, or M when transposed. */
  lda: number;
  /** Row-major leading dimension of B's stored matrix: N, or K when transposed. */
  ldb: number;
  /** Output batch dimensions after dropping 1s and merging (at most MATMUL_MAX_BATCH_RANK). */
  batchShape: number[];
  /** Element strides of A and B along batchShape (0: broadcast). */
  batchStrideA: number[];
  batchStrideB: number[];
  /** Product of batchShape (1 when it is empty; 0 when the output is empty). */
  batch: number;
  /** tfjs's output shape: broadcast batch dimensions, then [M, N] before any folding. */
  outShape: number[];
}

export function planBatchMatMul(aShape: readonly number[], bShape: readonly number[], transA: boolean, transB: boolean): GemmPlan {
  if (aShape.length < 2 || bShape.length < 2) {
    throw new Error(`cuda backend: BatchMatMul needs inputs of rank ≥ 2, got [${aShape.join(', ')}] and [${bShape.join(', ')}]`);
  }
  const ra = aShape.length, rb = bShape.length;
  const M = transA ? aShape[ra - 1] : aShape[ra - 2];
  const K = transA ? aShape[ra - 2] : aShape[ra - 1];
  const Kb = transB ? bShape[rb - 1] : bShape[rb - 2];
  const N = transB ? bShape[rb - 2] : bShape[rb - 1];
  if (K !== Kb) {
    throw new Error(`Error in matMul: inner shapes (${K}) and (${Kb}) of Tensors with shapes ${aShape} and ${bShape} and transposeA=${transA} and transposeB=${transB} must match.`);
  }
  const aBatch = aShape.slice(0, -2), bBatch = bShape.slice(0, -2);
  const outBatch = tf.backend_util.assertAndGetBroadcastShape(aBatch, bBatch);
  const outShape = [...outBatch, M, N];
  const plan: GemmPlan = { M, N, K, transA, transB, lda: transA ? M : K, ldb: transB ? K : N, batchShape: [], batchStrideA: [], batchStrideB: [], batch: 0, outShape };
  if (sizeOf(outShape) === 0) return plan;

  const sA = broadcastStrides(aBatch, outBatch).map((s) => s * M * K);
  const sB = broadcastStrides(bBatch, outBatch).map((s) => s * K * N);
  // Merge an outer dimension into the next inner one where both operands step through them as one.
  const dims: { size: number; sa: number; sb: number }[] = [];
  outBatch.forEach((size, i) => {
    if (size === 1) return;
    const outer = dims[dims.length - 1];
    if (outer !== undefined && outer.sa === sA[i] * size && outer.sb === sB[i] * size) {
      outer.size *= size;
      outer.sa = sA[i];
      outer.sb = sB[i];
    } else {
      dims.push({ size, sa: sA[i], sb: sB[i] });
    }
  });
  if (dims.length === 1 && !transA && dims[0].sb === 0 && dims[0].sa === M * K) {
    // B is shared by every batch and A's batches are consecutive [M, K] blocks: one tall GEMM.
    return { ...plan, M: M * dims[0].size, batch: 1 };
  }
  if (dims.length > MATMUL_MAX_BATCH_RANK) {
    throw new Error(`cuda backend: BatchMatMul of [${aShape.join(', ')}] and [${bShape.join(', ')}] has ${dims.length} batch dimensions that do not merge; the kernel indexes up to ${MATMUL_MAX_BATCH_RANK}`);
  }
  return {
    ...plan,
    batchShape: dims.map((d) => d.size),
    batchStrideA: dims.map((d) => d.sa),
    batchStrideB: dims.map((d) => d.sb),
    batch: dims.reduce((p, d) => p * d.size, 1),
  };
}

// ---- the own kernel -------------------------------------------------------------------------------

export type MatmulTile = 64 | 128;
const BK = 32;
const PAD = 4;
/** Threads per block of each tile size (8 warps of 64×32, 4 warps of 32×32). */
const TILE_THREADS: Record<MatmulTile, number> = { 128: 256, 64: 128 };
const GRID_YZ_MAX = 65535;
const DEFAULT_DYNAMIC_SMEM = 48 * 1024;

/** Dynamic shared memory of a kernel (two stages of both operand tiles; MATMUL_SMEM in matmul.cu). */
export function matmulSmemBytes(tile: MatmulTile, transA: boolean, transB: boolean): number {
  const tileA = transA ? BK * (tile + PAD) : tile * (BK + PAD);
  const tileB = transB ? tile * (BK + PAD) : BK * (tile + PAD);
  return 2 * (tileA + tileB) * 4;
}

/**
 * 128×128 tiles when there are enough of them to fill every SM twice and they are at least half
 * used; 64×64 otherwise (small or ragged GEMMs such as attention's 50×50 score blocks).
 */
export function chooseTile(plan: GemmPlan, smCount: number): MatmulTile {
  const tiles = Math.ceil(plan.M / 128) * Math.ceil(plan.N / 128) * plan.batch;
  const used = (plan.M * plan.N) / (Math.ceil(plan.M / 128) * 128 * Math.ceil(plan.N / 128) * 128);
  return tiles >= 2 * smCount && used >= 0.5 ? 128 : 64;
}

export interface OwnLaunch {
  kernel: string;
  grid: [number, number, number];
  block: number;
  smem: number;
  params: Uint8Array;
}

/** Whether an operand's rows can be copied 16 bytes at a time (base, ld and batch strides multiples of 4 floats). */
function rowsAligned(ptr: CuPtr, ld: number, strides: readonly number[]): boolean {
  return ptr % 16n === 0n && ld % 4 === 0 && strides.every((s) => s % 4 === 0);
}

/** The launch of the own kernel for a non-empty `plan` (pure: the pointers only set the alignment flags). */
export function ownGemmLaunch(plan: GemmPlan, a: CuPtr, b: CuPtr, c: CuPtr, tile: MatmulTile): OwnLaunch {
  const nTiles = Math.ceil(plan.N / tile), mTiles = Math.ceil(plan.M / tile);
  const params = new KernelParams()
    .ptr(a)
    .ptr(b)
    .ptr(c)
    .i64(plan.lda)
    .i64(plan.ldb)
    .i64(plan.N)
    .i64(plan.M * plan.N)
    .i64s(plan.batchStrideA, MATMUL_MAX_BATCH_RANK)
    .i64s(plan.batchStrideB, MATMUL_MAX_BATCH_RANK)
    .i32s(plan.batchShape, MATMUL_MAX_BATCH_RANK, 1)
    .i32(plan.M)
    .i32(plan.N)
    .i32(plan.K)
    .i32(plan.batch)
    .i32(rowsAligned(a, plan.lda, plan.batchStrideA) ? 1 : 0)
    .i32(rowsAligned(b, plan.ldb, plan.batchStrideB) ? 1 : 0)
    .bytes();
  return {
    kernel: `matmul_tf32_${tile}_${plan.transA ? 't' : 'n'}${plan.transB ? 't' : 'n'}`,
    grid: [nTiles, Math.min(mTiles, GRID_YZ_MAX), Math.min(plan.batch, GRID_YZ_MAX)],
    block: TILE_THREADS[tile],
    smem: matmulSmemBytes(tile, plan.transA, plan.transB),
    params,
  };
}

const smemRaised = new WeakMap<CudaDevice, Set<string>>();

function launchOwn(be: CudaBackend, plan: GemmPlan, a: CuPtr, b: CuPtr, c: CuPtr, tile?: MatmulTile): void {
  const l = ownGemmLaunch(plan, a, b, c, tile ?? chooseTile(plan, be.device.driver.info.smCount));
  if (l.smem > DEFAULT_DYNAMIC_SMEM) {
    let raised = smemRaised.get(be.device);
    if (raised === undefined) smemRaised.set(be.device, (raised = new Set()));
    if (!raised.has(l.kernel)) {
      be.device.setMaxDynamicShared('matmul', l.kernel, l.smem);
      raised.add(l.kernel);
    }
  }
  be.device.launch('matmul', l.kernel, l.grid, l.block, l.params, l.smem);
}

// ---- implementation choice ------------------------------------------------------------------------

export const MATMUL_MODES = ['auto', 'cublas', 'own', 'cublas-fp32'] as const;
export type MatmulMode = (typeof MATMUL_MODES)[number];
/** cublas-fp32: cuBLAS with full float32 products instead of TF32 (slower; to compare training with the cpu backends). */
export type MatmulImplName = 'cublas' | 'own' | 'cublas-fp32';

export function parseMatmulMode(value: string | undefined, what = 'SIGATTN_CUDA_MATMUL'): MatmulMode {
  if (value === undefined || value === '') return 'auto';
  if ((MATMUL_MODES as readonly string[]).includes(value)) return value as MatmulMode;
  const near = closestName(value, MATMUL_MODES);
  throw new ConfigError(`${what}=${value}: expected auto (cuBLAS if found, else the own kernel), cublas, own or cublas-fp32${near ? ` (did you mean ${near}?)` : ''}`);
}

let mode: MatmulMode | null = null;
let cublas: Cublas | string | null = null;

/** The process's cuBLAS handle, or why there is none (tried once). */
function loadCublas(): Cublas | string {
  if (cublas === null) {
    try {
      cudaDriver(); // makes the primary context current, which the handle binds to
      cublas = Cublas.open();
    } catch (err) {
      cublas = (err as Error).message.split('\n')[0];
    }
  }
  return cublas;
}

/** Choose the implementation from now on (overrides $SIGATTN_CUDA_MATMUL). */
export function setMatmulMode(next: MatmulMode): void {
  mode = parseMatmulMode(next, 'matmul mode');
}

export interface MatmulImpl {
  mode: MatmulMode;
  impl: MatmulImplName;
  /** The library path, or why cuBLAS is not used. */
  detail: string;
}

/** Which implementation BatchMatMul runs (resolving the mode and loading cuBLAS on first call). */
export function matmulImpl(): MatmulImpl {
  const m = (mode ??= parseMatmulMode(process.env.SIGATTN_CUDA_MATMUL));
  if (m === 'own') return { mode: m, impl: 'own', detail: 'own TF32 wmma kernel (mode own)' };
  const lib = loadCublas();
  if (typeof lib !== 'string') return { mode: m, impl: m === 'cublas-fp32' ? 'cublas-fp32' : 'cublas', detail: `cuBLAS ${lib.path}${m === 'cublas-fp32' ? ' (float32 products)' : ''}` };
  if (m === 'cublas' || m === 'cublas-fp32') throw new ConfigError(`matmul mode ${m} (SIGATTN_CUDA_MATMUL) but ${lib}; install cuBLAS, set SIGATTN_LIBCUBLAS, or use auto/own`);
  return { mode: m, impl: 'own', detail: `own TF32 wmma kernel (${lib})` };
}

/**
 * Queue C = op(A)·op(B) for a non-empty `plan` on stream 0. `impl` and `tile` default to matmulImpl() and
 * chooseTile (the benchmark sets them); plans cuBLAS cannot express run on the own kernel.
 */
export function runGemm(be: CudaBackend, plan: GemmPlan, a: CuPtr, b: CuPtr, c: CuPtr, impl: MatmulImplName = matmulImpl().impl, tile?: MatmulTile): void {
  if ((impl === 'cublas' || impl === 'cublas-fp32') && cublasCanRun(plan)) {
    const lib = loadCublas();
    if (typeof lib === 'string') throw new ConfigError(`cuBLAS requested but ${lib}`);
    be.device.span(`cublas_gemm${impl === 'cublas-fp32' ? '_fp32' : ''}`, () => lib.gemmStridedBatched(cublasGemmArgs(plan, a, b, c), impl === 'cublas-fp32'));
    return;
  }
  launchOwn(be, plan, a, b, c, tile);
}

// ---- the tfjs kernel ------------------------------------------------------------------------------

let fallback: tf.KernelConfig | null = null;

function batchMatMul(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info {
  const { a, b } = args.inputs as { a: Info; b: Info };
  const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    const cpu = tf.getKernel(tf.BatchMatMul, 'cpu');
    if (cpu === undefined) throw new Error(`cuda backend: BatchMatMul of ${a.dtype} needs tfjs's cpu kernel, which is not registered`);
    fallback ??= cpuFallback(cpu);
    return fallback.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as Info;
  }
  const be = cuda(args.backend);
  const plan = planBatchMatMul(a.shape, b.shape, transposeA, transposeB);
  const out = be.makeTensorInfo(plan.outShape, 'float32');
  if (plan.batch === 0) return out;
  runGemm(be, plan, be.ptr(a), be.ptr(b), be.ptr(out));
  return out;
}

export const matmulKernels: tf.KernelConfig[] = [
  { kernelName: tf.BatchMatMul, backendName: 'cuda', kernelFunc: batchMatMul as unknown as tf.KernelFunc },
];
