/**
 * Reductions (cuda/reduce.cu): Sum, Mean, Max, Min, ArgMax over any axes, and Softmax over the last.
 *
 * tfjs's backends transpose the reduced axes innermost and then reduce rows; here the kernels read the
 * input in place through strides instead (`planReduce`): the kept axes index the output, the reduced
 * axes (ascending) index j within an output, each set with size-1 dims dropped and contiguous
 * neighbours merged. Reducing the last axes is then plain rows (a warp per row up to WARP_ROW_MAX
 * elements, a block per row above), and reducing leading axes, where the input's innermost dim is kept,
 * reads 32 adjacent outputs per block with the reduced elements split into slices (columns).
 * When that gives fewer than two blocks per SM and long reductions (bias gradients: [12800, 128] summed
 * to [128]), the reduced range is split into chunks as well (`splitReduce`): pass 1 runs the layout
 * per chunk into scratch partials [chunks, outer], pass 2 reduces each output's partials in a fixed
 * order, so the result stays deterministic (no atomics).
 * Accumulation is float32 in a fixed order, so results are deterministic but not cpu's to the last bit
 * (cpu sums in double): the op cases give their tolerance.
 *
 * ArgMax and Min are not in the zoo's training inventory; evaluation (accuracy) uses them, so they run
 * here rather than through the cpu fallback.
 */
import * as tf from '@tensorflow/tfjs';
import type { CuPtr } from '@sigattn/kernel-core';
import { KernelParams } from '../params.js';
import { cpuFallback } from '../fallback.js';
import { coalesceDims } from './elementwise.js';
import { MAX_RANK, cuda, sizeOf, stridesOf, type Info } from './util.js';

const MODULE = 'reduce';
/** Rows up to this length get one warp each; longer rows a block. */
export const WARP_ROW_MAX = 512;
/** Softmax: enough blocks to give every SM of an H100/H200 (132) two; below this, bigger blocks. */
const BUSY_BLOCKS = 264;
const MAX_ELEMENTS = 2 ** 31 - 1;
/**
 * A split's chunks give each thread of pass 1 at least this many elements, so a reduction is split only
 * where its threads would otherwise walk at least twice as far (below that, the second launch costs
 * about what it saves).
 */
export const SPLIT_MIN_PER_THREAD = 4;
/** gridDim.y, which indexes the chunks. */
const MAX_GRID_Y = 65535;
/** Pass 2 (kChunks): a warp per output, 8 warps per block. */
export const CHUNKS_BLOCK = 256;

/** ReduceMode in the .cu file; Chunks is pass 2 of a split. */
export const ReduceMode = { WarpRows: 0, BlockRows: 1, Columns: 2, Chunks: 3 } as const;
export type ReduceMode = (typeof ReduceMode)[keyof typeof ReduceMode];

export interface ReducePlan {
  /** Output elements and reduced elements per output. */
  outer: number;
  inner: number;
  /** Offset of output `row`'s first element: row decomposed over outShape, times outStrides. */
  outShape: number[];
  outStrides: number[];
  /** Offset of reduced element j from there: j decomposed over redShape, times redStrides. */
  redShape: number[];
  redStrides: number[];
  mode: ReduceMode;
  /** Threads per block. */
  block: number;
  /** Blocks along x; along y one per chunk. */
  grid: number;
  /**
   * The reduced range in `chunks` pieces of `chunkLen` (the last may be shorter, none is empty); more
   * than one chunk means a split: `mode` is pass 1 into partials [chunks, outer], then pass 2 (Chunks:
   * CHUNKS_BLOCK threads, a warp per output) finishes. One chunk: chunkLen = inner, one pass.
   */
  chunks: number;
  chunkLen: number;
}

/**
 * The chunks for a layout of `blocks` blocks with `threadsPerOutput` threads walking each output's
 * `inner` elements: enough to give every one of `smCount` SMs two blocks, each chunk at least
 * SPLIT_MIN_PER_THREAD elements per thread; one chunk when the layout is busy enough already or the
 * reduction too short to split.
 */
export function splitReduce(blocks: number, threadsPerOutput: number, inner: number, smCount: number): { chunks: number; chunkLen: number } {
  const busy = 2 * smCount;
  const most = Math.min(Math.floor(inner / (SPLIT_MIN_PER_THREAD * threadsPerOutput)), MAX_GRID_Y);
  const wanted = Math.min(Math.ceil(busy / blocks), most);
  if (blocks >= busy || wanted < 2) return { chunks: 1, chunkLen: inner };
  const chunkLen = Math.ceil(inner / wanted);
  return { chunks: Math.ceil(inner / chunkLen), chunkLen };
}

