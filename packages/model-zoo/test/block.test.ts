/**
 * Switching softmax ↔ sigmoid changes only the attention, and every stabiliser flag changes the
 * computation it names and nothing else. The kernel-core `attention` op is wrapped to record what
 * each block hands it (q, k, v, spec), so each flag's effect can be located exactly.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import type { AttentionSpec } from '@sigattn/kernel-core';

const calls = vi.hoisted(() => [] as { q: Float32Array; k: Float32Array; v: Float32Array; spec: AttentionSpec }[]);
vi.mock('@sigattn/kernel-core', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@sigattn/kernel-core')>();
  return {
    ...actual,
    attention: (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, spec: AttentionSpec) => {
      calls.push({ q: q.dataSync() as Float32Array, k: k.dataSync() as Float32Array, v: v.dataSync() as Float32Array, spec: { ...spec } });
      return actual.attention(q, k, v, spec);
    },
  };
});

import { alibiSlopes } from '@sigattn/kernel-core';
import { Rng } from '@sigattn/common';
import { applyBlock, createBlock, ParamStore, Vit, type BlockConfig, type VitConfig } from '../src/index.js';
import { randn, setup } from './helpers.js';

beforeAll(setup);

const base: BlockConfig = {
  dim: 16, heads: 2, mlpRatio: 2, trainLength: 6,
  attention: { kind: 'sigmoid', bias: 'negLogN', qkNorm: 'none', causal: false },
};

interface Run {
  out: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  spec: Record<string, unknown>;
  params: Map<string, Float32Array>;
}

function run(cfg: BlockConfig, training = false): Run {
  const p = new ParamStore(42);
  const blk = createBlock(p, 'b', cfg);
  calls.length = 0;
  const out = tf.tidy(() => applyBlock(blk, randn([2, 6, 16], 7) as tf.Tensor3D, { training, rng: new Rng(3) }).dataSync() as Float32Array);
  expect(calls).toHaveLength(1);
  const { q, k, v, spec } = calls[0];
  const params = new Map(p.entries().map(([n, t]) => [n, t.dataSync() as Float32Array]));
  p.dispose();
  const s = { ...spec } as Record<string, unknown>;
  if (spec.alibiSlopes !== undefined) s.alibiSlopes = Array.from(spec.alibiSlopes);
  return { out, q, k, v, spec: s, params };
}

const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Parameter names only in `b`, only in `a`; and every shared parameter has identical values. */
function paramDiff(a: Run, b: Run): { added: string[]; removed: string[] } {
  const added = [...b.params.keys()].filter((n) => !a.params.has(n)).sort();
  const removed = [...a.params.keys()].filter((n) => !b.params.has(n)).sort();
  for (const [n, t] of a.params) if (b.params.has(n)) expect(same(t, b.params.get(n) as Float32Array), `parameter ${n}`).toBe(true);
  return { added, removed };
}

/** Keys of the attention spec whose values differ. */
function specDiff(a: Run, b: Run): string[] {
  const keys = new Set([...Object.keys(a.spec), ...Object.keys(b.spec)]);
  return [...keys].filter((key) => JSON.stringify(a.spec[key]) !== JSON.stringify(b.spec[key])).sort();
}

