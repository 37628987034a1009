/**
 * Data-movement and creation kernels (cuda/movement.cu): views for Reshape/ExpandDims/Identity, one
 * strided-gather kernel for Transpose/Slice/SplitV/Unpack/StridedSlice/Tile, PadV2, Concat/Pack,
 * GatherV2, OneHot, Cast, Fill/OnesLike/ZerosLike and Range.
 *
 * The host side of each kernel is a pure "plan" (per-dim shapes, strides, offsets) exported here so
 * test/movement-plan.test.ts can replay the kernel's index math in TS against tfjs cpu. Plans collapse
 * adjacent dims where the index math allows (fewer divisions per element), and a plan that reads one
 * contiguous run becomes a device-to-device copy.
 *
 * No BroadcastTo kernel: tfjs's broadcastTo op dispatches Tile. GatherV2 covers batchDims 0 only.
 */
import * as tf from '@tensorflow/tfjs';
import { KernelParams } from '../params.js';
import { BYTES_PER_ELEMENT } from '../backend.js';
import type { CudaBackend } from '../backend.js';
import { checkRank, cuda, sizeOf, stridesOf, type Info } from './util.js';

const MODULE = 'movement';
/** The .cu file's MOVE_MAX_DIMS (Tile doubles the rank) and CONCAT_MAX_INPUTS. */
export const MOVE_MAX_DIMS = 12;
export const CONCAT_MAX_INPUTS = 16;
/**
 * Kernels index with int while every index is below this (the grid-stride step, at most 65535·256,
 * cannot overflow it either); larger tensors take the `_wide` (long long) variants.
 */
const NARROW_LIMIT = 2 ** 30;
const kernelFor = (name: string, ...sizes: number[]) => (sizes.every((s) => s < NARROW_LIMIT) ? name : `${name}_wide`);

// ------------------------------------------------------------------------------------------------
// Plans (pure)

/** out[i] = in[inOffset + Σ_d coord_d(i)·inStrides[d]], coord_d(i) the row-major coordinates in outShape. */
export interface GatherPlan {
  outShape: number[];
  inStrides: number[];
  inOffset: number;
}

/**
 * The same gather with fewer dims: size-1 dims dropped, and an outer dim merged into the next inner
 * one when its stride is the inner stride times the inner size (the pair then walks one arithmetic
 * sequence). Plans with no elements never launch, so their collapsed form does not matter.
 */
export function collapseGather(plan: GatherPlan): GatherPlan {
  const outShape: number[] = [];
  const inStrides: number[] = [];
  plan.outShape.forEach((size, d) => {
    const stride = plan.inStrides[d];
    if (size === 1) return;
    const last = outShape.length - 1;
    if (last >= 0 && inStrides[last] === stride * size) {
      outShape[last] *= size;
      inStrides[last] = stride;
    } else {
      outShape.push(size);
      inStrides.push(stride);
    }
  });
  return { outShape, inStrides, inOffset: plan.inOffset };
}

/** True when a (collapsed) plan reads one contiguous run in order: a copy does it. */
export function isContiguousGather(plan: GatherPlan): boolean {
  return plan.outShape.length === 0 || (plan.outShape.length === 1 && plan.inStrides[0] === 1);
}

export function transposePlan(shape: readonly number[], perm: readonly number[]): GatherPlan {
  const strides = stridesOf(shape);
  return collapseGather({ outShape: perm.map((p) => shape[p]), inStrides: perm.map((p) => strides[p]), inOffset: 0 });
}

export function slicePlan(shape: readonly number[], begin: readonly number[], size: readonly number[]): GatherPlan {
  const strides = stridesOf(shape);
  const inOffset = begin.reduce((acc, b, d) => acc + b * strides[d], 0);
  return collapseGather({ outShape: [...size], inStrides: strides, inOffset });
}

/** StridedSlice over the dense spec: dim d reads begin[d] + c·step[d] (step may be negative). */
export function stridedSlicePlan(shape: readonly number[], begin: readonly number[], step: readonly number[], outShape: readonly number[]): GatherPlan {
  const strides = stridesOf(shape);
  const inOffset = begin.reduce((acc, b, d) => acc + b * strides[d], 0);
  return collapseGather({ outShape: [...outShape], inStrides: strides.map((s, d) => s * step[d]), inOffset });
}

