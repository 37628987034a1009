/**
 * MAE's encoder on a subset of patches: the sigmoid bias follows the tokens of each call, and RoPE /
 * ALiBi see the patches' true positions. Plus the probe's per-feature batch normalisation.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import type { AttentionSpec } from '@sigattn/kernel-core';

const specs = vi.hoisted(() => [] as AttentionSpec[]);
vi.mock('@sigattn/kernel-core', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@sigattn/kernel-core')>();
  return {
    ...actual,
    attention: (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, spec: AttentionSpec) => {
      specs.push({ ...spec });
      return actual.attention(q, k, v, spec);
    },
  };
});

import { createModel, Mae, patchify, type ClassifierHead } from '../src/index.js';
import { randn, setup } from './helpers.js';

beforeAll(setup);

const sigmoid = { kind: 'sigmoid', bias: 'negLogN', qkNorm: 'layernorm', causal: false } as const;
// 8×8 images in 2×2 patches: 16 patches; CLS makes 17 tokens.
const tiny = { imageSize: 8, channels: 1, patchSize: 2, dim: 8, depth: 2, heads: 2, attention: sigmoid, decoderDim: 8, decoderHeads: 2 };
const negLogN = () => specs.map((s) => (s.bias as { negLogN: number }).negLogN);
const read = (t: tf.Tensor) => Array.from(t.dataSync());
const maxAbsDiff = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i])));

describe('MAE encoder: b = −log n with n = the tokens attended over in that call', () => {
  it('pretraining: visible + CLS in the encoder, all + CLS in the decoder; whole images (features, probe): all + CLS', () => {
    const m = new Mae({ ...tiny, maskRatio: 0.75 }, 1);
    const x = randn([2, 8, 8, 1], 3) as tf.Tensor4D;
    specs.length = 0;
    tf.tidy(() => m.loss(x));
    expect(negLogN()).toEqual([4 + 1, 4 + 1, 16 + 1]);
    specs.length = 0;
    tf.tidy(() => m.features(x));
    expect(negLogN()).toEqual([16 + 1, 16 + 1]);
    m.dispose();

    const probe = createModel('linear-probe', { backbone: { name: 'mae', ...tiny, maskRatio: 0.75 }, classes: 3 }, 1) as ClassifierHead;
    specs.length = 0;
    tf.tidy(() => probe.forward(x));
    expect(negLogN()).toEqual([17, 17]);
    probe.dispose();
    x.dispose();
  });

  it('mean pooling (no CLS): n = visible in pretraining, all patches on whole images', () => {
    const m = new Mae({ ...tiny, pool: 'mean', maskRatio: 0.5 }, 1);
    const x = randn([1, 8, 8, 1], 4) as tf.Tensor4D;
    specs.length = 0;
    tf.tidy(() => m.loss(x));
    tf.tidy(() => m.features(x));
    expect(negLogN()).toEqual([8, 8, 16, 16, 16]);
    m.dispose();
    x.dispose();
  });
});

describe('MAE encoder: RoPE and ALiBi use the visible patches’ true positions', () => {
  for (const positions of ['rope', 'alibi'] as const) {
    for (const pool of ['cls', 'mean'] as const) {
      it(`${positions}, ${pool} pooling: a constant image's outputs depend on which patches are visible`, () => {
        const m = new Mae({ ...tiny, positions, pool, maskRatio: 0.75 }, 1);
        const x = tf.fill([1, 8, 8, 1], 0.5) as tf.Tensor4D;
        const enc = (idx: number[]) => tf.tidy(() => read(m.encodeVisible(x, [Int32Array.from(idx)])));
        // The bug this guards: compact indices 0..3 made these two identical.
        expect(maxAbsDiff(enc([0, 1, 2, 3]), enc([0, 5, 10, 15]))).toBeGreaterThan(1e-3);
        if (pool === 'mean') {
          // Only relative positions matter without a CLS token at position 0: a shifted set gives the same tokens.
          expect(maxAbsDiff(enc([0, 1, 2, 3]), enc([4, 5, 6, 7]))).toBeLessThan(1e-5);
        }
        m.dispose();
        x.dispose();
      });
    }
  }

  for (const positions of ['rope', 'alibi', 'learned', 'sincos'] as const) {
    it(`${positions}: encoding all patches in a shuffled order permutes the whole-image tokens`, () => {
      const m = new Mae({ ...tiny, positions, maskRatio: 0 }, 2);
      expect(m.visible).toBe(16);
      const x = randn([1, 8, 8, 1], 5) as tf.Tensor4D;
      const perm = [5, 0, 15, 9, 3, 12, 1, 7, 14, 2, 10, 4, 8, 13, 6, 11];
      const whole = tf.tidy(() => read(m.encoder.encode(m.encoder.embed(patchify(x, 2)))));
      const shuffled = tf.tidy(() => read(m.encodeVisible(x, [Int32Array.from(perm)])));
      const dim = 8;
      const row = (a: number[], r: number) => a.slice(r * dim, (r + 1) * dim);
      expect(maxAbsDiff(row(shuffled, 0), row(whole, 0))).toBeLessThan(1e-4); // CLS
      perm.forEach((j, i) => expect(maxAbsDiff(row(shuffled, i + 1), row(whole, j + 1))).toBeLessThan(1e-4));
      m.dispose();
      x.dispose();
    });
  }
});

describe('linear probe: parameter-free per-feature batch normalisation', () => {
  it('training folds batch statistics into running ones (not trained); evaluation uses them, per image', () => {
    const backbone = { name: 'mae', ...tiny, pool: 'mean', maskRatio: 0.5 };
    const probe = createModel('linear-probe', { backbone, classes: 3 }, 1) as ClassifierHead;
    expect(probe.trainableEntries().map(([n]) => n)).toEqual(['head.w', 'head.b']);
    const x = randn([6, 8, 8, 1], 6) as tf.Tensor4D;
    const feats = tf.tidy(() => probe.backbone.features(x));
    const { mean, variance } = tf.moments(feats, 0);
    tf.dispose(tf.tidy(() => probe.forward(x, true)));
    // First batch: weight 1, so the running statistics are this batch's (variance unbiased).
    expect(maxAbsDiff(read(probe.params.get('featnorm.mean')), read(mean))).toBeLessThan(1e-5);
    expect(maxAbsDiff(read(probe.params.get('featnorm.var')), read(tf.mul(variance, 6 / 5)))).toBeLessThan(1e-5);
    // Training normalises with the batch's own statistics: per feature, zero mean across the batch.
    const trainLogits = tf.tidy(() => probe.forward(x, true));
    const headW = probe.params.get('head.w');
    const centred = tf.tidy(() => read(tf.mean(tf.sub(trainLogits, probe.params.get('head.b')), 0)));
    expect(Math.max(...centred.map(Math.abs))).toBeLessThan(1e-4 * (1 + read(tf.abs(headW).max())[0]));
    // Evaluation: an image's logits do not depend on the rest of its batch.
    const alone = tf.tidy(() => read(probe.forward(x.slice([0, 0, 0, 0], [1, 8, 8, 1]))));
    const inBatch = tf.tidy(() => read(probe.forward(x)).slice(0, 3));
    expect(maxAbsDiff(alone, inBatch)).toBeLessThan(1e-5);
    tf.dispose([x, feats, mean, variance, trainLogits]);
    probe.dispose();
  });
});

describe('what the runner’s vision tasks rely on', () => {
  it('MAE batchLoss uses batch.visibleIdx when given (masks seeded by the task)', () => {
    const m = new Mae({ ...tiny, maskRatio: 0.75 }, 1);
    const x = randn([2, 8, 8, 1], 7) as tf.Tensor4D;
    const vis = [Int32Array.from([0, 3, 6, 9]), Int32Array.from([1, 2, 12, 15])];
    const direct = tf.tidy(() => read(m.loss(x, false, vis)));
    expect(tf.tidy(() => read(m.batchLoss({ images: x, visibleIdx: vis }, false)))).toEqual(direct);
    expect(tf.tidy(() => read(m.batchLoss({ images: x }, false)))).not.toEqual(direct);
    m.dispose();
    x.dispose();
  });

  it('a ViT is a probe backbone: features are the pooled encoder output, the classifier is not a feature tensor', () => {
    const vit = { name: 'vit', imageSize: 8, channels: 1, patchSize: 2, dim: 8, depth: 1, heads: 2, classes: 4, attention: sigmoid };
    const probe = createModel('linear-probe', { backbone: vit, classes: 3 }, 1) as ClassifierHead;
    const names = probe.backbone.featureEntries().map(([n]) => n);
    expect(names).toContain('patch_embed.w');
    expect(names.some((n) => n.startsWith('head.'))).toBe(false);
    const x = randn([2, 8, 8, 1], 8) as tf.Tensor4D;
    expect(tf.tidy(() => probe.forward(x).shape)).toEqual([2, 3]);
    probe.dispose();
    x.dispose();
  });
});