describe('attention switch and stabiliser flags (one block)', () => {
  let ref: Run;
  beforeAll(() => {
    ref = run(base);
  });

  it('softmax ↔ sigmoid: same parameters and q, k, v; only the spec kind/bias and the output change', () => {
    const r = run({ ...base, attention: { ...base.attention, kind: 'softmax' } });
    expect(paramDiff(ref, r)).toEqual({ added: [], removed: [] });
    expect(same(ref.q, r.q) && same(ref.k, r.k) && same(ref.v, r.v)).toBe(true);
    expect(specDiff(ref, r)).toEqual(['bias', 'kind']);
    expect(same(ref.out, r.out)).toBe(false);
  });

  it('bias: only the spec bias changes', () => {
    const r = run({ ...base, attention: { ...base.attention, bias: 'none' } });
    expect(paramDiff(ref, r)).toEqual({ added: [], removed: [] });
    expect(same(ref.q, r.q) && same(ref.k, r.k) && same(ref.v, r.v)).toBe(true);
    expect(specDiff(ref, r)).toEqual(['bias']);
    expect(ref.spec.bias).toEqual({ negLogN: 6 });
    expect(r.spec.bias).toBe(0);
    expect(same(ref.out, r.out)).toBe(false);
  });

  it('causal: only the spec causal flag changes', () => {
    const r = run({ ...base, attention: { ...base.attention, causal: true } });
    expect(paramDiff(ref, r)).toEqual({ added: [], removed: [] });
    expect(same(ref.q, r.q) && same(ref.k, r.k) && same(ref.v, r.v)).toBe(true);
    expect(specDiff(ref, r)).toEqual(['causal']);
    expect(same(ref.out, r.out)).toBe(false);
  });

  it('QK-norm (LayerNorm, RMSNorm): adds per-head norms on q and k only; normalised q/k reach attention, v untouched', () => {
    for (const kind of ['layernorm', 'rmsnorm'] as const) {
      const r = run({ ...base, attention: { ...base.attention, qkNorm: kind } });
      const added = kind === 'layernorm'
        ? ['b.attn.knorm.beta', 'b.attn.knorm.gamma', 'b.attn.qnorm.beta', 'b.attn.qnorm.gamma']
        : ['b.attn.knorm.gamma', 'b.attn.qnorm.gamma'];
      expect(paramDiff(ref, r)).toEqual({ added, removed: [] });
      expect(same(ref.v, r.v)).toBe(true);
      expect(same(ref.q, r.q) || same(ref.k, r.k)).toBe(false);
      expect(specDiff(ref, r)).toEqual([]);
      // Each head vector (hd = 8) of q is the raw q (from the reference run: same weights) normalised
      // with γ = 1, β = 0, eps = 1e-5: LN (x − mean)/√(var + eps), RMS x/√(mean(x²) + eps).
      for (let row = 0; row < r.q.length / 8; row++) {
        const x = Array.from(ref.q.subarray(row * 8, row * 8 + 8));
        const mean = kind === 'layernorm' ? x.reduce((a, b) => a + b, 0) / 8 : 0;
        const ms = x.reduce((a, b) => a + (b - mean) ** 2, 0) / 8;
        x.forEach((xi, i) => expect(r.q[row * 8 + i]).toBeCloseTo((xi - mean) / Math.sqrt(ms + 1e-5), 3));
      }
    }
  });

  it('LayerScale: adds γ₁, γ₂ (init 1e-4) only; attention inputs unchanged; the residual update shrinks to ~1e-4', () => {
    const r = run({ ...base, layerScale: 1e-4 });
    expect(paramDiff(ref, r)).toEqual({ added: ['b.ls1', 'b.ls2'], removed: [] });
    expect(Array.from(r.params.get('b.ls1') as Float32Array).every((g) => Math.abs(g - 1e-4) < 1e-9)).toBe(true);
    expect(same(ref.q, r.q) && same(ref.k, r.k) && same(ref.v, r.v)).toBe(true);
    expect(specDiff(ref, r)).toEqual([]);
    const x = tf.tidy(() => randn([2, 6, 16], 7).dataSync());
    const maxUpdate = (o: Float32Array) => Math.max(...Array.from(o, (y, i) => Math.abs(y - x[i])));
    expect(maxUpdate(r.out)).toBeLessThan(1e-3);
    expect(maxUpdate(ref.out)).toBeGreaterThan(1e-2);
  });

  it('norm placement: post keeps the parameters and normalises the output; hybrid adds branch-output norms only', () => {
    const post = run({ ...base, norm: 'post' });
    expect(paramDiff(ref, post)).toEqual({ added: [], removed: [] });
    expect(specDiff(ref, post)).toEqual([]);
    expect(same(ref.q, post.q)).toBe(false); // attention now sees x, not norm₁(x)
    for (let row = 0; row < post.out.length / 16; row++) {
      const y = Array.from(post.out.subarray(row * 16, row * 16 + 16));
      const mean = y.reduce((a, b) => a + b, 0) / 16;
      expect(Math.abs(mean)).toBeLessThan(1e-4); // last op is LayerNorm (γ=1, β=0)
    }
    const hybrid = run({ ...base, norm: 'hybrid' });
    expect(paramDiff(ref, hybrid)).toEqual({ added: ['b.norm1_out.beta', 'b.norm1_out.gamma', 'b.norm2_out.beta', 'b.norm2_out.gamma'], removed: [] });
    expect(same(ref.q, hybrid.q) && same(ref.k, hybrid.k) && same(ref.v, hybrid.v)).toBe(true);
    expect(specDiff(ref, hybrid)).toEqual([]);
    expect(same(ref.out, hybrid.out)).toBe(false);
  });

  it('normKind rmsnorm: drops the norms’ β only', () => {
    const r = run({ ...base, normKind: 'rmsnorm' });
    expect(paramDiff(ref, r)).toEqual({ added: [], removed: ['b.norm1.beta', 'b.norm2.beta'] });
    expect(specDiff(ref, r)).toEqual([]);
    expect(same(ref.q, r.q)).toBe(false);
  });

  it('RoPE: same parameters and v; q and k are rotated (norms per position preserved), spec unchanged', () => {
    const r = run({ ...base, positions: 'rope' });
    expect(paramDiff(ref, r)).toEqual({ added: [], removed: [] });
    expect(same(ref.v, r.v)).toBe(true);
    expect(same(ref.q, r.q)).toBe(false);
    expect(specDiff(ref, r)).toEqual([]);
    for (let row = 0; row < r.q.length / 8; row++) {
      const n = (a: Float32Array) => Math.hypot(...Array.from(a.subarray(row * 8, row * 8 + 8)));
      expect(n(r.q)).toBeCloseTo(n(ref.q), 4);
      expect(n(r.k)).toBeCloseTo(n(ref.k), 4);
    }
    // Position 0 is not rotated.
    expect(Array.from(r.q.subarray(0, 8))).toEqual(Array.from(ref.q.subarray(0, 8)));
  });

  it('ALiBi: same q, k, v; only the spec gains the per-head slopes', () => {
    const r = run({ ...base, positions: 'alibi' });
    expect(paramDiff(ref, r)).toEqual({ added: [], removed: [] });
    expect(same(ref.q, r.q) && same(ref.k, r.k) && same(ref.v, r.v)).toBe(true);
    expect(specDiff(ref, r)).toEqual(['alibiSlopes']);
    expect(r.spec.alibiSlopes).toEqual(Array.from(alibiSlopes(2)));
    expect(same(ref.out, r.out)).toBe(false);
  });

  it('SwiGLU: adds the gate projection only; attention untouched; output changes', () => {
    const r = run({ ...base, mlp: 'swiglu' });
    expect(paramDiff(ref, r)).toEqual({ added: ['b.mlp.gate.b', 'b.mlp.gate.w'], removed: [] });
    expect(same(ref.q, r.q) && same(ref.k, r.k) && same(ref.v, r.v)).toBe(true);
    expect(specDiff(ref, r)).toEqual([]);
    expect(same(ref.out, r.out)).toBe(false);
  });

  it('dropout: nothing changes in eval mode; in training only the residual branches are dropped', () => {
    const evalRun = run({ ...base, dropout: 0.5 });
    expect(paramDiff(ref, evalRun)).toEqual({ added: [], removed: [] });
    expect(same(ref.out, evalRun.out)).toBe(true);
    const trainRun = run({ ...base, dropout: 0.5 }, true);
    expect(same(ref.q, trainRun.q) && same(ref.k, trainRun.k) && same(ref.v, trainRun.v)).toBe(true);
    expect(same(ref.out, trainRun.out)).toBe(false);
    // Without dropout, training mode is the same computation as eval.
    expect(same(ref.out, run(base, true).out)).toBe(true);
  });

  it('linearBias false: removes exactly the block’s linear biases', () => {
    const r = run({ ...base, linearBias: false });
    expect(paramDiff(ref, r)).toEqual({ added: [], removed: ['b.attn.proj.b', 'b.attn.qkv.b', 'b.mlp.fc1.b', 'b.mlp.fc2.b'] });
  });
});

