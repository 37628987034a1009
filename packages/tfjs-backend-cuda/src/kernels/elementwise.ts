/**
 * Elementwise kernels (cuda/elementwise.cu): unary ops over contiguous data, binary ops with numpy
 * broadcasting, AddN and Select. Semantics follow tfjs's cpu backend (NaN handling of Maximum/Minimum/
 * Relu/Step, JavaScript's Math.pow); see the .cu file for how the values match cpu's double math.
 *
 * Binary launch plan (`planBinary`): same shape → one index for all; one side a single element → a
 * scalar read; otherwise every output index is decomposed over the output shape with per-input strides
 * (0 where the input repeats), after dropping size-1 dimensions and merging neighbours that are
 * contiguous in both inputs (`coalesceDims`), so [N, C] + [C] indexes as rank 2 whatever rank it had.
 * The first three move 4 elements per thread when the sizes and pointers allow.
 *
 * Dtypes a kernel has no cuda code for (e.g. int32 Pow) run through the cpu fallback.
 */
import * as tf from '@tensorflow/tfjs';
import type { CuPtr } from '@sigattn/kernel-core';
import { KernelParams } from '../params.js';
import { cpuFallback } from '../fallback.js';
import { MAX_RANK, broadcastStrides, cuda, sizeOf, type Info } from './util.js';

const MODULE = 'elementwise';
/** Inputs one AddN launch sums (ADDN_MAX in the .cu file). */
export const ADDN_MAX = 16;
/** Strided index math is 32-bit per dimension (int strides in the kernel structs). */
const MAX_ELEMENTS = 2 ** 31 - 1;

/** BinaryMode in the .cu file. */
export const BinaryMode = { Same: 0, ScalarA: 1, ScalarB: 2, Strided: 3 } as const;
export type BinaryMode = (typeof BinaryMode)[keyof typeof BinaryMode];

export interface BinaryPlan {
  mode: BinaryMode;
  /** Strided only: the coalesced output shape and each input's element strides over it. */
  shape: number[];
  aStrides: number[];
  bStrides: number[];
}

/**
 * Drop size-1 dimensions and merge dimension i into i+1 wherever every operand steps through both as
 * one run (stride[i] = stride[i+1]·shape[i+1]; broadcast runs have stride 0 in both). The element
 * offsets of every index stay the same. A shape with no dimension left becomes [1] with stride 0.
 */
export function coalesceDims(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[d] * shape[d])) {
      outShape[last] *= shape[d];
      strides.forEach((s, k) => (outStrides[k][last] = s[d]));
    } else {
      outShape.push(shape[d]);
      strides.forEach((s, k) => outStrides[k].push(s[d]));
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  return { shape: outShape, strides: outStrides };
}

