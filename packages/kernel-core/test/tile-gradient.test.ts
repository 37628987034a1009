/**
 * The Tile gradient registered by initBackend (src/tfjs/tile-gradient.ts): one Sum instead of a Slice and an
 * Add per repetition, with tfjs-core's values — bit for bit on wasm (float32 accumulation in the same order),
 * within float32 rounding on cpu (which sums in double).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@sigattn/common';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../src/index.js';
import { tileGradConfig } from '../src/tfjs/tile-gradient.js';

/** tfjs-core's Tile gradient (0 + each repetition's slice, first repetition first), for any rank. */
function sliceSumGrad(dy: tf.Tensor, xShape: number[], reps: number[]): tf.Tensor {
  let g = tf.zeros(xShape);
  const idx = reps.map(() => 0);
  for (;;) {
    g = tf.add(g, tf.slice(dy, idx.map((r, i) => r * xShape[i]), xShape));
    let d = reps.length - 1;
    while (d >= 0 && ++idx[d] === reps[d]) idx[d--] = 0;
    if (d < 0) return g;
  }
}

const CASES: { shape: number[]; reps: number[] }[] = [
  { shape: [1, 1, 8], reps: [256, 1, 1] },
  { shape: [3], reps: [5] },
  { shape: [2, 3], reps: [3, 2] },
  { shape: [2, 1, 3, 4], reps: [1, 3, 1, 2] },
  { shape: [2, 2, 1, 5], reps: [1, 1, 4, 1] },
];

describe.each(['wasm', 'cpu'] as const)('Tile gradient on %s', (backend) => {
  it('is the registered one and gives tfjs-core’s slice-and-add values', async () => {
    await initBackend(backend);
    expect(tf.getGradient(tf.Tile)).toBe(tileGradConfig);
    const rng = new Rng(11);
    for (const { shape, reps } of CASES) {
      const x = tf.tensor(rng.normalF32(tf.util.sizeFromShape(shape), 1), shape);
      const outShape = shape.map((d, i) => d * reps[i]);
      const w = tf.tensor(rng.normalF32(tf.util.sizeFromShape(outShape), 1), outShape);
      const got = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.tile(t, reps), w)))(x).dataSync();
      const want = sliceSumGrad(w, shape, reps).dataSync();
      const what = JSON.stringify({ shape, reps });
      if (backend === 'wasm') expect(Array.from(got), what).toEqual(Array.from(want));
      else want.forEach((v, i) => expect(Math.abs(got[i] - v), what).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(v)) * reps.reduce((a, b) => a * b, 1)));
    }
  });

  it('runs one Sum where tfjs-core ran a Slice and an Add per repetition', async () => {
    await initBackend(backend);
    const x = tf.ones([1, 1, 8]);
    const kernels = (await tf.profile(() => tf.grad((t: tf.Tensor) => tf.sum(tf.tile(t, [64, 1, 1])))(x))).kernels.map((k) => k.name);
    expect(kernels.filter((k) => k === 'Slice')).toEqual([]);
    expect(kernels.filter((k) => k === 'Sum').length).toBeLessThanOrEqual(3);
  });
});