/**
 * How to reduce `axes` (any order, no repeats) of a contiguous tensor of `shape` on a device of
 * `smCount` SMs.
 */
export function planReduce(shape: readonly number[], axes: readonly number[], smCount: number): ReducePlan {
  const strides = stridesOf(shape);
  const reduced = [...axes].sort((a, b) => a - b);
  const kept = shape.map((_, d) => d).filter((d) => !reduced.includes(d));
  const out = coalesceDims(kept.map((d) => shape[d]), [kept.map((d) => strides[d])]);
  const red = coalesceDims(reduced.map((d) => shape[d]), [reduced.map((d) => strides[d])]);
  const outer = kept.reduce((n, d) => n * shape[d], 1);
  const inner = reduced.reduce((n, d) => n * shape[d], 1);
  const base = { outer, inner, outShape: out.shape, outStrides: out.strides[0], redShape: red.shape, redStrides: red.strides[0] };
  // Columns when the input's innermost (non-1) dim is kept: adjacent outputs are adjacent in memory.
  const innermostKept = outer > 1 && (inner === 1 || Math.min(...base.outStrides) < Math.min(...base.redStrides));
  const busy = 2 * smCount;
  if (innermostKept) {
    const grid = Math.ceil(outer / 32);
    const slices = inner >= 32 && grid < busy ? 32 : 8;
    return { ...base, mode: ReduceMode.Columns, block: 32 * slices, grid, ...splitReduce(grid, slices, inner, smCount) };
  }
  // Warp rows are at most WARP_ROW_MAX long (16 elements a lane): never split.
  if (inner <= WARP_ROW_MAX) return { ...base, mode: ReduceMode.WarpRows, block: 256, grid: Math.ceil(outer / 8), chunks: 1, chunkLen: inner };
  const block = outer < busy ? 1024 : 256;
  return { ...base, mode: ReduceMode.BlockRows, block, grid: outer, ...splitReduce(outer, block, inner, smCount) };
}

function offsetIn(index: number, shape: readonly number[], strides: readonly number[]): number {
  let off = 0;
  for (let d = shape.length - 1; d >= 0; d--) {
    off += (index % shape[d]) * strides[d];
    index = Math.floor(index / shape[d]);
  }
  return off;
}

/** The input offset the kernel reads for output `row`, reduced element `j` (for tests). */
export function reduceOffset(plan: ReducePlan, row: number, j: number): number {
  return offsetIn(row, plan.outShape, plan.outStrides) + offsetIn(j, plan.redShape, plan.redStrides);
}

function fallback(name: string, args: Parameters<tf.KernelFunc>[0]): Info | Info[] {
  return cpuFallback(tf.getKernel(name, 'cpu')).kernelFunc(args) as Info | Info[];
}

/** ReduceParams for one pass: `mode` writing `out` (partials when `partial`) from `x`. */
function reduceParams(plan: ReducePlan, out: CuPtr, x: CuPtr, mode: ReduceMode, partial: boolean): Uint8Array {
  return new KernelParams()
    .ptr(out).ptr(x).i64(plan.outer).i64(plan.inner).i64(plan.chunkLen)
    .i32(plan.outShape.length).i32(plan.redShape.length).i32(mode).i32(partial ? 1 : 0).i32(plan.chunks)
    .i32s(plan.outShape, MAX_RANK).i32s(plan.outStrides, MAX_RANK).i32s(plan.redShape, MAX_RANK).i32s(plan.redStrides, MAX_RANK)
    .bytes();
}

/** Launch `kernel` reducing `axes` of x into a new tensor of `shape`/`dtype`. */
function reduceInto(args: Parameters<tf.KernelFunc>[0], x: Info, axes: number[], kernel: string, shape: number[], dtype: tf.DataType): Info {
  const be = cuda(args.backend);
  const out = be.makeTensorInfo(shape, dtype);
  const n = sizeOf(x.shape);
  if (sizeOf(shape) === 0) return out;
  if (n > MAX_ELEMENTS) throw new Error(`cuda backend: reducing ${n} elements; the reduce kernels index up to 2^31-1`);
  const plan = planReduce(x.shape, axes, be.device.driver.info.smCount);
  if (plan.outShape.length > MAX_RANK || plan.redShape.length > MAX_RANK) throw new Error(`cuda backend: reduction over [${x.shape.join(', ')}] needs more than rank ${MAX_RANK}`);
  const xPtr = n === 0 ? 0n : be.ptr(x);
  if (plan.chunks === 1) {
    be.device.launch(MODULE, kernel, [plan.grid], plan.block, reduceParams(plan, be.ptr(out), xPtr, plan.mode, false));
    return out;
  }
  // The partials are accumulators: ArgMax's {value, index} pair, 4 bytes otherwise.
  const partials = be.device.alloc(plan.chunks * plan.outer * (kernel === 'reduce_argmax_f32' ? 8 : 4));
  try {
    be.device.launch(MODULE, kernel, [plan.grid, plan.chunks], plan.block, reduceParams(plan, partials, xPtr, plan.mode, true));
    be.device.launch(MODULE, kernel, [Math.ceil(plan.outer / (CHUNKS_BLOCK / 32))], CHUNKS_BLOCK, reduceParams(plan, be.ptr(out), partials, ReduceMode.Chunks, false));
  } finally {
    // Stream order makes this safe: later work that reuses the block queues after pass 2 reads it.
    be.device.release(partials);
  }
  return out;
}

