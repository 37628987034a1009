/**
 * Evaluation at lengths other than the training length: the per-call sigmoid bias length
 * (BlockContext.biasLength, threaded through Lm and Asr), which position encodings run beyond the
 * training length, and the LM's masked next-token loss (answer-only scoring).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Asr, createBlock, crossEntropy, Lm, ParamStore, selfAttention, type AsrConfig, type BlockConfig, type LmConfig } from '../src/index.js';
import { randn, setup } from './helpers.js';

beforeAll(setup);

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

/**
 * Total attention weight of a row (Σ_j P_ij) at `n` keys: with q = k = 0 every sigmoid weight is σ(b),
 * and with v = x = ones and an identity output projection every output entry is exactly Σ_j P_ij.
 */
function rowMass(kind: 'sigmoid' | 'softmax', trainLength: number, n: number, biasLength?: number): number {
  const dim = 8;
  const cfg: BlockConfig = { dim, heads: 2, mlpRatio: 2, trainLength, attention: { kind, bias: 'negLogN', qkNorm: 'none', causal: false } };
  const p = new ParamStore(1);
  const blk = createBlock(p, 'b', cfg);
  const eye = tf.eye(dim);
  blk.qkv.w.assign(tf.concat([tf.zeros([dim, 2 * dim]), eye], 1));
  blk.qkv.b?.assign(tf.zeros([3 * dim]));
  blk.proj.w.assign(eye);
  blk.proj.b?.assign(tf.zeros([dim]));
  const out = tf.tidy(() => selfAttention(blk, tf.ones([1, n, dim]) as tf.Tensor3D, { biasLength }).dataSync());
  eye.dispose();
  p.dispose();
  // Every entry is the same mass; check that, then return it.
  expect(Math.max(...out) - Math.min(...out)).toBeLessThan(1e-5);
  return out[0];
}

describe('sigmoid bias length (eval.bias)', () => {
  it('train-length keeps b = −log n_train, so a row at 4× the length starts with mass ≈ 4; eval-length recomputes b and keeps it ≈ 1', () => {
    const nTrain = 16;
    const n = 4 * nTrain;
    const kept = rowMass('sigmoid', nTrain, n);
    const recomputed = rowMass('sigmoid', nTrain, n, n);
    // σ(−log m) = 1/(m + 1), so n keys give n/(m + 1).
    expect(kept).toBeCloseTo(n / (nTrain + 1), 4);
    expect(recomputed).toBeCloseTo(n / (n + 1), 4);
    expect(kept).toBeGreaterThan(3.5);
    expect(recomputed).toBeLessThan(1);
    // At the training length the override is the default.
    expect(rowMass('sigmoid', nTrain, nTrain, nTrain)).toBeCloseTo(rowMass('sigmoid', nTrain, nTrain), 6);
  });

  it('softmax has no bias: the override changes nothing and rows sum to 1', () => {
    expect(rowMass('softmax', 16, 64)).toBeCloseTo(1, 5);
    expect(rowMass('softmax', 16, 64, 64)).toBeCloseTo(1, 5);
  });

  const lmBase = { vocab: 11, contextLength: 8, dim: 16, depth: 1, heads: 2, mlpRatio: 2, attention: { kind: 'sigmoid', bias: 'negLogN', qkNorm: 'rmsnorm', causal: true } };
  it('Lm: biasLength = contextLength is the default, another length changes sigmoid logits only', () => {
    const x = tf.randomUniform([2, 32], 0, 11, 'int32', 5) as tf.Tensor2D;
    for (const kind of ['sigmoid', 'softmax'] as const) {
      const m = new Lm({ ...lmBase, attention: { ...lmBase.attention, kind } } as Partial<LmConfig>, 2);
      const plain = m.forward(x);
      expect(maxDiff(m.forward(x, false, undefined, 8), plain)).toBe(0);
      const other = maxDiff(m.forward(x, false, undefined, 32), plain);
      if (kind === 'sigmoid') expect(other).toBeGreaterThan(1e-4);
      else expect(other).toBe(0);
      m.dispose();
    }
    x.dispose();
  });

  it('Asr: biasLength = trainFrames is the default, another length changes sigmoid logits', () => {
    const cfg = { mels: 8, vocab: 6, convChannels: 4, trainFrames: 4, dim: 16, depth: 1, heads: 2, mlpRatio: 2, dropout: 0 } as Partial<AsrConfig>;
    const m = new Asr(cfg, 3);
    const x = randn([2, 64, 8], 4) as tf.Tensor3D; // 16 encoder frames = 4× trainFrames
    const plain = m.forward(x, [64, 40]);
    expect(plain.shape).toEqual([2, 16, 6]);
    expect(maxDiff(m.forward(x, [64, 40], false, 4), plain)).toBe(0);
    expect(maxDiff(m.forward(x, [64, 40], false, 16), plain)).toBeGreaterThan(1e-4);
    m.dispose();
  });
});

