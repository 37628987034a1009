/**
 * Reduction op cases: Sum, Mean, Max, Min and ArgMax over the last axis (a warp per row, or a block per
 * row past 512 elements), the first/leading axes (the column layout, with 8 or 32 slices), a middle
 * axis, several non-adjacent axes, all axes, with keepDims both ways and ranks 1–5; Softmax over short
 * and long rows. NaN and tie semantics of Max/Min/ArgMax use log of negatives and floored inputs.
 * Long reductions with few outputs take the two-pass split on a 132-SM device (chunks of the reduced
 * range, then the chunks' partials): the ViT's bias-gradient sums, long columns, long rows.
 *
 * Tolerance: tfjs's cpu backend sums in double; the cuda kernels sum in float32 (a per-thread run
 * then a fixed tree), and wasm sums in float32 left to right, whose error grows fastest: about
 * √n·2^-24 times the partial sums' size, 8e-6 of (1 + |sum|) measured for rows of 600 on wasm. So
 * sums over more than 500 elements (and Mean and Softmax's normaliser over such rows) are checked at
 * 1e-4, shorter ones at the default 1e-5.
 */
import * as tf from '@tensorflow/tfjs';
import type { InputSpec, OpCase } from '../op-check.js';

const f = (shape: number[], range?: [number, number]): InputSpec => ({ shape, range });
const dims = (s: number[]) => `[${s.join(',')}]`;
const LONG_SUM_TOL = 1e-4;

interface AxisCase {
  shape: number[];
  axis: number | number[] | null;
  keepDims?: boolean;
}

/** Every layout: rows (warp, block with few and with many rows), columns (8 and 32 slices), mixed. */
const AXIS_CASES: AxisCase[] = [
  { shape: [33, 9], axis: -1 },
  { shape: [33, 9], axis: 0 },
  { shape: [257], axis: 0, keepDims: true },
  { shape: [5000], axis: null },
  { shape: [7, 5000], axis: 1 },
  { shape: [300, 600], axis: 1, keepDims: true },
  { shape: [1000, 3], axis: 0 },
  { shape: [40, 9000], axis: 0 },
  { shape: [4, 5, 6], axis: 1 },
  { shape: [4, 5, 6], axis: [0, 2] },
  { shape: [4, 5, 6], axis: [2, 0], keepDims: true },
  { shape: [3, 4, 5], axis: [0, 1] },
  { shape: [2, 3, 4, 5, 3], axis: [1, 3], keepDims: true },
  { shape: [2, 3, 4, 5, 3], axis: [0, 2, 4] },
  { shape: [2, 3, 4, 5, 3], axis: null, keepDims: true },
  { shape: [6, 1, 7], axis: 1 },
  { shape: [1, 1037], axis: 0 },
];

const reducedSize = (c: AxisCase) => {
  const axes = c.axis === null ? c.shape.map((_, d) => d) : [c.axis].flat().map((a) => (a < 0 ? a + c.shape.length : a));
  return axes.reduce((n, d) => n * c.shape[d], 1);
};
const axisName = (c: AxisCase) => `axis ${c.axis === null ? 'all' : JSON.stringify(c.axis)}${c.keepDims ? ' keepDims' : ''}`;
const tolFor = (c: AxisCase) => (reducedSize(c) > 500 ? LONG_SUM_TOL : undefined);
const axisArg = (c: AxisCase) => c.axis ?? undefined;

const sumCases: OpCase[] = AXIS_CASES.map((c) => ({
  name: `Sum ${dims(c.shape)} ${axisName(c)}`,
  kernels: ['Sum'],
  inputs: [f(c.shape)],
  run: (x) => tf.sum(x, axisArg(c), c.keepDims),
  grad: true,
  tol: tolFor(c),
}));

const meanCases: OpCase[] = AXIS_CASES.map((c) => ({
  name: `Mean ${dims(c.shape)} ${axisName(c)}`,
  kernels: ['Mean'],
  inputs: [f(c.shape)],
  run: (x) => tf.mean(x, axisArg(c), c.keepDims),
  grad: true,
  tol: tolFor(c),
}));

// Max and Min pick an element (exact); gradients go through Equal against the result.
const maxCases: OpCase[] = AXIS_CASES.map((c) => ({
  name: `Max ${dims(c.shape)} ${axisName(c)}`,
  kernels: ['Max'],
  inputs: [f(c.shape)],
  run: (x) => tf.max(x, axisArg(c), c.keepDims),
  grad: true,
}));

