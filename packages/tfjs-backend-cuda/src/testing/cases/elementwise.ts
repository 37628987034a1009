/**
 * Elementwise op cases: every unary op over ragged sizes (vectorised 4-wide when the size is a multiple
 * of 4, scalar otherwise) and ranks 1–5; every binary op over same-shape, scalar and broadcast shapes
 * in both directions (the strided path, rank up to 5); comparisons and logical ops; AddN past one
 * launch's 16 inputs; Select. Tolerance: the default 1e-5 (the cuda kernels round cpu's double math once).
 */
import * as tf from '@tensorflow/tfjs';
import type { InputSpec, OpCase } from '../op-check.js';

const f = (shape: number[], range?: [number, number]): InputSpec => ({ shape, range });
const i32 = (shape: number[], range: [number, number]): InputSpec => ({ shape, dtype: 'int32', range });
const bool = (shape: number[]): InputSpec => ({ shape, dtype: 'bool' });
const dims = (s: number[]) => `[${s.join(',')}]`;

/** Sizes 1, 7, 257 and 1037 (scalar path), 297, 120 and 360 (4 | n: the 4-wide path), ranks 1–5. */
const UNARY_SHAPES = [[1], [7], [33, 9], [257], [4, 5, 6], [2, 3, 4, 5, 3], [1037]];

interface UnarySpec {
  kernel: string;
  run: (x: tf.Tensor) => tf.Tensor;
  range?: [number, number];
  grad?: boolean;
}

const UNARY: UnarySpec[] = [
  { kernel: 'Abs', run: tf.abs, grad: true },
  { kernel: 'Exp', run: tf.exp, grad: true },
  { kernel: 'Floor', run: tf.floor, range: [-5, 5], grad: true },
  { kernel: 'Log', run: tf.log, range: [0.01, 5], grad: true },
  { kernel: 'Neg', run: tf.neg, grad: true },
  { kernel: 'Relu', run: tf.relu, grad: true },
  { kernel: 'Rsqrt', run: tf.rsqrt, range: [0.05, 5], grad: true },
  { kernel: 'Sigmoid', run: tf.sigmoid, range: [-12, 12], grad: true },
  { kernel: 'Sqrt', run: tf.sqrt, range: [0.01, 5], grad: true },
  { kernel: 'Square', run: tf.square, grad: true },
  { kernel: 'Step', run: (x) => tf.step(x, 0.25), grad: true },
  { kernel: 'Tanh', run: tf.tanh, range: [-6, 6], grad: true },
];

const unaryCases: OpCase[] = UNARY.flatMap((u) =>
  UNARY_SHAPES.map((shape) => ({
    name: `${u.kernel} ${dims(shape)}`,
    kernels: [u.kernel],
    inputs: [f(shape, u.range)],
    run: u.run,
    grad: u.grad,
  })),
);

const unaryEdgeCases: OpCase[] = [
  // exp's relative accuracy over (almost) float32's whole range.
  { name: 'Exp wide range [1037]', kernels: ['Exp'], inputs: [f([1037], [-87, 87])], run: tf.exp },
  // NaN for negatives (must be NaN where cpu's is), -Infinity never (log of exactly 0 is unlikely).
  { name: 'Log of negatives [257]', kernels: ['Log'], inputs: [f([257])], run: tf.log },
  { name: 'Sqrt of negatives [257]', kernels: ['Sqrt'], inputs: [f([257])], run: tf.sqrt },
  { name: 'Rsqrt of negatives [257]', kernels: ['Rsqrt'], inputs: [f([257])], run: tf.rsqrt },
  // NaN inputs: Step keeps NaN (cpu's isNaN branch). Relu keeps it too on cpu and cuda but gives 0 on
  // wasm, so the suite (which checks the cases on wasm) cannot hold it.
  { name: 'Step of NaN [257]', kernels: ['Step', 'Log'], inputs: [f([257])], run: (x) => tf.step(tf.log(x), -1) },
  { name: 'Sigmoid saturated [33]', kernels: ['Sigmoid'], inputs: [f([33], [-100, 100])], run: tf.sigmoid },
  { name: 'LogicalNot [7,5]', kernels: ['LogicalNot'], inputs: [bool([7, 5])], run: tf.logicalNot },
];

/**
 * Shape pairs: same, scalar each side, broadcast both ways, rank 5, coalescable leading dims (also the
 * fixed pairs of test/elementwise-plan.test.ts's host-side check of the broadcast plan).
 */
