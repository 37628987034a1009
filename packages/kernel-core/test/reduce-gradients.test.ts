/**
 * The Mean and Sum gradients registered by initBackend (src/tfjs/reduce-gradients.ts) give tfjs-core's
 * values bit for bit: dx = dy broadcast over the reduced axes (÷ the reduced size for Mean), on cpu and wasm.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@sigattn/common';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../src/index.js';
import { meanGradConfig, sumGradConfig } from '../src/tfjs/reduce-gradients.js';

const CASES: { shape: number[]; axis: number | number[]; keepDims: boolean }[] = [
  { shape: [3, 5, 7], axis: -1, keepDims: false },
  { shape: [3, 5, 7], axis: [0, 2], keepDims: true },
  { shape: [4, 6], axis: 1, keepDims: true },
  { shape: [2, 3, 4, 5], axis: [1, 3], keepDims: false },
  { shape: [9], axis: 0, keepDims: false },
];

/** dx expected from dy of the reduced shape: each element takes the dy of its reduced position (÷ size). */
function expectedGrad(shape: number[], axis: number | number[], dy: Float32Array, divide: boolean): Float32Array {
  const axes = tf.util.parseAxisParam(axis, shape);
  const size = axes.reduce((p, a) => p * shape[a], 1);
  const reduced = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const strides = tf.util.computeStrides(reduced);
  const out = new Float32Array(tf.util.sizeFromShape(shape));
  const idx = new Array(shape.length).fill(0);
  for (let flat = 0; flat < out.length; flat++) {
    let r = idx.length - 1 >= 0 ? idx[idx.length - 1] * (axes.includes(idx.length - 1) ? 0 : 1) : 0;
    for (let d = 0; d < idx.length - 1; d++) r += (axes.includes(d) ? 0 : idx[d]) * strides[d];
    out[flat] = divide ? Math.fround(dy[r] / size) : dy[r];
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

describe.each(['cpu', 'wasm'] as const)('Mean/Sum gradients on %s', (backend) => {
  it('are the registered ones and match the broadcast formula bit for bit', async () => {
    await initBackend(backend);
    expect(tf.getGradient(tf.Mean)).toBe(meanGradConfig);
    expect(tf.getGradient(tf.Sum)).toBe(sumGradConfig);
    const rng = new Rng(7);
    for (const { shape, axis, keepDims } of CASES) {
      for (const [op, divide] of [[tf.mean, true], [tf.sum, false]] as const) {
        const x = tf.tensor(rng.normalF32(tf.util.sizeFromShape(shape), 1), shape);
        const outShape = op(x, axis, keepDims).shape;
        const w = tf.tensor(rng.normalF32(tf.util.sizeFromShape(outShape), 1), outShape);
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(op(t, axis, keepDims), w)))(x);
        const got = dx.dataSync() as Float32Array;
        const want = expectedGrad(shape, axis, w.dataSync() as Float32Array, divide);
        expect(Array.from(got), `${op === tf.mean ? 'mean' : 'sum'} ${JSON.stringify({ shape, axis, keepDims })}`).toEqual(Array.from(want));
        tf.dispose([x, w, dx]);
      }
    }
  });
});