const minCases: OpCase[] = AXIS_CASES.filter((_, i) => i % 2 === 0).map((c) => ({
  name: `Min ${dims(c.shape)} ${axisName(c)}`,
  kernels: ['Min'],
  inputs: [f(c.shape)],
  run: (x) => tf.min(x, axisArg(c), c.keepDims),
}));

const ARGMAX: [number[], number][] = [
  [[33, 9], 1],
  [[33, 9], 0],
  [[257], 0],
  [[7, 5000], 1],
  [[1000, 3], 0],
  [[4, 5, 6], 1],
  [[2, 3, 4, 5, 3], 3],
  [[6, 1, 7], 1],
];

const argMaxCases: OpCase[] = ARGMAX.map(([shape, axis]) => ({
  name: `ArgMax ${dims(shape)} axis ${axis}`,
  kernels: ['ArgMax'],
  inputs: [f(shape)],
  run: (x) => tf.argMax(x, axis),
}));

const nanAndTieCases: OpCase[] = [
  // log of inputs in [-0.3, 2]: about one element in eight is NaN, so most rows of 9 hold one.
  { name: 'Max with NaN [33,9] axis 1', kernels: ['Max', 'Log'], inputs: [f([33, 9], [-0.3, 2])], run: (x) => tf.max(tf.log(x), 1) },
  { name: 'Max with NaN [33,9] axis 0', kernels: ['Max', 'Log'], inputs: [f([33, 9], [-0.3, 2])], run: (x) => tf.max(tf.log(x), 0) },
  { name: 'Min with NaN [7,5000] axis 1', kernels: ['Min', 'Log'], inputs: [f([7, 5000], [-0.001, 2])], run: (x) => tf.min(tf.log(x), 1) },
  // ArgMax skips NaNs except one at index 0, which wins.
  { name: 'ArgMax with NaN [33,9] axis 1', kernels: ['ArgMax', 'Log'], inputs: [f([33, 9], [-0.3, 2])], run: (x) => tf.argMax(tf.log(x), 1) },
  { name: 'ArgMax with NaN [1000,3] axis 0', kernels: ['ArgMax', 'Log'], inputs: [f([1000, 3], [-0.3, 2])], run: (x) => tf.argMax(tf.log(x), 0) },
  // Ties: the first index of the maximum.
  { name: 'ArgMax ties [33,9] axis 1', kernels: ['ArgMax', 'Floor'], inputs: [f([33, 9], [0, 3])], run: (x) => tf.argMax(tf.floor(x), 1) },
  { name: 'ArgMax ties [7,5000] axis 1', kernels: ['ArgMax', 'Floor'], inputs: [f([7, 5000], [0, 3])], run: (x) => tf.argMax(tf.floor(x), 1) },
  { name: 'ArgMax ties [1000,3] axis 0', kernels: ['ArgMax', 'Floor'], inputs: [f([1000, 3], [0, 3])], run: (x) => tf.argMax(tf.floor(x), 0) },
  { name: 'Max ties [4,5,6] axis 1', kernels: ['Max', 'Floor'], inputs: [f([4, 5, 6], [0, 3])], run: (x) => tf.max(tf.floor(x), 1) },
];

const intCases: OpCase[] = [
  { name: 'Sum int32 [33,9] axis 1', kernels: ['Sum'], inputs: [{ shape: [33, 9], dtype: 'int32', range: [-50, 50] }], run: (x) => tf.sum(x, 1) },
  { name: 'Sum int32 [1000,3] axis 0', kernels: ['Sum'], inputs: [{ shape: [1000, 3], dtype: 'int32', range: [-50, 50] }], run: (x) => tf.sum(x, 0) },
  { name: 'Sum bool [7,5000] axis 1', kernels: ['Sum'], inputs: [{ shape: [7, 5000], dtype: 'bool' }], run: (x) => tf.sum(x, 1) },
  { name: 'Max int32 [4,5,6] axis [0,2]', kernels: ['Max'], inputs: [{ shape: [4, 5, 6], dtype: 'int32', range: [-50, 50] }], run: (x) => tf.max(x, [0, 2]) },
  { name: 'Min int32 [257] all', kernels: ['Min'], inputs: [{ shape: [257], dtype: 'int32', range: [-50, 50] }], run: (x) => tf.min(x) },
];

