/**
 * The attention math on a case small enough to check by hand (B = H = 1, two queries, two keys, D = 1),
 * through the public tfjs op on the cpu backend.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { attention, initBackend } from '../src/index.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe('attention on a hand-checkable case', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });
  // q = [1, 2], k = [1, -1], v = [10, 20], scale 1 → logits [[1, -1], [2, -2]].
  const q = () => tf.tensor4d([1, 2], [1, 1, 2, 1]);
  const k = () => tf.tensor4d([1, -1], [1, 1, 2, 1]);
  const v = () => tf.tensor4d([10, 20], [1, 1, 2, 1]);

  it('softmax normalises each row', async () => {
    const o = await attention(q(), k(), v(), { kind: 'softmax', scale: 1 }).data();
    const row = (a: number, b: number) => (Math.exp(a) * 10 + Math.exp(b) * 20) / (Math.exp(a) + Math.exp(b));
    expect(o[0]).toBeCloseTo(row(1, -1), 5);
    expect(o[1]).toBeCloseTo(row(2, -2), 5);
  });

  it('sigmoid weighs each key independently, with the bias b = −log n', async () => {
    const o = await attention(q(), k(), v(), { kind: 'sigmoid', scale: 1, bias: { negLogN: 2 } }).data();
    const b = -Math.log(2);
    expect(o[0]).toBeCloseTo(sigmoid(1 + b) * 10 + sigmoid(-1 + b) * 20, 5);
    expect(o[1]).toBeCloseTo(sigmoid(2 + b) * 10 + sigmoid(-2 + b) * 20, 5);
  });

  it('causal masking hides the future key (query 0 sees key 0 only)', async () => {
    const s = await attention(q(), k(), v(), { kind: 'sigmoid', scale: 1, causal: true }).data();
    expect(s[0]).toBeCloseTo(sigmoid(1) * 10, 5);
    const m = await attention(q(), k(), v(), { kind: 'softmax', scale: 1, causal: true }).data();
    expect(m[0]).toBeCloseTo(10, 5);
  });
});