/**
 * StridedSlice through tfjs's sliceInfo: the output shape, and the gather plan (null when the slice
 * takes everything, so the output is a view). The dense spec has one begin/end/step per input dim; its
 * extents, in input-dim order, hold the output's elements in order (shrunk dims have extent 1, new
 * axes add only 1s to the output shape).
 */
export function stridedSliceSpec(shape: readonly number[], a: tf.StridedSliceAttrs): { plan: GatherPlan | null; outShape: number[] } {
  const info = tf.slice_util.sliceInfo([...shape], a.begin, a.end, a.strides, a.beginMask, a.endMask, a.ellipsisMask, a.newAxisMask, a.shrinkAxisMask);
  if (info.isIdentity) return { plan: null, outShape: info.finalShape };
  const extents = shape.map((_, d) => {
    const length = info.end[d] - info.begin[d];
    const step = info.strides[d];
    if (length === 0 || (length < 0) !== (step < 0)) return 0;
    return Math.trunc(length / step) + (length % step !== 0 ? 1 : 0);
  });
  if (sizeOf(extents) !== sizeOf(info.finalShape)) {
    throw new Error(`cuda backend: StridedSlice extents [${extents.join(', ')}] do not match the output shape [${info.finalShape.join(', ')}]`);
  }
  return { plan: stridedSlicePlan(shape, info.begin, info.strides, extents), outShape: info.finalShape };
}

/** Tile: each axis d as a repeat dim (reps[d], stride 0) outside an input dim (shape[d], its stride). */
export function tilePlan(shape: readonly number[], reps: readonly number[]): GatherPlan {
  const strides = stridesOf(shape);
  const outShape: number[] = [];
  const inStrides: number[] = [];
  shape.forEach((size, d) => {
    outShape.push(reps[d], size);
    inStrides.push(0, strides[d]);
  });
  return collapseGather({ outShape, inStrides, inOffset: 0 });
}

/** out[i] = in[Σ_d (coord_d − before[d])·inStride_d] if every coord_d − before[d] ∈ [0, inShape[d]), else the constant. */
export interface PadPlan {
  outShape: number[];
  inShape: number[];
  before: number[];
}

/** Collapsed: unpadded size-1 dims dropped, an unpadded dim merged into the dim outside it. */
export function padPlan(shape: readonly number[], paddings: readonly (readonly [number, number])[]): PadPlan {
  const plan: PadPlan = { outShape: [], inShape: [], before: [] };
  shape.forEach((size, d) => {
    const [before, after] = paddings[d];
    const padded = before !== 0 || after !== 0;
    if (!padded && size === 1) return;
    const last = plan.outShape.length - 1;
    if (!padded && last >= 0) {
      plan.outShape[last] *= size;
      plan.inShape[last] *= size;
      plan.before[last] *= size;
    } else {
      plan.outShape.push(before + size + after);
      plan.inShape.push(size);
      plan.before.push(before);
    }
  });
  return plan;
}

/**
 * Concat as [outer, inner_k] → [outer, Σ inner_k]: `inners[k]` is input k's size from the axis on
 * (0 for an empty input).
 */
export interface ConcatPlan {
  outer: number;
  inners: number[];
  outInner: number;
}

export function concatPlan(shapes: readonly (readonly number[])[], axis: number): ConcatPlan {
  const outer = sizeOf(shapes[0].slice(0, axis));
  const inners = shapes.map((s) => sizeOf(s.slice(axis)));
  return { outer, inners, outInner: inners.reduce((a, b) => a + b, 0) };
}

/** One concat launch: the non-empty `inputs` (indices into the plan) fill columns [colStart, colStart + width). */
export interface ConcatLaunch {
  inputs: number[];
  colStart: number;
  width: number;
  /** Column of each input within the launch's window (ascending from 0). */
  colOffsets: number[];
}