export function planBinary(aShape: readonly number[], bShape: readonly number[], outShape: readonly number[]): BinaryPlan {
  const n = sizeOf(outShape);
  const aSize = sizeOf(aShape);
  const bSize = sizeOf(bShape);
  const none = { shape: [], aStrides: [], bStrides: [] };
  // Equal sizes mean no dimension is broadcast (only leading 1s differ): the same row-major index.
  if (aSize === n && bSize === n) return { mode: BinaryMode.Same, ...none };
  if (aSize === 1 && bSize === n) return { mode: BinaryMode.ScalarA, ...none };
  if (bSize === 1 && aSize === n) return { mode: BinaryMode.ScalarB, ...none };
  const c = coalesceDims(outShape, [broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
  if (c.shape.length > MAX_RANK) throw new Error(`cuda backend: broadcasting [${aShape.join(', ')}] with [${bShape.join(', ')}] needs rank ${c.shape.length}; the kernels index up to rank ${MAX_RANK}`);
  return { mode: BinaryMode.Strided, shape: c.shape, aStrides: c.strides[0], bStrides: c.strides[1] };
}

/** The element offsets in a and b of output element i under `plan` (the kernel's index math, for tests). */
export function binaryOffsets(plan: BinaryPlan, i: number): [number, number] {
  if (plan.mode === BinaryMode.Same) return [i, i];
  if (plan.mode === BinaryMode.ScalarA) return [0, i];
  if (plan.mode === BinaryMode.ScalarB) return [i, 0];
  let ia = 0;
  let ib = 0;
  for (let d = plan.shape.length - 1; d >= 0; d--) {
    const c = i % plan.shape[d];
    i = Math.floor(i / plan.shape[d]);
    ia += c * plan.aStrides[d];
    ib += c * plan.bStrides[d];
  }
  return [ia, ib];
}

const aligned16 = (...ptrs: CuPtr[]) => ptrs.every((p) => p % 16n === 0n);

function checkSize(n: number, op: string): void {
  if (n > MAX_ELEMENTS) throw new Error(`cuda backend: ${op} on ${n} elements; the elementwise kernels index up to 2^31-1`);
}

/** Run the cpu kernel through the fallback (dtypes without cuda code). */
function fallback(name: string, args: Parameters<tf.KernelFunc>[0]): Info | Info[] {
  return cpuFallback(tf.getKernel(name, 'cpu')).kernelFunc(args) as Info | Info[];
}

type DeviceDtype = 'float32' | 'int32' | 'bool';

/** A unary kernel: `kernels[dtype]` is the .cu kernel for that input dtype; the output keeps it unless `outDtype`. */
function unary(kernelName: string, kernels: Partial<Record<DeviceDtype, string>>, attrAlpha = false): tf.KernelConfig {
  return {
    kernelName,
    backendName: 'cuda',
    kernelFunc: (args) => {
      const x = args.inputs.x as Info;
      const kernel = kernels[x.dtype as DeviceDtype];
      if (kernel === undefined) return fallback(kernelName, args);
      const be = cuda(args.backend);
      const out = be.makeTensorInfo([...x.shape], x.dtype);
      const n = sizeOf(x.shape);
      if (n === 0) return out;
      const xp = be.ptr(x);
      const op = be.ptr(out);
      const vec = n % 4 === 0 && aligned16(xp, op);
      const alpha = attrAlpha ? Number((args.attrs as { alpha?: number }).alpha ?? 0) : 0;
      const params = new KernelParams().ptr(op).ptr(xp).i64(n).f32(alpha).i32(vec ? 1 : 0).bytes();
      be.device.launch1d(MODULE, kernel, vec ? n / 4 : n, params);
      return out;
    },
  };
}

/** A binary kernel with broadcasting: `kernels[dtype]` by the (shared) input dtype; `outDtype` for comparisons. */
function binary(kernelName: string, kernels: Partial<Record<DeviceDtype, string>>, outDtype?: 'bool'): tf.KernelConfig {
  return {
    kernelName,
    backendName: 'cuda',
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: Info; b: Info };
      const kernel = a.dtype === b.dtype ? kernels[a.dtype as DeviceDtype] : undefined;
      if (kernel === undefined) return fallback(kernelName, args);
      const be = cuda(args.backend);
      const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const out = be.makeTensorInfo(outShape, outDtype ?? a.dtype);
      const n = sizeOf(outShape);
      if (n === 0) return out;
      checkSize(n, kernelName);
      const plan = planBinary(a.shape, b.shape, outShape);
      const [ap, bp, op] = [be.ptr(a), be.ptr(b), be.ptr(out)];
      const fullSize = [op, ...(plan.mode === BinaryMode.ScalarA ? [] : [ap]), ...(plan.mode === BinaryMode.ScalarB ? [] : [bp])];
      const vec = plan.mode !== BinaryMode.Strided && n % 4 === 0 && aligned16(...fullSize);
      const params = new KernelParams()
        .ptr(op).ptr(ap).ptr(bp).i64(n)
        .i32(plan.mode).i32(vec ? 1 : 0).i32(plan.shape.length)
        .i32s(plan.shape, MAX_RANK).i32s(plan.aStrides, MAX_RANK).i32s(plan.bStrides, MAX_RANK)
        .bytes();
      be.device.launch1d(MODULE, kernel, vec ? n / 4 : n, params);
      return out;
    },
  };
}

