/**
 * Every model: output shapes, parameter count = formula, gradients reach every trainable parameter,
 * and a tiny batch is overfitted (loss falls by ≥ 90 %).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Asr, Byol, conv3x3s2, createModel, ntXent, ParamStore, linear, Lm, Mae, Simclr, Vit, type AttentionConfig, type ClassifierHead, type Batch, type ZooModel } from '../src/index.js';
import { overfit, randn, setup, unreachedParams } from './helpers.js';
import { blockParams, encoderParams, linearParams, mlpHeadParams } from './formulas.js';

beforeAll(setup);

const attn = (over: Partial<AttentionConfig> = {}): AttentionConfig => ({ kind: 'sigmoid', bias: 'negLogN', qkNorm: 'layernorm', causal: false, ...over });
const img = { imageSize: 8, channels: 2, patchSize: 4, dim: 16, depth: 2, heads: 2, mlpRatio: 2 };
const images = (b: number, seed: number) => randn([b, 8, 8, 2], seed) as tf.Tensor4D;
const labels = (ys: number[]) => tf.tensor1d(ys, 'int32');

describe('vit', () => {
  it('shapes and parameter count for cls/learned and mean/sincos with every block option', () => {
    // `name: 'vit'` is accepted, so the runner's model section can be passed as is.
    const a = new Vit({ name: 'vit', ...img, classes: 3, attention: attn(), layerScale: 1e-4 }, 1);
    expect(a.forward(images(5, 2)).shape).toEqual([5, 3]);
    expect(a.tokens).toBe(5);
    const t = { ...img, qkNorm: 'layernorm' as const, layerScale: 1e-4 };
    expect(a.params.count()).toBe(encoderParams({ ...t, patchIn: 32, tokens: 5, cls: true, learned: true }) + linearParams(16, 3));
    const b = new Vit({ ...img, classes: 4, attention: attn({ qkNorm: 'rmsnorm' }), pool: 'mean', positions: 'sincos', norm: 'hybrid', normKind: 'rmsnorm', mlp: 'swiglu' }, 1);
    expect(b.forward(images(3, 2)).shape).toEqual([3, 4]);
    const u = { ...img, qkNorm: 'rmsnorm' as const, norm: 'hybrid' as const, normKind: 'rmsnorm' as const, mlp: 'swiglu' as const };
    expect(b.params.count()).toBe(encoderParams({ ...u, patchIn: 32, tokens: 4, cls: false, learned: false }) + linearParams(16, 4));
    a.dispose();
    b.dispose();
  });

  it('gradients reach every parameter and a tiny batch is overfitted', async () => {
    const m = new Vit({ ...img, classes: 3, attention: attn(), layerScale: 1e-4, positions: 'rope' }, 3);
    const batch: Batch = { images: images(6, 4), labels: labels([0, 1, 2, 2, 1, 0]) };
    expect(unreachedParams(m, batch)).toEqual([]);
    const [first, last] = await overfit(m, batch, 40, 1e-2);
    expect(last).toBeLessThan(0.1 * first);
    m.dispose();
  });
});

describe('mae', () => {
  const cfg = { ...img, attention: attn(), decoderDim: 8, decoderDepth: 1, decoderHeads: 2, maskRatio: 0.5 };
  it('parameter count, visible tokens and masks', () => {
    const m = new Mae(cfg, 1);
    expect(m.visible).toBe(2);
    const t = { ...img, qkNorm: 'layernorm' as const };
    const dec = { dim: 8, depth: 1, heads: 2, mlpRatio: 2, qkNorm: 'layernorm' as const };
    const expected =
      encoderParams({ ...t, patchIn: 32, tokens: 5, cls: true, learned: false }) + // sin-cos positions: no parameters
      linearParams(16, 8) + 8 /* mask token */ + blockParams(dec) + 2 * 8 + linearParams(8, 32);
    expect(m.params.count()).toBe(expected);
    const masks = m.drawMask(3);
    expect(masks.map((v) => v.length)).toEqual([2, 2, 2]);
    expect(masks.every((v) => v.every((j) => j >= 0 && j < 4))).toBe(true);
    expect(m.features(images(3, 1)).shape).toEqual([3, 16]);
    m.dispose();
  });

  it('a fixed mask gives a deterministic loss, a fresh mask a different one; gradients reach every parameter; overfits', async () => {
    const m = new Mae({ ...cfg, positions: 'learned' }, 2);
    const x = images(2, 5);
    const vis = [Int32Array.from([0, 3]), Int32Array.from([1, 2])];
    const l1 = m.loss(x, false, vis).dataSync()[0];
    expect(m.loss(x, false, vis).dataSync()[0]).toBe(l1);
    expect(m.loss(x, false, [Int32Array.from([1, 2]), Int32Array.from([0, 3])]).dataSync()[0]).not.toBe(l1);
    expect(unreachedParams(m, { images: x })).toEqual([]);
    // Overfit with the mask held fixed: a tiny model cannot memorise every random mask in 60 steps.
    const fixedMask: ZooModel = {
      modelName: 'mae',
      config: m.config,
      params: m.params,
      trainableEntries: () => m.trainableEntries(),
      batchLoss: (b: Batch) => m.loss(b.images as tf.Tensor4D, false, vis),
      dispose: () => m.dispose(),
    };
    const [first, last] = await overfit(fixedMask, { images: x }, 60, 1e-2);
    expect(last).toBeLessThan(0.1 * first);
    m.dispose();
  });
});