export function concatLaunches(plan: ConcatPlan, maxInputs = CONCAT_MAX_INPUTS): ConcatLaunch[] {
  const launches: ConcatLaunch[] = [];
  let col = 0;
  let current: ConcatLaunch | null = null;
  plan.inners.forEach((inner, k) => {
    if (inner > 0) {
      if (current === null || current.inputs.length === maxInputs) {
        current = { inputs: [], colStart: col, width: 0, colOffsets: [] };
        launches.push(current);
      }
      current.inputs.push(k);
      current.colOffsets.push(current.width);
      current.width += inner;
    }
    col += inner;
  });
  return launches;
}

/** tfjs cpu's Range (rangeImpl): the length and the step it really uses. */
export function rangeLength(start: number, stop: number, step: number): { size: number; step: number } {
  if (start === stop || (start < stop && step < 0) || (stop < start && step > 1)) return { size: 0, step };
  const size = Math.abs(Math.ceil((stop - start) / step));
  return { size, step: stop < start && step === 1 ? -1 : step };
}

/**
 * Whether the closed form (start + i·step in one rounding) gives tfjs cpu's accumulated values exactly:
 * int32 with a safe-integer step (integer sums wrap the same way in 32 bits); float32 when start and
 * step are multiples of one power of two 2^-k and every value of the range is below 2^24·2^-k (then
 * every partial sum is exactly representable, so no addition rounds).
 */
export function rangeIsAffine(start: number, step: number, size: number, dtype: 'float32' | 'int32'): boolean {
  if (!Number.isFinite(start) || !Number.isFinite(step)) return false;
  if (dtype === 'int32') return Number.isSafeInteger(step);
  if (size >= 2 ** 24) return false;
  for (let k = 0; k <= 60; k++) {
    const scale = 2 ** k;
    const s = start * scale;
    const t = step * scale;
    if (!Number.isInteger(s) || !Number.isInteger(t)) continue;
    const limit = 2 ** 24;
    if (Math.abs(s) >= limit || Math.abs(t) >= limit) return false;
    return Math.abs(s + (size - 1) * t) < limit;
  }
  return false;
}

/** The 32-bit pattern the device holds for `value` as `dtype` (the typed-array conversions tfjs cpu does). */
export function bits32(value: number, dtype: tf.DataType): number {
  if (dtype === 'float32') return new Int32Array(Float32Array.of(value).buffer)[0];
  if (dtype === 'int32') return Int32Array.of(value)[0];
  if (dtype === 'bool') return Uint8Array.of(value)[0];
  throw new Error(`cuda backend: no ${dtype} tensors on the GPU`);
}

/** A double as the [lo, hi] 32-bit words the kernels reassemble with __hiloint2double. */
function doubleWords(x: number): [number, number] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x, true);
  return [view.getInt32(0, true), view.getInt32(4, true)];
}

// ------------------------------------------------------------------------------------------------
// Launchers

const bytes = (elements: number) => elements * BYTES_PER_ELEMENT;
const offsetPtr = (be: CudaBackend, t: Info, elements: number) => be.ptr(t) + BigInt(bytes(elements));

/** Run a gather plan from x into a new tensor of `shape` (same element count as the plan). */
function gather(be: CudaBackend, x: Info, plan: GatherPlan, shape: number[]): Info {
  const out = be.makeTensorInfo(shape, x.dtype);
  const n = sizeOf(shape);
  if (n === 0) return out;
  if (isContiguousGather(plan)) {
    be.device.copy(be.ptr(out), offsetPtr(be, x, plan.inOffset), bytes(n));
    return out;
  }
  if (plan.outShape.length > MOVE_MAX_DIMS) throw new Error(`cuda backend: a gather over ${plan.outShape.length} dims; the kernel indexes up to ${MOVE_MAX_DIMS}`);
  const params = new KernelParams()
    .ptr(be.ptr(out))
    .ptr(be.ptr(x))
    .i64(n)
    .i64(plan.inOffset)
    .i32(plan.outShape.length)
    .i64s(plan.outShape, MOVE_MAX_DIMS)
    .i64s(plan.inStrides, MOVE_MAX_DIMS)
    .bytes();
  be.device.launch1d(MODULE, kernelFor('gather_b32', n, sizeOf(x.shape)), n, params);
  return out;
}