describe('softmax ↔ sigmoid in a whole model', () => {
  it('ViT: identical parameters and first-block attention inputs; every block’s spec differs only in kind/bias', () => {
    const cfg: VitConfig = {
      imageSize: 8, channels: 1, patchSize: 4, dim: 16, depth: 2, heads: 2, mlpRatio: 2, classes: 3,
      attention: { kind: 'sigmoid', bias: 'negLogN', qkNorm: 'layernorm', causal: false }, layerScale: 1e-4,
    };
    const record = (c: VitConfig) => {
      const m = new Vit(c, 5);
      calls.length = 0;
      const logits = tf.tidy(() => m.forward(randn([2, 8, 8, 1], 9) as tf.Tensor4D).dataSync());
      const rec = { logits, calls: [...calls], params: m.params.entries().map(([n, v]) => [n, v.dataSync()] as const) };
      m.dispose();
      return rec;
    };
    const a = record(cfg);
    const b = record({ ...cfg, attention: { ...cfg.attention, kind: 'softmax' } });
    expect(a.params.map(([n]) => n)).toEqual(b.params.map(([n]) => n));
    a.params.forEach(([, v], i) => expect(same(v as Float32Array, b.params[i][1] as Float32Array)).toBe(true));
    expect(a.calls).toHaveLength(2);
    expect(same(a.calls[0].q, b.calls[0].q) && same(a.calls[0].k, b.calls[0].k) && same(a.calls[0].v, b.calls[0].v)).toBe(true);
    a.calls.forEach((c, i) => {
      expect(c.spec).toEqual({ kind: 'sigmoid', bias: { negLogN: 5 }, causal: false });
      expect(b.calls[i].spec).toEqual({ kind: 'softmax', causal: false });
    });
    expect(same(a.logits as Float32Array, b.logits as Float32Array)).toBe(false);
  });
});

