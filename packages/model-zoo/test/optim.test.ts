/**
 * AdamW, LARS, schedule, clipping, EMA and parameter groups against formulas written out in float64; AdamW's
 * fused kernel against its composed ops, bit for bit (the wasm backend, helpers.ts).
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ADAMW_UPDATE } from '@sigattn/kernel-core';
import { AdamW, clipByGlobalNorm, cosineEmaDecay, Ema, globalNorm, isNoDecay, Lars, paramGroups, Vit, warmupCosine } from '../src/index.js';
import { randn, setup } from './helpers.js';

beforeAll(setup);

const arr = (t: tf.Tensor) => Array.from(t.dataSync());
/** The float32 bit patterns (toEqual on numbers would let 0 and −0 pass as equal). */
const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

describe('AdamW', () => {
  it.each([
    ['fused kernel', true, 0],
    ['composed ops', false, 5],
  ] as const)('(%s) is bit-identical to the same update written with number operands', (_label, fused, keptScalars) => {
    expect(tf.getKernel(ADAMW_UPDATE, tf.getBackend())).toBeDefined(); // so `fused` really selects the kernel
    const shapes = [[4, 3], [3], [2, 5]];
    const params = shapes.map((sh, i) => tf.variable(randn(sh, 40 + i), true, `adamw-bits-${+fused}-${i}`));
    const twins = params.map((p) => tf.variable(p.clone(), false));
    const entries = params.map((p, i): [string, tf.Variable] => [`l${i}.${i === 1 ? 'b' : 'w'}`, p]);
    const opt = new AdamW(entries, { lr: 0.003, weightDecay: 0.05, fused });
    const m = twins.map((t) => tf.variable(tf.zerosLike(t), false));
    const s = twins.map((t) => tf.variable(tf.zerosLike(t), false));
    for (let t = 1; t <= 4; t++) {
      const grads = params.map((p, i) => randn(p.shape, 100 * t + i));
      opt.lr = 0.003 * t;
      opt.step(Object.fromEntries(params.map((p, i) => [p.name, grads[i]])));
      tf.tidy(() => {
        twins.forEach((w, i) => {
          const wd = i === 1 ? 0 : 0.05; // the 1-D parameter is in the no-decay group
          m[i].assign(tf.add(tf.mul(m[i], 0.9), tf.mul(grads[i], 1 - 0.9)));
          s[i].assign(tf.add(tf.mul(s[i], 0.999), tf.mul(tf.square(grads[i]), 1 - 0.999)));
          let update = tf.div(tf.div(m[i], 1 - 0.9 ** t), tf.add(tf.sqrt(tf.div(s[i], 1 - 0.999 ** t)), 1e-8));
          if (wd > 0) update = tf.add(update, tf.mul(w, wd));
          w.assign(tf.sub(w, tf.mul(update, 0.003 * t)));
        });
      });
      tf.dispose(grads);
    }
    params.forEach((p, i) => expect(bits(p), `parameter ${i}`).toEqual(bits(twins[i])));
    const slots = opt.slotEntries();
    expect(slots.map(([name]) => name)).toEqual(['0.m', '0.s', '1.m', '1.s', '2.m', '2.s']); // the checkpoint names
    // Slots follow the parameter groups' order (decayed first), not the entries'.
    const order = paramGroups(entries, 0.05).flatMap((g) => g.entries.map(([, v]) => params.indexOf(v)));
    slots.forEach(([name, slot], k) => expect(bits(slot), name).toEqual(bits((k % 2 === 0 ? m : s)[order[k >> 1]])));
    const before = tf.memory().numTensors;
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before - 2 * params.length - keptScalars); // the moments and the composed path's kept scalars
    tf.dispose([...twins, ...m, ...s, ...params]);
  });

  it('the fused kernel gives the composed path\'s weights and moments bit for bit over a ViT\'s parameters, and leaks nothing', () => {
    const model = () => new Vit({ imageSize: 8, channels: 1, patchSize: 4, dim: 8, depth: 1, heads: 2, mlpRatio: 2, classes: 3, attention: { kind: 'sigmoid', bias: 'negLogN', qkNorm: 'layernorm', causal: false }, layerScale: 1e-4 }, 7);
    expect(tf.getKernel(ADAMW_UPDATE, tf.getBackend())).toBeDefined();
    const [a, b] = [model(), model()]; // the same seed: the same initial weights
    const [optA, optB] = [a, b].map((mdl, k) => new AdamW(mdl.trainableEntries(), { lr: 0.01, weightDecay: 0.1, beta2: 0.99, fused: k === 0 }));
    const entries = [a.trainableEntries(), b.trainableEntries()];
    expect(entries[0].length).toBeGreaterThan(5);
    for (let t = 1; t <= 3; t++) {
      const grads = entries[0].map(([, v], i) => randn(v.shape, 1000 * t + i));
      const before = tf.memory().numTensors;
      optA.step(Object.fromEntries(entries[0].map(([, v], i) => [v.name, grads[i]])));
      expect(tf.memory().numTensors, 'tensors left by a fused step').toBe(before);
      optB.step(Object.fromEntries(entries[1].map(([, v], i) => [v.name, grads[i]])));
      tf.dispose(grads);
    }
    entries[0].forEach(([name, v], i) => expect(bits(v), name).toEqual(bits(entries[1][i][1])));
    const slotsB = optB.slotEntries();
    optA.slotEntries().forEach(([name, slot], i) => expect(bits(slot), name).toEqual(bits(slotsB[i][1])));
    [optA, optB, a, b].forEach((x) => x.dispose());
  });

  it('matches the decoupled-weight-decay update; no decay on 1-D parameters', () => {
    const w = tf.variable(randn([3, 2], 1), true, 'adamw-w');
    const b = tf.variable(randn([2], 2), true, 'adamw-b');
    const [lr, b1, b2, eps, wd] = [0.01, 0.9, 0.99, 1e-8, 0.1];
    const opt = new AdamW([['l.w', w], ['l.b', b]], { lr, beta1: b1, beta2: b2, eps, weightDecay: wd });
    const ref = { w: arr(w), b: arr(b), mw: [0, 0, 0, 0, 0, 0], vw: [0, 0, 0, 0, 0, 0], mb: [0, 0], vb: [0, 0] };
    for (let t = 1; t <= 3; t++) {
      const gw = randn([3, 2], 10 + t);
      const gb = randn([2], 20 + t);
      const step = (p: number[], m: number[], v: number[], g: number[], decay: number) =>
        p.map((x, i) => {
          m[i] = b1 * m[i] + (1 - b1) * g[i];
          v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2;
          const mh = m[i] / (1 - b1 ** t);
          const vh = v[i] / (1 - b2 ** t);
          return x - lr * (mh / (Math.sqrt(vh) + eps) + decay * x);
        });
      ref.w = step(ref.w, ref.mw, ref.vw, arr(gw), wd);
      ref.b = step(ref.b, ref.mb, ref.vb, arr(gb), 0);
      opt.step({ [w.name]: gw, [b.name]: gb });
    }
    arr(w).forEach((x, i) => expect(x).toBeCloseTo(ref.w[i], 5));
    arr(b).forEach((x, i) => expect(x).toBeCloseTo(ref.b[i], 5));
    opt.dispose();
  });
});

