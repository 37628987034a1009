/**
 * The elementwise kernels' host-side plans, checked without a GPU: the binary kernel's index math
 * (binaryOffsets, the same formula as broadcast_offsets in cuda/elementwise.cu) over planBinary's plan
 * must reproduce tfjs cpu's broadcasting for many shape pairs, and coalesceDims must keep every offset.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@sigattn/common';
import { BinaryMode, binaryOffsets, coalesceDims, planBinary } from '../src/kernels/elementwise.js';
import { MAX_RANK, broadcastStrides, sizeOf, stridesOf } from '../src/kernels/util.js';
import { BROADCAST_PAIRS } from '../src/testing/cases/elementwise.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** a − 3·b elementwise through the plan (not symmetric, so swapped offsets show). */
function runPlanned(aShape: number[], bShape: number[], a: Float32Array, b: Float32Array): { shape: number[]; values: Float32Array } {
  const shape = tf.backend_util.assertAndGetBroadcastShape(aShape, bShape);
  const plan = planBinary(aShape, bShape, shape);
  if (plan.mode === BinaryMode.Strided) expect(plan.shape.length).toBeLessThanOrEqual(MAX_RANK);
  const out = new Float32Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) {
    const [ia, ib] = binaryOffsets(plan, i);
    out[i] = a[ia] - Math.fround(3 * b[ib]); // rounded as tfjs rounds its Multiply
  }
  return { shape, values: out };
}

function randomPair(rng: Rng): [number[], number[]] {
  const rank = 1 + rng.int(5);
  const out = Array.from({ length: rank }, () => 1 + rng.int(4));
  const side = () => {
    const drop = rng.int(rank + 1) === 0 ? rng.int(rank) : 0; // sometimes a lower rank
    return out.slice(drop).map((d) => (rng.int(3) === 0 ? 1 : d));
  };
  return [side(), side()];
}

describe('planBinary', () => {
  // The op cases' pairs, and two with leading 1s to coalesce away.
  const fixed: [number[], number[]][] = [
    ...BROADCAST_PAIRS,
    [[1, 3, 1], [3, 1]],
    [[1, 1, 1, 1, 1, 2, 3], [3]],
  ];
  const rng = new Rng(12);
  const pairs = [...fixed, ...Array.from({ length: 300 }, () => randomPair(rng))];

  it('reproduces tfjs cpu broadcasting (a − 3b) for fixed and 300 random shape pairs, both orders', () => {
    for (const [as, bs] of pairs) {
      for (const [x, y] of [[as, bs], [bs, as]]) {
        const a = Float32Array.from({ length: sizeOf(x) }, () => rng.uniform(-2, 2));
        const b = Float32Array.from({ length: sizeOf(y) }, () => rng.uniform(-2, 2));
        const got = runPlanned(x, y, a, b);
        const want = tf.tidy(() => tf.sub(tf.tensor(a, x), tf.mul(tf.tensor(b, y), 3)));
        expect(got.shape, `[${x}] vs [${y}]`).toEqual(want.shape);
        expect(Array.from(got.values), `[${x}] vs [${y}]`).toEqual(Array.from(want.dataSync()));
        want.dispose();
      }
    }
  });

  it('picks the fast paths: same size, a scalar either side', () => {
    expect(planBinary([33, 9], [33, 9], [33, 9]).mode).toBe(BinaryMode.Same);
    expect(planBinary([1, 3], [3], [1, 3]).mode).toBe(BinaryMode.Same);
    expect(planBinary([], [257], [257]).mode).toBe(BinaryMode.ScalarA);
    expect(planBinary([1, 1], [4, 5], [4, 5]).mode).toBe(BinaryMode.ScalarA);
    expect(planBinary([1037], [1], [1037]).mode).toBe(BinaryMode.ScalarB);
    expect(planBinary([3, 1, 5], [4, 5], [3, 4, 5]).mode).toBe(BinaryMode.Strided);
  });

  it('coalesces a bias add over any leading dims to rank 2, and rank-7 shapes with 1s fit', () => {
    const plan = planBinary([2, 3, 4, 16], [16], [2, 3, 4, 16]);
    expect(plan).toMatchObject({ mode: BinaryMode.Strided, shape: [24, 16], aStrides: [16, 1], bStrides: [0, 1] });
    const wide = planBinary([1, 1, 1, 1, 1, 2, 3], [2, 1], [1, 1, 1, 1, 1, 2, 3]);
    expect(wide).toMatchObject({ shape: [2, 3], aStrides: [3, 1], bStrides: [1, 0] });
  });
});

describe('coalesceDims', () => {
  it('keeps every offset of every operand', () => {
    const rng = new Rng(5);
    for (let t = 0; t < 200; t++) {
      const [as, bs] = randomPair(rng);
      const shape = tf.backend_util.assertAndGetBroadcastShape(as, bs);
      const strides = [broadcastStrides(as, shape), broadcastStrides(bs, shape), stridesOf(shape)];
      const c = coalesceDims(shape, strides);
      for (let i = 0; i < sizeOf(shape); i++) {
        const offsets = (sh: number[], st: number[][]) => {
          let rem = i;
          const o = st.map(() => 0);
          for (let d = sh.length - 1; d >= 0; d--) {
            const k = rem % sh[d];
            rem = Math.floor(rem / sh[d]);
            st.forEach((s, j) => (o[j] += k * s[d]));
          }
          return o;
        };
        expect(offsets(c.shape, c.strides)).toEqual(offsets(shape, strides));
      }
    }
  });

  it('drops size-1 dims and leaves [1] for a single element', () => {
    expect(coalesceDims([1, 1], [[0, 0]])).toEqual({ shape: [1], strides: [[0]] });
    expect(coalesceDims([2, 1, 3], [[3, 3, 1]])).toEqual({ shape: [6], strides: [[1]] });
    expect(coalesceDims([2, 3], [[3, 1], [0, 1]])).toEqual({ shape: [2, 3], strides: [[3, 1], [0, 1]] });
  });
});
