import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Vit, type VitConfig } from '../src/index.js';
import { overfit, randn, setup, unreachedParams } from './helpers.js';

const base: VitConfig = {
  imageSize: 8, channels: 1, patchSize: 4, dim: 16, depth: 2, heads: 2, mlpRatio: 2, classes: 3,
  attention: { kind: 'sigmoid', bias: 'negLogN', qkNorm: 'none', causal: false },
};

beforeAll(setup);

describe('vit', () => {
  it('forward shape', () => {
    const m = new Vit(base, 1);
    const logits = m.forward(randn([5, 8, 8, 1], 2) as tf.Tensor4D);
    expect(logits.shape).toEqual([5, 3]);
    expect(m.tokens).toBe(5);
  });
  it('overfits', () => {
    const m = new Vit({ ...base, attention: { ...base.attention, qkNorm: 'layernorm' } }, 1);
    const batch = { images: randn([6, 8, 8, 1], 3) as tf.Tensor4D, labels: tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32') };
    expect(unreachedParams(m, batch)).toEqual([]);
    const t0 = performance.now();
    const [a, b] = overfit(m, batch, 60, 1e-2);
    console.log(a, b, performance.now() - t0);
    expect(b).toBeLessThan(0.1 * a);
  });
});