describe('LARS', () => {
  it('scales decayed parameters by the trust ratio, leaves no-decay ones plain momentum SGD', () => {
    const w = tf.variable(randn([4, 3], 3), true, 'lars-w');
    const b = tf.variable(randn([3], 4), true, 'lars-b');
    const [lr, mom, wd, eta] = [0.1, 0.9, 0.01, 0.001];
    const opt = new Lars([['l.w', w], ['l.b', b]], { lr, momentum: mom, weightDecay: wd, eta });
    let pw = arr(w);
    let pb = arr(b);
    const uw = new Array(12).fill(0);
    const ub = new Array(3).fill(0);
    for (let t = 0; t < 2; t++) {
      const gw = arr(randn([4, 3], 30 + t));
      const gb = arr(randn([3], 40 + t));
      const gd = gw.map((g, i) => g + wd * pw[i]);
      const norm = (x: number[]) => Math.sqrt(x.reduce((a, y) => a + y * y, 0));
      const ratio = (eta * norm(pw)) / norm(gd);
      pw = pw.map((x, i) => x - lr * (uw[i] = mom * uw[i] + ratio * gd[i]));
      pb = pb.map((x, i) => x - lr * (ub[i] = mom * ub[i] + gb[i]));
      opt.step({ [w.name]: tf.tensor(gw, [4, 3]), [b.name]: tf.tensor(gb, [3]) });
    }
    arr(w).forEach((x, i) => expect(x).toBeCloseTo(pw[i], 5));
    arr(b).forEach((x, i) => expect(x).toBeCloseTo(pb[i], 5));
    opt.dispose();
  });
});