function fill(be: CudaBackend, shape: number[], dtype: tf.DataType, pattern: number): Info {
  const out = be.makeTensorInfo(shape, dtype);
  const n = sizeOf(shape);
  be.device.launch1d(MODULE, 'fill_b32', n, new KernelParams().ptr(be.ptr(out)).i64(n).i32(pattern).bytes());
  return out;
}

function castKernel(be: CudaBackend, x: Info, dtype: tf.DataType, kernel: string): Info {
  const out = be.makeTensorInfo([...x.shape], dtype);
  const n = sizeOf(x.shape);
  be.device.launch1d(MODULE, kernel, n, new KernelParams().ptr(be.ptr(out)).ptr(be.ptr(x)).i64(n).bytes());
  return out;
}

function copyOf(be: CudaBackend, x: Info, dtype: tf.DataType): Info {
  const out = be.makeTensorInfo([...x.shape], dtype);
  be.device.copy(be.ptr(out), be.ptr(x), bytes(sizeOf(x.shape)));
  return out;
}

function concatInto(be: CudaBackend, inputs: readonly Info[], shapes: readonly (readonly number[])[], axis: number): Info {
  const outShape = tf.backend_util.computeOutShape(shapes as number[][], axis);
  const dtype = inputs[0].dtype;
  const nonEmpty = inputs.filter((t) => sizeOf(t.shape) > 0);
  if (sizeOf(outShape) === 0) return be.makeTensorInfo(outShape, dtype);
  // One non-empty input holds the whole output already (tfjs cpu returns it as is, too).
  if (nonEmpty.length === 1) return be.view(nonEmpty[0], outShape);
  const out = be.makeTensorInfo(outShape, dtype);
  const plan = concatPlan(shapes, axis);
  const launches = concatLaunches(plan);
  if (plan.outer === 1) {
    // Every input is one contiguous run of the output.
    for (const launch of launches) {
      launch.inputs.forEach((k, j) => be.device.copy(offsetPtr(be, out, launch.colStart + launch.colOffsets[j]), be.ptr(inputs[k]), bytes(plan.inners[k])));
    }
    return out;
  }
  const kernel = kernelFor('concat_b32', sizeOf(outShape));
  for (const launch of launches) {
    const n = plan.outer * launch.width;
    const params = new KernelParams().ptr(be.ptr(out));
    for (let j = 0; j < CONCAT_MAX_INPUTS; j++) params.ptr(j < launch.inputs.length ? be.ptr(inputs[launch.inputs[j]]) : 0n);
    params.i64(n).i64(launch.width).i64(plan.outInner).i64(launch.colStart).i32(launch.inputs.length)
      .i64s(launch.colOffsets, CONCAT_MAX_INPUTS)
      .i64s(launch.inputs.map((k) => plan.inners[k]), CONCAT_MAX_INPUTS);
    be.device.launch1d(MODULE, kernel, n, params.bytes());
  }
  return out;
}

/** The shape with a 1 inserted at `dim` (negative counts from the end of the new rank), as tfjs ExpandDims. */
function expandedShape(shape: readonly number[], dim: number): number[] {
  const rank = shape.length;
  if (dim < -(rank + 1) || dim > rank) throw new Error(`cuda backend: ExpandDims axis ${dim} outside [${-(rank + 1)}, ${rank}] for a rank-${rank} tensor`);
  const out = [...shape];
  out.splice(dim < 0 ? rank + dim + 1 : dim, 0, 1);
  return out;
}

// ------------------------------------------------------------------------------------------------
// Kernels

type KernelArgs = Parameters<tf.KernelFunc>[0];
type Attrs = Record<string, unknown>;
const attrsOf = (args: KernelArgs) => (args.attrs ?? {}) as Attrs;
const inputList = (args: KernelArgs) => Object.values(args.inputs) as Info[];

function config(kernelName: string, kernelFunc: (args: KernelArgs, be: CudaBackend) => Info | Info[]): tf.KernelConfig {
  return { kernelName, backendName: 'cuda', kernelFunc: (args) => kernelFunc(args, cuda(args.backend)) };
}