describe('simclr and byol', () => {
  const head = { projHidden: 16, projDim: 8 };
  const views = (b: number, seed: number): [tf.Tensor4D, tf.Tensor4D] => {
    const v1 = images(b, seed);
    return [v1, tf.add(v1, tf.mul(randn(v1.shape, seed + 1), 0.1)) as tf.Tensor4D];
  };

  it('NT-Xent equals the formula written out in float64', () => {
    const [z1, z2] = [randn([3, 4], 1) as tf.Tensor2D, randn([3, 4], 2) as tf.Tensor2D];
    const rows = [...(z1.arraySync() as number[][]), ...(z2.arraySync() as number[][])].map((r) => {
      const n = Math.hypot(...r);
      return r.map((x) => x / n);
    });
    const tau = 0.3;
    const sim = (i: number, j: number) => rows[i].reduce((a, x, k) => a + x * rows[j][k], 0) / tau;
    let total = 0;
    for (let i = 0; i < 6; i++) {
      const denom = [0, 1, 2, 3, 4, 5].filter((j) => j !== i).reduce((a, j) => a + Math.exp(sim(i, j)), 0);
      total += -Math.log(Math.exp(sim(i, (i + 3) % 6)) / denom);
    }
    expect(ntXent(z1, z2, tau).dataSync()[0]).toBeCloseTo(total / 6, 5);
  });

  it('simclr: parameter count, gradients, overfit', async () => {
    const m = new Simclr({ ...img, attention: attn(), ...head, temperature: 0.1 }, 1);
    const t = { ...img, qkNorm: 'layernorm' as const };
    expect(m.params.count()).toBe(encoderParams({ ...t, patchIn: 32, tokens: 5, cls: true, learned: true }) + mlpHeadParams(16, 16, 8));
    expect(m.project(images(3, 1)).shape).toEqual([3, 8]);
    const batch: Batch = { views: views(4, 7) };
    expect(unreachedParams(m, batch)).toEqual([]);
    const [first, last] = await overfit(m, batch, 40, 1e-2);
    expect(last).toBeLessThan(0.1 * first);
    m.dispose();
  });

  it('byol: target excluded from training, starts equal to online, moves by EMA; overfit', async () => {
    const m = new Byol({ ...img, attention: attn(), ...head, predHidden: 16, tauBase: 0.9 }, 1);
    const t = { ...img, qkNorm: 'layernorm' as const };
    const enc = encoderParams({ ...t, patchIn: 32, tokens: 5, cls: true, learned: true });
    expect(m.params.count()).toBe(2 * (enc + mlpHeadParams(16, 16, 8)) + mlpHeadParams(8, 16, 8));
    expect(m.trainableEntries().some(([n]) => n.startsWith('target.'))).toBe(false);
    const diff = (a: string, b: string) => tf.tidy(() => tf.max(tf.abs(tf.sub(m.params.get(a), m.params.get(b)))).dataSync()[0]);
    expect(diff('target.backbone.patch_embed.w', 'online.backbone.patch_embed.w')).toBe(0);
    const batch: Batch = { views: views(4, 9) };
    expect(unreachedParams(m, batch)).toEqual([]);
    const [first, last] = await overfit(m, batch, 40, 1e-2);
    expect(last).toBeLessThan(0.1 * first);
    // Trained online weights differ from the target, which trailed them by EMA (not frozen, not equal).
    expect(diff('target.backbone.patch_embed.w', 'online.backbone.patch_embed.w')).toBeGreaterThan(0);
    m.dispose();
  });
});

