/**
 * kernel-core's fused norm (SigattnNorm / SigattnNormGrad, kernel-core src/tfjs/norm-names.ts) on cuda:
 * LayerNorm / RMSNorm over the last axis in one launch forward; backward one launch for dx and one or two
 * for the column sums dgamma/dbeta (per-chunk partials, then their in-order sum: deterministic, no atomics).
 * The kernels are in cuda/norm.cu; the plans below are pure so test/norm-emulated.test.ts can replay them.
 */
import type * as tf from '@tensorflow/tfjs';
import { KernelParams } from '../params.js';
import { cuda, sizeOf, type Info } from './util.js';

/** kernel-core's NORM_FWD / NORM_BWD contract. */
const NORM_FWD = 'SigattnNorm';
const NORM_BWD = 'SigattnNormGrad';

interface NormAttrs {
  kind: 'layernorm' | 'rmsnorm';
  eps: number;
}

const MODULE = 'norm';
/** Rows up to this long go one warp per row, held in registers (32 lanes × up to 32 values). */
export const NORM_WARP_MAX = 1024;
/** norm.cu's NORM_WARPS_PER_BLOCK: warp-row kernels run 8 rows per 256-thread block. */
export const NORM_WARPS_PER_BLOCK = 8;
/** Threads per block of the block-row kernels (a multiple of 32: block_sum adds whole warps). */
export const NORM_ROW_BLOCK = 256;
/** norm.cu's NORM_COL_TILE: columns per block of the column-sum kernel. */
export const NORM_COL_TILE = 32;
const MAX_CHUNKS = 1024;
/** Aim for about this many column-sum blocks (an H200 has 132 SMs), each thread adding ≥ 8 rows. */
const TARGET_COL_BLOCKS = 528;
const MIN_ROWS_PER_CHUNK = 64;

export const NormKindCode = { layernorm: 0, rmsnorm: 1 } as const;

export interface RowPlan {
  /** Kernel name suffix: `w1` … `w32` (values per lane of a warp row) or `block`. */
  variant: string;
  /** Values each lane holds (warp rows); 0 for block rows. */
  perLane: number;
  grid: number;
  block: number;
}

/** How the row kernels (forward and dx) cover `rows` rows of `C` values. */
export function planNormRows(rows: number, C: number): RowPlan {
  if (C <= NORM_WARP_MAX) {
    let perLane = 1;
    while (perLane * 32 < C) perLane *= 2;
    return { variant: `w${perLane}`, perLane, grid: Math.ceil(rows / NORM_WARPS_PER_BLOCK), block: 32 * NORM_WARPS_PER_BLOCK };
  }
  return { variant: 'block', perLane: 0, grid: rows, block: NORM_ROW_BLOCK };
}

export interface ColumnPlan {
  /** Row chunks, each summed by its own row of blocks; 1 when the column kernel can write the outputs directly. */
  chunks: number;
  rowsPerChunk: number;
  /** Blocks along the columns (NORM_COL_TILE columns each). */
  colBlocks: number;
}

/** How the column sums split the rows: enough blocks to fill the GPU, no empty chunk, ≤ 1024 chunks. */
export function planNormColumns(rows: number, C: number): ColumnPlan {
  const colBlocks = Math.ceil(C / NORM_COL_TILE);
  const want = Math.min(Math.ceil(TARGET_COL_BLOCKS / colBlocks), Math.ceil(rows / MIN_ROWS_PER_CHUNK), MAX_CHUNKS);
  const rowsPerChunk = Math.max(1, Math.ceil(rows / Math.max(1, want)));
  return { chunks: Math.max(1, Math.ceil(rows / rowsPerChunk)), rowsPerChunk, colBlocks };
}

function rowsAndC(x: Info): { rows: number; C: number } {
  if (x.shape.length === 0) throw new Error('cuda backend: SigattnNorm on a scalar; it normalises over the last axis');
  const C = x.shape[x.shape.length - 1];
  return { rows: C === 0 ? 0 : sizeOf(x.shape) / C, C };
}

function checkFloat(op: string, inputs: Record<string, Info | undefined>): void {
  for (const [name, t] of Object.entries(inputs)) {
    if (t !== undefined && t.dtype !== 'float32') throw new Error(`cuda backend: ${op} input ${name} has dtype ${t.dtype}, expected float32`);
  }
}