const reshape = config(tf.Reshape, ({ inputs, attrs }, be) => {
  const x = inputs.x as Info;
  const size = sizeOf(x.shape);
  const shape = tf.util.inferFromImplicitShape([...((attrs as Attrs).shape as number[])], size);
  if (sizeOf(shape) !== size) throw new Error(`cuda backend: Reshape of [${x.shape.join(', ')}] (${size} elements) to [${shape.join(', ')}] (${sizeOf(shape)})`);
  return be.view(x, shape);
});

const expandDims = config(tf.ExpandDims, ({ inputs, attrs }, be) => {
  const x = inputs.input as Info;
  return be.view(x, expandedShape(x.shape, (attrs as Attrs).dim as number));
});

const identity = config(tf.Identity, ({ inputs }, be) => {
  const x = inputs.x as Info;
  return be.view(x, [...x.shape]);
});

const cast = config(tf.Cast, ({ inputs, attrs }, be) => {
  const x = inputs.x as Info;
  const dtype = (attrs as Attrs).dtype as tf.DataType;
  if (x.dtype === dtype) return be.view(x, [...x.shape]);
  const from = x.dtype;
  if (dtype === 'float32' && (from === 'int32' || from === 'bool')) return castKernel(be, x, dtype, 'cast_i32_f32');
  if (dtype === 'int32' && from === 'float32') return castKernel(be, x, dtype, 'cast_f32_i32');
  // bool is int 0/1 already; a copy (not a view) so the new tensor's storage says int32.
  if (dtype === 'int32' && from === 'bool') return copyOf(be, x, dtype);
  if (dtype === 'bool' && from === 'float32') return castKernel(be, x, dtype, 'cast_f32_bool');
  if (dtype === 'bool' && from === 'int32') return castKernel(be, x, dtype, 'cast_i32_bool');
  throw new Error(`cuda backend: Cast from ${from} to ${dtype} is not supported (float32, int32 and bool only)`);
});

const transpose = config(tf.Transpose, ({ inputs, attrs }, be) => {
  const x = inputs.x as Info;
  const perm = (attrs as Attrs).perm as number[];
  checkRank(x.shape, 'Transpose');
  const outShape = perm.map((p) => x.shape[p]);
  if (perm.every((p, i) => p === i)) return be.view(x, outShape);
  return gather(be, x, transposePlan(x.shape, perm), outShape);
});

const slice = config(tf.Slice, ({ inputs, attrs }, be) => {
  const x = inputs.x as Info;
  const a = attrs as Attrs;
  checkRank(x.shape, 'Slice');
  const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, a.begin as number[], a.size as number[]);
  tf.slice_util.assertParamsValid(x as unknown as tf.Tensor, begin, size);
  return gather(be, x, slicePlan(x.shape, begin, size), size);
});

const stridedSlice = config(tf.StridedSlice, ({ inputs, attrs }, be) => {
  const x = inputs.x as Info;
  checkRank(x.shape, 'StridedSlice');
  const { plan, outShape } = stridedSliceSpec(x.shape, attrs as unknown as tf.StridedSliceAttrs);
  return plan === null ? be.view(x, outShape) : gather(be, x, plan, outShape);
});

const tile = config(tf.Tile, ({ inputs, attrs }, be) => {
  const x = inputs.x as Info;
  const reps = (attrs as Attrs).reps as number[];
  checkRank(x.shape, 'Tile');
  if (reps.length !== x.shape.length) throw new Error(`cuda backend: Tile with ${reps.length} reps for a rank-${x.shape.length} tensor`);
  return gather(be, x, tilePlan(x.shape, reps), x.shape.map((s, d) => s * reps[d]));
});

