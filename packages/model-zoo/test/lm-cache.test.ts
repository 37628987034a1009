/** KV-cache decoding equals full recomputation, for every position kind and both attention kinds. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Lm, type LmConfig } from '../src/index.js';
import { setup } from './helpers.js';

beforeAll(setup);

const base = { vocab: 13, contextLength: 12, dim: 16, depth: 2, heads: 2, mlpRatio: 2, norm: 'hybrid', attention: { kind: 'sigmoid', bias: 'negLogN', qkNorm: 'rmsnorm', causal: true } };

function tokens(B: number, T: number, seed: number): tf.Tensor2D {
  return tf.randomUniform([B, T], 0, 13, 'int32', seed) as tf.Tensor2D;
}

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe('lm KV cache', () => {
  for (const positions of ['alibi', 'rope', 'learned', 'sincos'] as const) {
    for (const kind of ['sigmoid', 'softmax'] as const) {
      it(`${positions}, ${kind}: token-by-token and chunked cached logits equal the full forward pass`, () => {
        const m = new Lm({ ...base, positions, attention: { ...base.attention, kind } } as Partial<LmConfig>, 3);
        const x = tokens(2, 9, 11);
        const full = m.forward(x);
        // Scale of the logits, so the tolerance is relative.
        const scale = tf.tidy(() => tf.max(tf.abs(full)).dataSync()[0]);
        expect(scale).toBeGreaterThan(0);
        expect(maxDiff(m.forwardIncremental(x), full)).toBeLessThan(1e-5 * Math.max(1, scale) + 1e-6);
        // A prompt chunk then a second chunk through the cache (Nq > 1 with Nk > Nq: bottom-right causal).
        const caches = m.newCaches();
        const a = m.forward(x.slice([0, 0], [2, 4]), false, caches);
        const b = m.forward(x.slice([0, 4], [2, 5]), false, caches);
        expect(caches[0].k?.shape).toEqual([2, 2, 9, 8]);
        expect(maxDiff(tf.concat([a, b], 1), full)).toBeLessThan(1e-5 * Math.max(1, scale) + 1e-6);
        Lm.disposeCaches(caches);
        m.dispose();
      });
    }
  }

  it('greedy generation with the cache equals generation by full recomputation', () => {
    const m = new Lm({ ...base, positions: 'rope' } as Partial<LmConfig>, 5);
    const prompt = [[1, 2, 3], [4, 5, 6]];
    m.generate(prompt, 6, true); // fills the RoPE table cache (positions.ts), which is kept on purpose
    const n0 = tf.memory().numTensors;
    const cached = m.generate(prompt, 6, true);
    expect(tf.memory().numTensors).toBe(n0); // the KV cache is released
    const full = m.generate(prompt, 6, false);
    expect(cached).toEqual(full);
    expect(cached[0]).toHaveLength(9);
    m.dispose();
  });

  it('learned positions refuse to run past the table', () => {
    const m = new Lm({ ...base, positions: 'learned' } as Partial<LmConfig>, 1);
    expect(() => m.generate([[1, 2, 3]], 12)).toThrow(/contextLength 12/);
    m.dispose();
  });
});