describe('asr', () => {
  it('the matmul convolution equals tf.conv2d (3×3, stride 2, padding 1), odd and even sizes', () => {
    for (const [T, F, C] of [[9, 8, 1], [10, 7, 3]]) {
      const l = linear(new ParamStore(T), 'c', 9 * C, 4, true, 0.5);
      tf.tidy(() => (l.b as tf.Variable).assign(randn([4], 5)));
      const x = randn([2, T, F, C], T) as tf.Tensor4D;
      const ref = tf.add(tf.conv2d(x, l.w.reshape([3, 3, C, 4]) as tf.Tensor4D, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]), l.b as tf.Variable);
      const out = conv3x3s2(x, l);
      expect(out.shape).toEqual(ref.shape);
      const diff = tf.max(tf.abs(tf.sub(out, ref))).dataSync()[0];
      expect(diff).toBeLessThan(1e-5);
    }
  });

  const cfg = { mels: 12, vocab: 6, convChannels: 4, trainFrames: 5, dim: 16, depth: 1, heads: 2, mlpRatio: 2, attention: attn() };
  it('subsampling ×4, parameter count, greedy decoding', () => {
    const m = new Asr(cfg, 1);
    const feats = randn([2, 19, 12], 3) as tf.Tensor3D;
    expect(m.forward(feats).shape).toEqual([2, 5, 6]); // ⌈⌈19/2⌉/2⌉ = 5
    const expected = linearParams(9, 4) + linearParams(36, 4) + linearParams(4 * 3, 16) + blockParams({ ...cfg, qkNorm: 'layernorm' }) + 32 + linearParams(16, 6);
    expect(m.params.count()).toBe(expected);
    const hyp = m.decode(feats, [19, 11]);
    expect(hyp).toHaveLength(2);
    expect(hyp.every((h) => h.every((k) => k >= 1 && k < 6))).toBe(true);
    m.dispose();
  });

  it('padding frames do not change a shorter utterance', () => {
    const m = new Asr({ ...cfg, positions: 'alibi' }, 2);
    const a = randn([1, 16, 12], 4);
    const padded = tf.concat([a, randn([1, 8, 12], 5)], 1) as tf.Tensor3D;
    const la = m.forward(a as tf.Tensor3D).arraySync() as number[][][];
    // 16 frames → 4 encoder frames; the last of them sees padding through the convolution, so compare 3.
    const lp = m.forward(padded, [16]).arraySync() as number[][][];
    for (let t = 0; t < 3; t++) for (let k = 0; k < 6; k++) expect(lp[0][t][k]).toBeCloseTo(la[0][t][k], 4);
    m.dispose();
  });

  it('gradients reach every parameter; overfits a tiny batch', async () => {
    const m = new Asr(cfg, 3);
    const batch: Batch = { features: randn([2, 20, 12], 6) as tf.Tensor3D, featureLengths: [20, 16], targets: [[1, 2, 3], [4, 4]] };
    expect(unreachedParams(m, batch)).toEqual([]);
    const [first, last] = await overfit(m, batch, 60, 1e-2);
    expect(last).toBeLessThan(0.1 * first);
    expect(m.decode(batch.features as tf.Tensor3D, batch.featureLengths)).toEqual(batch.targets);
    m.dispose();
  });
});