const padV2 = config(tf.PadV2, ({ inputs, attrs }, be) => {
  const x = inputs.x as Info;
  const a = attrs as Attrs;
  const paddings = a.paddings as [number, number][];
  checkRank(x.shape, 'PadV2');
  if (paddings.some(([b, e]) => b < 0 || e < 0)) throw new Error(`cuda backend: PadV2 with negative paddings ${JSON.stringify(paddings)}; use slice to crop`);
  const outShape = x.shape.map((s, d) => paddings[d][0] + s + paddings[d][1]);
  if (paddings.every(([b, e]) => b === 0 && e === 0)) return be.view(x, outShape);
  const out = be.makeTensorInfo(outShape, x.dtype);
  const n = sizeOf(outShape);
  if (n === 0) return out;
  const plan = padPlan(x.shape, paddings);
  const params = new KernelParams()
    .ptr(be.ptr(out))
    .ptr(be.ptr(x))
    .i64(n)
    .i32(plan.outShape.length)
    .i32(bits32(a.constantValue as number, x.dtype))
    .i64s(plan.outShape, 6)
    .i64s(plan.inShape, 6)
    .i64s(plan.before, 6)
    .i64s(stridesOf(plan.inShape), 6)
    .bytes();
  be.device.launch1d(MODULE, kernelFor('pad_b32', n, sizeOf(x.shape)), n, params);
  return out;
});

const concat = config(tf.Concat, (args, be) => {
  const inputs = inputList(args);
  const axis = tf.util.parseAxisParam(attrsOf(args).axis as number, inputs[0].shape)[0];
  const shapes = inputs.map((t) => t.shape);
  tf.backend_util.assertParamsConsistent(shapes, axis);
  for (const t of inputs) checkRank(t.shape, 'Concat');
  return concatInto(be, inputs, shapes, axis);
});

const pack = config(tf.Pack, (args, be) => {
  const inputs = inputList(args);
  const axis = attrsOf(args).axis as number;
  for (const t of inputs) {
    if (t.shape.join() !== inputs[0].shape.join() || t.dtype !== inputs[0].dtype) throw new Error('cuda backend: Pack (stack) needs tensors of one shape and dtype');
  }
  const shape = expandedShape(inputs[0].shape, axis);
  checkRank(shape, 'Pack');
  if (inputs.length === 1) return be.view(inputs[0], shape);
  const $axis = tf.util.parseAxisParam(axis, shape)[0];
  return concatInto(be, inputs, inputs.map(() => shape), $axis);
});

const splitV = config(tf.SplitV, ({ inputs, attrs }, be) => {
  const x = inputs.x as Info;
  const a = attrs as Attrs;
  checkRank(x.shape, 'SplitV');
  const axis = tf.util.parseAxisParam(a.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, a.numOrSizeSplits as number[] | number, axis);
  const begin = x.shape.map(() => 0);
  return sizes.map((s) => {
    const size = [...x.shape];
    size[axis] = s;
    const out = gather(be, x, slicePlan(x.shape, begin, size), size);
    begin[axis] += s;
    return out;
  });
});

const unpack = config(tf.Unpack, ({ inputs, attrs }, be) => {
  const x = inputs.value as Info;
  checkRank(x.shape, 'Unpack');
  const rank = x.shape.length;
  let axis = (attrs as Attrs).axis as number;
  if (axis < 0) axis += rank;
  const outShape = x.shape.filter((_, d) => d !== axis);
  const size = x.shape.map((s, d) => (d === axis ? 1 : s));
  return Array.from({ length: x.shape[axis] }, (_, i) => {
    const begin = x.shape.map((_, d) => (d === axis ? i : 0));
    return gather(be, x, slicePlan(x.shape, begin, size), outShape);
  });
});

const gatherV2 = config(tf.GatherV2, ({ inputs, attrs }, be) => {
  const x = inputs.x as Info;
  const indices = inputs.indices as Info;
  const a = attrs as Attrs;
  const batchDims = (a.batchDims as number | undefined) ?? 0;
  if (batchDims !== 0) throw new Error(`cuda backend: GatherV2 with batchDims ${batchDims}; only batchDims 0 is implemented (reshape the batch into the gathered axis, or gather per batch)`);
  if (indices.dtype !== 'int32') throw new Error(`cuda backend: GatherV2 indices must be int32, got ${indices.dtype}`);
  const axis = tf.util.parseAxisParam(a.axis as number, x.shape)[0];
  const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(x as unknown as tf.Tensor, indices as unknown as tf.Tensor, axis, 0);
  const out = be.makeTensorInfo(info.outputShape, x.dtype);
  const n = sizeOf(info.outputShape);
  if (n === 0) return out;
  const count = sizeOf(indices.shape);
  const params = new KernelParams()
    .ptr(be.ptr(out))
    .ptr(be.ptr(x))
    .ptr(be.ptr(indices))
    .i64(n)
    .i64(info.dimSize)
    .i64(info.sliceSize)
    .i64(count)
    .bytes();
  be.device.launch1d(MODULE, kernelFor('gather_axis_b32', n, sizeOf(x.shape)), n, params);
  return out;
});