describe('positions beyond the training length', () => {
  const base = { vocab: 11, contextLength: 8, dim: 16, depth: 1, heads: 2, mlpRatio: 2, attention: { kind: 'sigmoid', bias: 'negLogN', qkNorm: 'none', causal: true } };
  for (const positions of ['alibi', 'rope', 'sincos', 'none'] as const) {
    it(`${positions}: the LM runs at 8× contextLength with finite logits`, () => {
      const m = new Lm({ ...base, positions } as Partial<LmConfig>, 1);
      const logits = m.forward(tf.randomUniform([1, 64], 0, 11, 'int32', 2) as tf.Tensor2D);
      expect(logits.shape).toEqual([1, 64, 11]);
      expect(tf.tidy(() => tf.all(tf.isFinite(logits)).dataSync()[0])).toBe(1);
      m.dispose();
    });
  }
  it('learned: a position past the table is a clear error', () => {
    const m = new Lm({ ...base, positions: 'learned' } as Partial<LmConfig>, 1);
    expect(() => m.forward(tf.zeros([1, 9], 'int32') as tf.Tensor2D)).toThrow(/position 8 is beyond the learned table \(contextLength 8\); use rope\/alibi/);
    m.dispose();
  });
});

describe('masked next-token loss', () => {
  it('weights the targets it keeps: all ones = the plain mean, one column = that column’s cross-entropy, all zeros = 0', () => {
    const m = new Lm({ vocab: 7, contextLength: 6, dim: 8, depth: 1, heads: 2, mlpRatio: 2, attention: { kind: 'sigmoid', causal: true } } as Partial<LmConfig>, 4);
    const tokens = tf.randomUniform([3, 6], 0, 7, 'int32', 8) as tf.Tensor2D;
    const value = (t: tf.Scalar) => t.dataSync()[0];
    const plain = value(m.loss(tokens));
    expect(value(m.loss(tokens, false, { mask: tf.ones([3, 5]) }))).toBeCloseTo(plain, 5);
    const col = 2;
    const onlyCol = tf.tensor2d(Array.from({ length: 15 }, (_, i) => (i % 5 === col ? 1 : 0)), [3, 5]);
    const logits = m.forward(tokens.slice([0, 0], [3, 5]));
    const expected = value(crossEntropy(logits.slice([0, col, 0], [3, 1, 7]).reshape([3, 7]), tokens.slice([0, col + 1], [3, 1]).reshape([3])));
    expect(value(m.loss(tokens, false, { mask: onlyCol }))).toBeCloseTo(expected, 5);
    expect(value(m.loss(tokens, false, { mask: tf.zeros([3, 5]) }))).toBe(0);
    expect(value(m.batchLoss({ tokens, lossMask: onlyCol }))).toBeCloseTo(expected, 5);
    expect(() => m.loss(tokens, false, { mask: tf.ones([3, 6]) })).toThrow(/mask has shape \[3, 6\] but the targets tokens\[:, 1:\] are \[3, 5\]/);
    m.dispose();
  });
});