const addN: tf.KernelConfig = {
  kernelName: 'AddN',
  backendName: 'cuda',
  kernelFunc: (args) => {
    const xs = args.inputs as unknown as Info[];
    if (xs.some((x) => x.dtype !== 'float32')) return fallback('AddN', args);
    const be = cuda(args.backend);
    const shape = [...xs[0].shape];
    for (const x of xs) {
      if (!tf.util.arraysEqual(x.shape, shape)) throw new Error(`cuda backend: AddN inputs must have one shape; got [${x.shape.join(', ')}] and [${shape.join(', ')}]`);
    }
    const out = be.makeTensorInfo(shape, 'float32');
    const n = sizeOf(shape);
    if (n === 0) return out;
    const op = be.ptr(out);
    // Left to right: the first launch sums x0…x15, each later one adds up to 15 more to the running sum.
    let ptrs = xs.slice(0, ADDN_MAX).map((x) => be.ptr(x));
    let next = ptrs.length;
    for (;;) {
      const params = new KernelParams().ptr(op);
      for (let k = 0; k < ADDN_MAX; k++) params.ptr(k < ptrs.length ? ptrs[k] : 0n);
      be.device.launch1d(MODULE, 'addn_f32', n, params.i64(n).i32(ptrs.length).bytes());
      if (next >= xs.length) break;
      ptrs = [op, ...xs.slice(next, next + ADDN_MAX - 1).map((x) => be.ptr(x))];
      next += ptrs.length - 1;
    }
    return out;
  },
};

const select: tf.KernelConfig = {
  kernelName: 'Select',
  backendName: 'cuda',
  kernelFunc: (args) => {
    const { condition, t, e } = args.inputs as { condition: Info; t: Info; e: Info };
    if (t.dtype !== e.dtype || !tf.util.arraysEqual(t.shape, e.shape)) return fallback('Select', args);
    const be = cuda(args.backend);
    const out = be.makeTensorInfo([...t.shape], t.dtype);
    const n = sizeOf(t.shape);
    if (n === 0) return out;
    const condSize = sizeOf(condition.shape);
    // tfjs's Select: a condition of the output's size picks per element, a rank-1 one per first-axis row.
    let rowSize: number;
    if (condSize === n) rowSize = 1;
    else if (condition.shape.length === 1 && t.shape.length > 1 && condition.shape[0] === t.shape[0]) rowSize = sizeOf(t.shape.slice(1));
    else throw new Error(`cuda backend: Select condition [${condition.shape.join(', ')}] does not fit the values [${t.shape.join(', ')}]`);
    const params = new KernelParams().ptr(be.ptr(out)).ptr(be.ptr(condition)).ptr(be.ptr(t)).ptr(be.ptr(e)).i64(n).i64(rowSize).bytes();
    be.device.launch1d(MODULE, 'select_32', n, params);
    return out;
  },
};

const f32 = (k: string) => ({ float32: `${k}_f32` });
const f32i32 = (k: string) => ({ float32: `${k}_f32`, int32: `${k}_i32` });
// Comparisons read bool inputs as their 0/1 ints.
const compare = (k: string) => ({ float32: `${k}_f32`, int32: `${k}_i32`, bool: `${k}_i32` });

export const elementwiseKernels: tf.KernelConfig[] = [
  unary('Abs', f32('unary_abs')),
  unary('Exp', f32('unary_exp')),
  unary('Floor', f32('unary_floor')),
  unary('Log', f32('unary_log')),
  unary('Neg', f32('unary_neg')),
  unary('Relu', f32('unary_relu')),
  unary('Rsqrt', f32('unary_rsqrt')),
  unary('Sigmoid', f32('unary_sigmoid')),
  unary('Sqrt', f32('unary_sqrt')),
  unary('Square', f32('unary_square')),
  unary('Step', f32('unary_step'), true),
  unary('Tanh', f32('unary_tanh')),
  unary('LogicalNot', { bool: 'unary_logical_not_bool' }),
  binary('Add', f32i32('binary_add')),
  binary('Sub', f32i32('binary_sub')),
  binary('Multiply', f32i32('binary_mul')),
  binary('RealDiv', f32('binary_div')),
  binary('Maximum', f32i32('binary_maximum')),
  binary('Minimum', f32i32('binary_minimum')),
  binary('Pow', f32('binary_pow')),
  binary('Greater', compare('binary_greater'), 'bool'),
  binary('GreaterEqual', compare('binary_greater_equal'), 'bool'),
  binary('Less', compare('binary_less'), 'bool'),
  binary('LessEqual', compare('binary_less_equal'), 'bool'),
  binary('Equal', compare('binary_equal'), 'bool'),
  binary('NotEqual', compare('binary_not_equal'), 'bool'),
  binary('LogicalAnd', { bool: 'binary_logical_and_bool' }, 'bool'),
  binary('LogicalOr', { bool: 'binary_logical_or_bool' }, 'bool'),
  addN,
  select,
];