const oneHot = config(tf.OneHot, ({ inputs, attrs }, be) => {
  const indices = inputs.indices as Info;
  const a = attrs as Attrs;
  const depth = a.depth as number;
  const dtype = (a.dtype as tf.DataType | undefined) ?? 'int32';
  if (indices.dtype !== 'int32') throw new Error(`cuda backend: OneHot indices must be int32, got ${indices.dtype}`);
  const out = be.makeTensorInfo([...indices.shape, depth], dtype);
  const n = sizeOf(indices.shape) * depth;
  const params = new KernelParams()
    .ptr(be.ptr(out))
    .ptr(be.ptr(indices))
    .i64(n)
    .i64(depth)
    .i32(bits32(a.onValue as number, dtype))
    .i32(bits32(a.offValue as number, dtype))
    .bytes();
  be.device.launch1d(MODULE, kernelFor('one_hot_b32', n), n, params);
  return out;
});

const fillKernel = config(tf.Fill, ({ attrs }, be) => {
  const a = attrs as Attrs;
  const value = a.value as number;
  const dtype = (a.dtype as tf.DataType | undefined) ?? tf.util.inferDtype(value);
  return fill(be, [...(a.shape as number[])], dtype, bits32(value, dtype));
});

const onesLike = config(tf.OnesLike, ({ inputs }, be) => {
  const x = inputs.x as Info;
  return fill(be, [...x.shape], x.dtype, bits32(1, x.dtype));
});

const zerosLike = config(tf.ZerosLike, ({ inputs }, be) => {
  const x = inputs.x as Info;
  return fill(be, [...x.shape], x.dtype, 0);
});

const range = config(tf.Range, ({ attrs }, be) => {
  const a = attrs as Attrs;
  const dtype = a.dtype as tf.DataType;
  if (dtype !== 'float32' && dtype !== 'int32') throw new Error(`cuda backend: Range of dtype ${dtype}; float32 or int32 only`);
  const start = a.start as number;
  const { size, step } = rangeLength(start, a.stop as number, a.step as number);
  const out = be.makeTensorInfo([size], dtype);
  if (size === 0) return out;
  const suffix = dtype === 'float32' ? 'f32' : 'i32';
  if (rangeIsAffine(start, step, size, dtype)) {
    // int32: the first value and the step as 32-bit words (the kernel adds modulo 2^32).
    const [startLo, startHi] = dtype === 'int32' ? [bits32(start, 'int32'), 0] : doubleWords(start);
    const [stepLo, stepHi] = dtype === 'int32' ? [Number(BigInt.asIntN(32, BigInt(step))), 0] : doubleWords(step);
    const params = new KernelParams().ptr(be.ptr(out)).i64(size).i32(startLo).i32(startHi).i32(stepLo).i32(stepHi).bytes();
    be.device.launch1d(MODULE, `range_affine_${suffix}`, size, params);
  } else {
    const [startLo, startHi] = doubleWords(start);
    const [stepLo, stepHi] = doubleWords(step);
    const params = new KernelParams().ptr(be.ptr(out)).i64(size).i32(startLo).i32(startHi).i32(stepLo).i32(stepHi).bytes();
    be.device.launch(MODULE, `range_serial_${suffix}`, [1], 1, params);
  }
  return out;
});

export const movementKernels: tf.KernelConfig[] = [
  reshape, expandDims, identity, cast, transpose, slice, stridedSlice, tile, padV2, concat, pack, splitV, unpack,
  gatherV2, oneHot, fillKernel, onesLike, zerosLike, range,
];