const normFwd: tf.KernelConfig = {
  kernelName: NORM_FWD,
  backendName: 'cuda',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const be = cuda(backend);
    const { x, gamma, beta } = inputs as Record<'x' | 'gamma' | 'beta', Info | undefined>;
    const { kind, eps } = attrs as unknown as NormAttrs;
    if (x === undefined || gamma === undefined) throw new Error('cuda backend: SigattnNorm needs inputs x and gamma');
    if ((kind === 'layernorm') !== (beta !== undefined)) throw new Error(`cuda backend: SigattnNorm ${kind} ${beta === undefined ? 'needs' : 'takes no'} input beta`);
    checkFloat(NORM_FWD, { x, gamma, beta });
    const { rows, C } = rowsAndC(x);
    const y = be.makeTensorInfo([...x.shape], 'float32');
    const stats = be.makeTensorInfo([rows, 2], 'float32');
    if (rows === 0) return [y, stats];
    const params = new KernelParams()
      .ptr(be.ptr(y)).ptr(be.ptr(stats)).ptr(be.ptr(x)).ptr(be.ptr(gamma)).ptr(beta === undefined ? 0n : be.ptr(beta))
      .i64(rows).i32(C).i32(NormKindCode[kind]).f32(eps)
      .bytes();
    const plan = planNormRows(rows, C);
    be.device.launch(MODULE, `norm_fwd_${plan.variant}_f32`, [plan.grid], plan.block, params);
    return [y, stats];
  },
};

const normBwd: tf.KernelConfig = {
  kernelName: NORM_BWD,
  backendName: 'cuda',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const be = cuda(backend);
    const { x, gamma, stats, dy } = inputs as Record<'x' | 'gamma' | 'stats' | 'dy', Info>;
    const { kind } = attrs as unknown as NormAttrs;
    checkFloat(NORM_BWD, { x, gamma, stats, dy });
    const { rows, C } = rowsAndC(x);
    const layer = kind === 'layernorm';
    const dx = be.makeTensorInfo([...x.shape], 'float32');
    const dgamma = be.makeTensorInfo([C], 'float32');
    const dbeta = layer ? be.makeTensorInfo([C], 'float32') : null;
    const outs = dbeta === null ? [dx, dgamma] : [dx, dgamma, dbeta];
    if (C === 0) return outs;
    const code = NormKindCode[kind];
    const rowParams = (dgammaPtr: bigint, dbetaPtr: bigint, rowsPerChunk: number) =>
      new KernelParams()
        .ptr(be.ptr(dx)).ptr(dgammaPtr).ptr(dbetaPtr)
        .ptr(be.ptr(x)).ptr(be.ptr(gamma)).ptr(be.ptr(stats)).ptr(be.ptr(dy))
        .i64(rows).i64(rowsPerChunk).i32(C).i32(code)
        .bytes();
    if (rows > 0) {
      const plan = planNormRows(rows, C);
      be.device.launch(MODULE, `norm_bwd_dx_${plan.variant}_f32`, [plan.grid], plan.block, rowParams(0n, 0n, 0));
    }
    // With no rows the column kernel still runs (one chunk of none) and writes the zero sums.
    const cols = planNormColumns(rows, C);
    const dbetaPtr = dbeta === null ? 0n : be.ptr(dbeta);
    if (cols.chunks === 1) {
      be.device.launch(MODULE, 'norm_bwd_columns_f32', [cols.colBlocks, 1], 256, rowParams(be.ptr(dgamma), dbetaPtr, cols.rowsPerChunk));
      return outs;
    }
    const partialGamma = be.device.alloc(cols.chunks * C * 4);
    const partialBeta = layer ? be.device.alloc(cols.chunks * C * 4) : 0n;
    be.device.launch(MODULE, 'norm_bwd_columns_f32', [cols.colBlocks, cols.chunks], 256, rowParams(partialGamma, partialBeta, cols.rowsPerChunk));
    const finish = new KernelParams().ptr(be.ptr(dgamma)).ptr(dbetaPtr).ptr(partialGamma).ptr(partialBeta).i64(C).i32(cols.chunks).bytes();
    be.device.launch1d(MODULE, 'norm_bwd_finish_f32', C, finish);
    // Stream order makes this safe: later work that reuses the blocks queues after the kernels reading them.
    be.device.release(partialGamma);
    if (partialBeta !== 0n) be.device.release(partialBeta);
    return outs;
  },
};

export const normKernels: tf.KernelConfig[] = [normFwd, normBwd];