describe('b = −log n uses each attention’s training length', () => {
  const attn = { kind: 'sigmoid', bias: 'negLogN', qkNorm: 'none', causal: false } as const;
  const biases = () => calls.map((c) => (c.spec.bias as { negLogN: number }).negLogN);

  it('MAE: encoder n = visible patches + CLS, decoder n = all patches + CLS', async () => {
    const { Mae } = await import('../src/index.js');
    const m = new Mae({ imageSize: 8, channels: 1, patchSize: 2, dim: 8, depth: 1, heads: 2, attention: attn, decoderDim: 8, decoderHeads: 2, maskRatio: 0.75 }, 1);
    calls.length = 0;
    tf.tidy(() => m.loss(randn([1, 8, 8, 1], 2) as tf.Tensor4D));
    expect(biases()).toEqual([4 + 1, 16 + 1]);
    m.dispose();
  });

  it('ASR: n = trainFrames whatever the batch length; LM: n = contextLength', async () => {
    const { Asr, Lm } = await import('../src/index.js');
    const asr = new Asr({ mels: 8, vocab: 4, trainFrames: 25, dim: 8, depth: 1, heads: 2, attention: attn }, 1);
    calls.length = 0;
    tf.tidy(() => asr.forward(randn([1, 12, 8], 3) as tf.Tensor3D));
    expect(biases()).toEqual([25]);
    const lm = new Lm({ vocab: 5, contextLength: 32, dim: 8, depth: 2, heads: 2, attention: { ...attn, causal: true } }, 1);
    calls.length = 0;
    tf.tidy(() => lm.forward(tf.tensor2d([[1, 2, 3]], [1, 3], 'int32')));
    expect(biases()).toEqual([32, 32]);
    asr.dispose();
    lm.dispose();
  });
});