const SOFTMAX: { shape: number[]; range?: [number, number] }[] = [
  { shape: [33, 9] },
  { shape: [5, 1] },
  { shape: [257] },
  { shape: [4, 5, 6] },
  { shape: [2, 3, 4, 5, 7] },
  { shape: [3, 512] },
  { shape: [3, 513] },
  { shape: [2, 5000] },
  { shape: [300, 600] },
  { shape: [8, 77], range: [-30, 30] },
];

/**
 * The split path (chunk counts for 132 SMs, test/reduce-plan.test.ts): columns [12800,128] → 66 chunks,
 * [256,50,384] over [0,1] → 22, [100000,4] → 264; rows [3,70000] → 17 (block rows, split too). Sums
 * of 12800–100000 terms: wasm's left-to-right float32 sum errs by about √n·2^-24 times the partial sums
 * (≈ √n), far beyond the result when that is near 0, so these are checked at SPLIT_SUM_TOL.
 */
const SPLIT_SUM_TOL = 1e-3;
const SPLIT_CASES: AxisCase[] = [
  { shape: [12800, 128], axis: 0 },
  { shape: [256, 50, 384], axis: [0, 1] },
  { shape: [100000, 4], axis: 0, keepDims: true },
  { shape: [3, 70000], axis: 1 },
];
// Gradients (a broadcast of dy) only where the input is small enough to stay cheap on cpu and wasm.
const splitGrad = (c: AxisCase) => c.shape.reduce((n, d) => n * d, 1) <= 2e6;

const splitCases: OpCase[] = SPLIT_CASES.flatMap((c) => [
  { name: `Sum split ${dims(c.shape)} ${axisName(c)}`, kernels: ['Sum'], inputs: [f(c.shape)], run: (x: tf.Tensor) => tf.sum(x, axisArg(c), c.keepDims), grad: splitGrad(c), tol: SPLIT_SUM_TOL },
  { name: `Mean split ${dims(c.shape)} ${axisName(c)}`, kernels: ['Mean'], inputs: [f(c.shape)], run: (x: tf.Tensor) => tf.mean(x, axisArg(c), c.keepDims), grad: splitGrad(c), tol: LONG_SUM_TOL },
]);

const splitPickCases: OpCase[] = [
  { name: 'Max split [100000,4] axis 0', kernels: ['Max'], inputs: [f([100000, 4])], run: (x) => tf.max(x, 0) },
  { name: 'Min split [3,70000] axis 1', kernels: ['Min'], inputs: [f([3, 70000])], run: (x) => tf.min(x, 1) },
  { name: 'ArgMax split [12800,128] axis 0', kernels: ['ArgMax'], inputs: [f([12800, 128])], run: (x) => tf.argMax(x, 0) },
  // Ties and NaNs across chunks: the first index of the maximum; a NaN only wins at index 0.
  { name: 'ArgMax ties split [3,70000] axis 1', kernels: ['ArgMax', 'Floor'], inputs: [f([3, 70000], [0, 3])], run: (x) => tf.argMax(tf.floor(x), 1) },
  { name: 'ArgMax ties split [100000,4] axis 0', kernels: ['ArgMax', 'Floor'], inputs: [f([100000, 4], [0, 3])], run: (x) => tf.argMax(tf.floor(x), 0) },
  { name: 'ArgMax with NaN split [100000,4] axis 0', kernels: ['ArgMax', 'Log'], inputs: [f([100000, 4], [-0.3, 2])], run: (x) => tf.argMax(tf.log(x), 0) },
  { name: 'Max with NaN split [3,70000] axis 1', kernels: ['Max', 'Log'], inputs: [f([3, 70000], [-0.001, 2])], run: (x) => tf.max(tf.log(x), 1) },
  { name: 'Sum int32 split [100000,4] axis 0', kernels: ['Sum'], inputs: [{ shape: [100000, 4], dtype: 'int32', range: [-50, 50] }], run: (x) => tf.sum(x, 0) },
];

const softmaxCases: OpCase[] = SOFTMAX.map(({ shape, range }) => ({
  name: `Softmax ${dims(shape)}${range ? ` range ${range.join('..')}` : ''}`,
  kernels: ['Softmax'],
  inputs: [f(shape, range)],
  run: (x) => tf.softmax(x),
  grad: true,
  tol: shape[shape.length - 1] > 500 ? LONG_SUM_TOL : undefined,
}));

export const reduceCases: OpCase[] = [...sumCases, ...meanCases, ...maxCases, ...minCases, ...argMaxCases, ...nanAndTieCases, ...intCases, ...splitCases, ...splitPickCases, ...softmaxCases];