describe('schedule, clipping, EMA', () => {
  it('warm-up is linear, then cosine reaches the floor at the last step', () => {
    const s = { peak: 0.5, warmupSteps: 10, totalSteps: 110, finalFraction: 0.1 };
    expect(warmupCosine(s, 0)).toBeCloseTo(0.05);
    expect(warmupCosine(s, 4)).toBeCloseTo(0.25);
    expect(warmupCosine(s, 10)).toBeCloseTo(0.5);
    expect(warmupCosine(s, 60)).toBeCloseTo(0.05 + 0.45 * 0.5);
    expect(warmupCosine(s, 110)).toBeCloseTo(0.05);
    for (let k = 11; k < 110; k++) expect(warmupCosine(s, k)).toBeLessThan(warmupCosine(s, k - 1));
  });

  it('clipping by global norm rescales all gradients together, only above the threshold, with no read-back', () => {
    const grads = { a: randn([3, 4], 5), b: randn([7], 6) };
    const value = (t: tf.Scalar) => {
      const x = t.dataSync()[0];
      t.dispose();
      return x;
    };
    const n = value(globalNorm(grads));
    const expected = Math.sqrt([...arr(grads.a), ...arr(grads.b)].reduce((s, x) => s + x * x, 0));
    expect(n).toBeCloseTo(expected, 4);
    const a0 = arr(grads.a);
    // No synchronous read (webgpu in Node has none): the old number-returning norm called dataSync here.
    const reads = vi.spyOn(tf.Tensor.prototype, 'dataSync');
    const { grads: clipped, norm } = clipByGlobalNorm(grads, n / 2);
    expect(reads).not.toHaveBeenCalled();
    reads.mockRestore();
    expect(value(norm)).toBeCloseTo(n, 5);
    expect(grads.a.isDisposed).toBe(true);
    expect(value(globalNorm(clipped))).toBeCloseTo(n / 2, 4);
    arr(clipped.a).forEach((x, i) => expect(x).toBeCloseTo(a0[i] / 2, 5));
    const c1 = arr(clipped.a);
    const same = clipByGlobalNorm(clipped, n);
    expect(arr(same.grads.a)).toEqual(c1); // scale exactly 1 below the threshold
    const zero = clipByGlobalNorm({ z: tf.zeros([3]) }, 1);
    expect(arr(zero.grads.z)).toEqual([0, 0, 0]);
    tf.dispose([same.norm, zero.norm, ...Object.values(same.grads), ...Object.values(zero.grads)]);
  });

  it('EMA follows t ← d·t + (1 − d)·s; the BYOL schedule rises from τ_base to 1', () => {
    const s = tf.variable(randn([5], 7), true, 'ema-src');
    const ema = new Ema([['s', s]]);
    const s0 = arr(s);
    s.assign(randn([5], 8));
    const s1 = arr(s);
    ema.update(0.9);
    arr(ema.shadow[0][1]).forEach((x, i) => expect(x).toBeCloseTo(0.9 * s0[i] + 0.1 * s1[i], 5));
    ema.dispose();
    expect(cosineEmaDecay(0.996, 0, 100)).toBeCloseTo(0.996);
    expect(cosineEmaDecay(0.996, 50, 100)).toBeCloseTo(0.998);
    expect(cosineEmaDecay(0.996, 100, 100)).toBeCloseTo(1);
  });
});

describe('parameter groups', () => {
  it('no weight decay on norms, biases, LayerScale, CLS and positions; decay on every weight matrix', () => {
    const m = new Vit({ imageSize: 8, channels: 1, patchSize: 4, dim: 8, depth: 1, heads: 2, mlpRatio: 2, classes: 2, attention: { kind: 'sigmoid', bias: 'negLogN', qkNorm: 'layernorm', causal: false }, layerScale: 1e-4 }, 1);
    const [decay, noDecay] = paramGroups(m.params.entries(), 0.05);
    expect(decay.entries.map(([n]) => n).sort()).toEqual(['blocks.0.attn.proj.w', 'blocks.0.attn.qkv.w', 'blocks.0.mlp.fc1.w', 'blocks.0.mlp.fc2.w', 'head.w', 'patch_embed.w']);
    const nd = noDecay.entries.map(([n]) => n);
    for (const n of ['blocks.0.ls1', 'blocks.0.ls2', 'blocks.0.attn.qnorm.gamma', 'blocks.0.norm1.beta', 'cls', 'pos', 'head.b', 'norm.gamma']) expect(nd).toContain(n);
    expect(noDecay.weightDecay).toBe(0);
    expect(isNoDecay('decoder.mask_token', m.params.get('cls'))).toBe(true);
    m.dispose();
  });
});