export const BROADCAST_PAIRS: [number[], number[]][] = [
  [[33, 9], [33, 9]],
  [[], [257]],
  [[1037], [1]],
  [[3, 1, 5], [4, 5]],
  [[1], [2, 3, 4]],
  [[2, 3, 4], [2, 1, 4]],
  [[4, 1], [1, 7]],
  [[2, 1, 3, 1, 4], [1, 5, 1, 6, 1]],
  [[2, 3, 16], [16]],
];

interface BinarySpec {
  kernel: string;
  run: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
  ranges?: [[number, number], [number, number]];
  grad?: boolean;
  gradSameShapeOnly?: boolean;
  pairs?: [number[], number[]][];
}

const BINARY: BinarySpec[] = [
  { kernel: 'Add', run: tf.add, grad: true },
  { kernel: 'Sub', run: tf.sub, grad: true },
  { kernel: 'Multiply', run: tf.mul, grad: true },
  // Divisors in [0.5, 2] (none near 0); negative ones in the edge cases below.
  { kernel: 'RealDiv', run: (a, b) => tf.div(a, b), ranges: [[-2, 2], [0.5, 2]], grad: true },
  // tfjs's Maximum/Minimum gradients do not sum over broadcast dims: gradients for equal shapes only.
  { kernel: 'Maximum', run: tf.maximum, grad: true, gradSameShapeOnly: true },
  { kernel: 'Minimum', run: tf.minimum, grad: true, gradSameShapeOnly: true },
  { kernel: 'Pow', run: tf.pow, ranges: [[0.1, 2], [-2, 2]], grad: true },
  { kernel: 'Greater', run: tf.greater },
  { kernel: 'GreaterEqual', run: tf.greaterEqual, pairs: [BROADCAST_PAIRS[0], BROADCAST_PAIRS[3]] },
  { kernel: 'Less', run: tf.less, pairs: [BROADCAST_PAIRS[0], BROADCAST_PAIRS[3]] },
  { kernel: 'LessEqual', run: tf.lessEqual, pairs: [BROADCAST_PAIRS[0], BROADCAST_PAIRS[3]] },
  // Integer-valued floats, so equality happens often.
  { kernel: 'Equal', run: (a, b) => tf.equal(tf.floor(a), tf.floor(b)), ranges: [[0, 3], [0, 3]], pairs: [BROADCAST_PAIRS[0], BROADCAST_PAIRS[1], BROADCAST_PAIRS[3]] },
  { kernel: 'NotEqual', run: (a, b) => tf.notEqual(tf.floor(a), tf.floor(b)), ranges: [[0, 3], [0, 3]], pairs: [BROADCAST_PAIRS[0], BROADCAST_PAIRS[3]] },
];

const binaryCases: OpCase[] = BINARY.flatMap((s) =>
  (s.pairs ?? BROADCAST_PAIRS).map(([as, bs]) => ({
    name: `${s.kernel} ${dims(as)} ${dims(bs)}`,
    kernels: s.kernel === 'Equal' || s.kernel === 'NotEqual' ? [s.kernel, 'Floor'] : [s.kernel],
    inputs: [f(as, s.ranges?.[0]), f(bs, s.ranges?.[1])],
    run: s.run,
    grad: s.grad && (!s.gradSameShapeOnly || dims(as) === dims(bs)),
  })),
);