describe('lm', () => {
  const cfg = { vocab: 11, contextLength: 8, dim: 16, depth: 2, heads: 2, mlpRatio: 2, attention: attn({ causal: true, qkNorm: 'rmsnorm' }) };
  it('shapes, tied embeddings and parameter count', () => {
    const m = new Lm(cfg, 1);
    const tokens = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8]], [2, 4], 'int32');
    expect(m.forward(tokens).shape).toEqual([2, 4, 11]);
    const t = { ...cfg, qkNorm: 'rmsnorm' as const, normKind: 'rmsnorm' as const, mlp: 'swiglu' as const, bias: false };
    expect(m.params.count()).toBe(11 * 16 + 2 * blockParams(t) + 16);
    expect(m.params.has('head.w')).toBe(false);
    const untied = new Lm({ ...cfg, tieEmbeddings: false, positions: 'learned' }, 1);
    expect(untied.params.count()).toBe(m.params.count() + 16 * 11 + 8 * 16);
    m.dispose();
    untied.dispose();
  });

  it('gradients reach every parameter; overfits; perplexity = exp(loss)', async () => {
    const m = new Lm({ ...cfg, positions: 'rope' }, 2);
    const tokens = tf.tensor2d([[1, 5, 2, 9, 3, 7, 4, 8], [10, 3, 6, 1, 0, 2, 5, 4]], [2, 8], 'int32');
    expect(unreachedParams(m, { tokens })).toEqual([]);
    const [first, last] = await overfit(m, { tokens }, 60, 2e-2);
    expect(last).toBeLessThan(0.1 * first);
    const loss = m.loss(tokens).dataSync()[0];
    expect(m.perplexity(tokens)).toBeCloseTo(Math.exp(loss), 4);
    m.dispose();
  });
});

describe('linear probe and fine-tune heads', () => {
  // Mean pooling: a random, frozen CLS token barely differs between images, the patch mean does.
  const backbone = { name: 'mae', ...img, attention: attn(), pool: 'mean', decoderDim: 8, decoderHeads: 2, maskRatio: 0.5 };
  it('probe trains only the head; fine-tune trains the encoder too; both overfit', async () => {
    const probe = createModel('linear-probe', { backbone, classes: 3 }, 1) as ClassifierHead;
    expect(probe.trainableEntries().map(([n]) => n)).toEqual(['head.w', 'head.b']);
    expect(probe.params.count()).toBe(probe.backbone.params.count() + linearParams(16, 3) + 2 * 16 + 1 /* running feature mean, var, count */);
    const batch: Batch = { images: images(6, 3), labels: labels([0, 1, 2, 0, 1, 2]) };
    const before = probe.params.get('backbone.encoder.patch_embed.w').dataSync().slice();
    const [p0, p1] = await overfit(probe, batch, 300, 0.1);
    expect(p1).toBeLessThan(0.1 * p0);
    expect(probe.params.get('backbone.encoder.patch_embed.w').dataSync()).toEqual(before);

    const byol = { name: 'byol', ...img, attention: attn(), projHidden: 8, projDim: 8, predHidden: 8 };
    const ft = createModel('finetune', { backbone: byol, classes: 3 }, 1) as ClassifierHead;
    const names = ft.trainableEntries().map(([n]) => n);
    expect(names.every((n) => n.startsWith('backbone.online.backbone.') || n.startsWith('head.'))).toBe(true);
    expect(unreachedParams(ft, batch)).toEqual([]);
    const [f0, f1] = await overfit(ft, batch, 40, 1e-2);
    expect(f1).toBeLessThan(0.1 * f0);
    probe.dispose();
    ft.dispose();
  });
});