type ReduceAttrs = { axis?: number | number[]; reductionIndices?: number | number[]; keepDims?: boolean };

/**
 * Sum/Mean/Max/Min: `kernels[dtype]` with its output dtype; `axisAttr` names the attribute (Max calls
 * it reductionIndices).
 */
function reduction(kernelName: string, axisAttr: 'axis' | 'reductionIndices', kernels: Partial<Record<string, [string, tf.DataType | 'same']>>): tf.KernelConfig {
  return {
    kernelName,
    backendName: 'cuda',
    kernelFunc: (args) => {
      const x = args.inputs.x as Info;
      const choice = kernels[x.dtype];
      if (choice === undefined) return fallback(kernelName, args);
      const attrs = args.attrs as ReduceAttrs;
      const axes = tf.util.parseAxisParam(attrs[axisAttr] ?? x.shape.map((_, d) => d), x.shape);
      const [outShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
      const shape = attrs.keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
      return reduceInto(args, x, axes, choice[0], shape, choice[1] === 'same' ? x.dtype : choice[1]);
    },
  };
}

const argMax: tf.KernelConfig = {
  kernelName: 'ArgMax',
  backendName: 'cuda',
  kernelFunc: (args) => {
    const x = args.inputs.x as Info;
    if (x.dtype !== 'float32') return fallback('ArgMax', args);
    // As tfjs's backends: the first of the given axes.
    const axes = [tf.util.parseAxisParam((args.attrs as { axis: number | number[] }).axis, x.shape)[0]];
    const [outShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
    return reduceInto(args, x, axes, 'reduce_argmax_f32', outShape, 'int32');
  },
};

const softmax: tf.KernelConfig = {
  kernelName: 'Softmax',
  backendName: 'cuda',
  kernelFunc: (args) => {
    const logits = args.inputs.logits as Info;
    if (logits.dtype !== 'float32') return fallback('Softmax', args);
    const rank = logits.shape.length;
    const dim = (args.attrs as { dim: number }).dim;
    if ((dim === -1 ? rank - 1 : dim) !== rank - 1) {
      throw new Error(`cuda backend: Softmax over dim ${dim} of a rank-${rank} tensor; only the last dimension is supported (as in tfjs's backends)`);
    }
    const be = cuda(args.backend);
    const out = be.makeTensorInfo([...logits.shape], 'float32');
    const size = sizeOf(logits.shape);
    if (size === 0) return out;
    const n = rank === 0 ? 1 : logits.shape[rank - 1];
    const rows = size / n;
    const warp = n <= WARP_ROW_MAX;
    const params = new KernelParams().ptr(be.ptr(out)).ptr(be.ptr(logits)).i64(rows).i64(n).i32(warp ? ReduceMode.WarpRows : ReduceMode.BlockRows).bytes();
    if (warp) be.device.launch(MODULE, 'softmax_f32', [Math.ceil(rows / 8)], 256, params);
    else be.device.launch(MODULE, 'softmax_f32', [rows], rows < BUSY_BLOCKS ? 1024 : 256, params);
    return out;
  },
};

export const reduceKernels: tf.KernelConfig[] = [
  // bool sums are int32 sums of the 0/1 ints (tfjs's Sum upcasts bool to int32).
  reduction('Sum', 'axis', { float32: ['reduce_sum_f32', 'float32'], int32: ['reduce_sum_i32', 'int32'], bool: ['reduce_sum_i32', 'int32'] }),
  reduction('Mean', 'axis', { float32: ['reduce_mean_f32', 'float32'] }),
  reduction('Max', 'reductionIndices', { float32: ['reduce_max_f32', 'same'], int32: ['reduce_max_i32', 'same'], bool: ['reduce_max_i32', 'same'] }),
  reduction('Min', 'axis', { float32: ['reduce_min_f32', 'same'], int32: ['reduce_min_i32', 'same'], bool: ['reduce_min_i32', 'same'] }),
  argMax,
  softmax,
];