const binaryEdgeCases: OpCase[] = [
  // Negative divisors too (the spec above keeps |b| ≥ 0.5).
  { name: 'RealDiv negative divisors [3,1,5] [4,5]', kernels: ['RealDiv', 'Neg'], inputs: [f([3, 1, 5]), f([4, 5], [0.5, 2])], run: (a, b) => tf.div(a, tf.neg(b)), grad: true },
  // Negative bases: real for integer exponents (including 0 and negative ones), NaN for 0.5.
  {
    name: 'Pow negative base, integer exponents [5,7] [7]',
    kernels: ['Pow'],
    inputs: [f([5, 7])],
    run: (a) => tf.pow(a, tf.tensor1d([2, 3, -1, 0, 1, -2, 0.5])),
  },
  { name: 'Pow scalar exponent [33,9] []', kernels: ['Pow'], inputs: [f([33, 9], [0.1, 3]), f([], [0.5, 1.5])], run: tf.pow, grad: true },
  // NaN in either operand makes Maximum/Minimum NaN (Math.max/min); wasm agrees only for a NaN first operand.
  { name: 'Maximum and Minimum with NaN [257]', kernels: ['Maximum', 'Minimum', 'Log'], inputs: [f([257]), f([257])], run: (a, b) => [tf.maximum(tf.log(a), b), tf.minimum(tf.log(a), b)] },
  { name: 'Add int32 [3,1,5] [4,5]', kernels: ['Add'], inputs: [i32([3, 1, 5], [-100, 100]), i32([4, 5], [-100, 100])], run: tf.add },
  { name: 'Sub int32 [257] []', kernels: ['Sub'], inputs: [i32([257], [-100, 100]), i32([], [-100, 100])], run: tf.sub },
  { name: 'Multiply int32 [33,9] [33,9]', kernels: ['Multiply'], inputs: [i32([33, 9], [-100, 100]), i32([33, 9], [-100, 100])], run: tf.mul },
  { name: 'Maximum int32 [2,3,4] [2,1,4]', kernels: ['Maximum'], inputs: [i32([2, 3, 4], [-5, 5]), i32([2, 1, 4], [-5, 5])], run: tf.maximum },
  { name: 'Minimum int32 [1] [2,3,4]', kernels: ['Minimum'], inputs: [i32([1], [-5, 5]), i32([2, 3, 4], [-5, 5])], run: tf.minimum },
  { name: 'Greater int32 [3,1,5] [4,5]', kernels: ['Greater'], inputs: [i32([3, 1, 5], [0, 4]), i32([4, 5], [0, 4])], run: tf.greater },
  { name: 'Equal int32 [33,9] [9]', kernels: ['Equal'], inputs: [i32([33, 9], [0, 4]), i32([9], [0, 4])], run: tf.equal },
  { name: 'LogicalAnd [33,9] [33,9]', kernels: ['LogicalAnd'], inputs: [bool([33, 9]), bool([33, 9])], run: tf.logicalAnd },
  { name: 'LogicalAnd [3,1,5] [4,5]', kernels: ['LogicalAnd'], inputs: [bool([3, 1, 5]), bool([4, 5])], run: tf.logicalAnd },
  { name: 'LogicalAnd [] [257]', kernels: ['LogicalAnd'], inputs: [bool([]), bool([257])], run: tf.logicalAnd },
  { name: 'LogicalOr [2,3,4] [2,1,4]', kernels: ['LogicalOr'], inputs: [bool([2, 3, 4]), bool([2, 1, 4])], run: tf.logicalOr },
  // Greater feeding LogicalAnd and Select, as LARS's trust ratio does (no gradient: LogicalAnd has none in tfjs).
  {
    name: 'Greater, LogicalAnd, Select (LARS pattern) [33,9]',
    kernels: ['Greater', 'LogicalAnd', 'Select'],
    inputs: [f([33, 9]), f([33, 9]), f([33, 9])],
    run: (a, b, c) => tf.where(tf.logicalAnd(tf.greater(a, 0), tf.greater(b, 0)), tf.div(a, c), tf.onesLike(c)),
  },
];

const ADDN_COUNTS = [1, 2, 3, 5, 16, 17, 40];
const addNCases: OpCase[] = ADDN_COUNTS.map((k, i) => {
  const shape = [[257], [33, 9], [4, 5, 6], [1037], [7], [2, 3, 4, 5, 3], [33]][i];
  return { name: `AddN ${k} × ${dims(shape)}`, kernels: ['AddN'], inputs: Array.from({ length: k }, () => f(shape)), run: (...xs: tf.Tensor[]) => tf.addN(xs), grad: true };
});

const selectCases: OpCase[] = [
  { name: 'Select [257]', kernels: ['Select'], inputs: [bool([257]), f([257]), f([257])], run: (c, a, b) => tf.where(c, a, b), grad: true },
  { name: 'Select [2,3,4,5,3]', kernels: ['Select'], inputs: [bool([2, 3, 4, 5, 3]), f([2, 3, 4, 5, 3]), f([2, 3, 4, 5, 3])], run: (c, a, b) => tf.where(c, a, b), grad: true },
  { name: 'Select int32 [33,9]', kernels: ['Select'], inputs: [bool([33, 9]), i32([33, 9], [-9, 9]), i32([33, 9], [-9, 9])], run: (c, a, b) => tf.where(c, a, b) },
];

export const elementwiseCases: OpCase[] = [...unaryCases, ...unaryEdgeCases, ...binaryCases, ...binaryEdgeCases, ...addNCases, ...selectCases];
