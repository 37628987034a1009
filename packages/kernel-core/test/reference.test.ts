/**
 * The float64 reference checked on its own: gradients by central finite differences (all options,
 * tiny shapes, every kind), hand-computed cases, and the naive f32 version staying f32-close to it.
 */
import { describe, expect, it } from 'vitest';
import { ATTENTION_KINDS, GELU_A, GELU_C, alibiTerm, resolveAttention, type ResolvedAttention } from '../src/spec.js';
import {
  naiveAttentionF32Backward,
  naiveAttentionF32Forward,
  randomAttentionCase,
  randomAttentionCases,
  referenceAttentionBackward,
  referenceAttentionForward,
  suiteSeed,
  type AttentionCase,
} from '@sigattn/kernel-core/testing';

const seed = suiteSeed(20261201);

/** L = Σ dO ⊙ O, whose gradient with respect to q, k, v is exactly what the backward returns. */
function loss(r: ResolvedAttention, q: Float64Array, k: Float64Array, v: Float64Array, dO: ArrayLike<number>): number {
  const { o } = referenceAttentionForward(r, q, k, v);
  let s = 0;
  for (let i = 0; i < o.length; i++) s += o[i] * dO[i];
  return s;
}

/** Signs of every logit of the case (relu's kink is at logit 0). */
function logitSigns(r: ResolvedAttention, q: Float64Array, k: Float64Array): string {
  const { B, H, Hkv, Nq, Nk, D } = r;
  let signs = '';
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < Nq; i++) for (let j = 0; j < Nk; j++) {
    const kOff = ((b * Hkv + Math.floor(h / (H / Hkv))) * Nk + j) * D;
    let dot = 0;
    for (let d = 0; d < D; d++) dot += q[((b * H + h) * Nq + i) * D + d] * k[kOff + d];
    signs += r.scale * dot + alibiTerm(r, h, i, j) > 0 ? '+' : '-';
  }
  return signs;
}

function finiteDifferenceError(c: AttentionCase): { worst: number; where: string; straddled: number } {
  const r = c.resolved;
  const inputs = { q: Float64Array.from(c.q), k: Float64Array.from(c.k), v: Float64Array.from(c.v) };
  const grads = referenceAttentionBackward(r, inputs.q, inputs.k, inputs.v, c.dO);
  const analytic = { q: grads.dq, k: grads.dk, v: grads.dv };
  const h = 1e-5;
  let worst = 0;
  let where = '';
  let straddled = 0;
  for (const name of ['q', 'k', 'v'] as const) {
    const x = inputs[name];
    for (let i = 0; i < x.length; i++) {
      const x0 = x[i];
      x[i] = x0 + h;
      const up = loss(r, inputs.q, inputs.k, inputs.v, c.dO);
      const upSigns = r.kind === 'relu' ? logitSigns(r, inputs.q, inputs.k) : '';
      x[i] = x0 - h;
      const down = loss(r, inputs.q, inputs.k, inputs.v, c.dO);
      const downSigns = r.kind === 'relu' ? logitSigns(r, inputs.q, inputs.k) : '';
      x[i] = x0;
      // A difference across relu's kink measures about half the slope: not a gradient to compare with.
      if (upSigns !== downSigns) {
        straddled++;
        continue;
      }
      const numeric = (up - down) / (2 * h);
      // Relative to the gradient's size, absolute near 0: central differences are good to ~1e-9 here.
      const err = Math.abs(numeric - analytic[name][i]) / (1 + Math.abs(numeric));
      if (err > worst) {
        worst = err;
        where = `d${name}[${i}]: finite difference ${numeric}, backward ${analytic[name][i]}`;
      }
    }
  }
  return { worst, where, straddled };
}

describe('float64 reference backward vs central finite differences', () => {
  for (const kind of ATTENTION_KINDS) {
    it(`${kind}: 40 random tiny cases with every option`, () => {
      let straddled = 0;
      for (const c of randomAttentionCases(seed, 40, { kind, headDims: [1, 2, 3, 4], maxN: 6, maxBatch: 2, maxKvHeads: 2 })) {
        const fd = finiteDifferenceError(c);
        expect(fd.worst, `${c.label}: ${fd.where}`).toBeLessThan(1e-6);
        straddled += fd.straddled;
      }
      // Only relu skips elements, and only the few whose ±h step crosses a logit's sign.
      expect(straddled).toBeLessThan(kind === 'relu' ? 50 : 1);
    });
  }
});

describe('float64 reference forward by hand', () => {
  // One query, two keys, D = 1: every logit written out.
  const q = [0.7];
  const k = [1.3, -0.4];
  const v = [2.0, -3.0];

  it('sigmoid with scale, bias, ALiBi (true distance) and bottom-right causal', () => {
    const r = resolveAttention([1, 1, 1, 1], [1, 1, 2, 1], [1, 1, 2, 1], {
      kind: 'sigmoid', scale: 0.5, bias: -1.5, alibiSlopes: [0.25], causal: true,
    });
    // Nq = 1, Nk = 2: query 0 sits at position 1 (bottom-right), so it sees both keys; distances 1 and 0.
    const s0 = 0.5 * 0.7 * 1.3 - 1.5 - 0.25 * 1;
    const s1 = 0.5 * 0.7 * -0.4 - 1.5 - 0.25 * 0;
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    const { o, lse } = referenceAttentionForward(r, q, k, v);
    expect(o[0]).toBeCloseTo(sig(s0) * 2 + sig(s1) * -3, 14);
    expect(lse[0]).toBe(0);
  });

  it('relu and gelu scale the weight by e^b instead of shifting the logit (ALiBi still shifts it)', () => {
    const spec = { scale: 0.5, bias: -1.5, alibiSlopes: [0.25], causal: true };
    const s0 = 0.5 * 0.7 * 1.3 - 0.25 * 1; // 0.205 > 0
    const s1 = 0.5 * 0.7 * -0.4 - 0.25 * 0; // −0.14 < 0: relu gives 0, gelu a small negative weight
    const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    const relu = resolveAttention([1, 1, 1, 1], [1, 1, 2, 1], [1, 1, 2, 1], { kind: 'relu', ...spec });
    expect(referenceAttentionForward(relu, q, k, v).o[0]).toBeCloseTo(Math.exp(-1.5) * (s0 * 2), 14);
    const g = resolveAttention([1, 1, 1, 1], [1, 1, 2, 1], [1, 1, 2, 1], { kind: 'gelu', ...spec });
    expect(referenceAttentionForward(g, q, k, v).o[0]).toBeCloseTo(Math.exp(-1.5) * (gelu(s0) * 2 + gelu(s1) * -3), 14);
  });

  it('gelu is the tanh form of the models\' MLP: gelu(1) ≈ 0.841192, gelu(−1) ≈ −0.158808', () => {
    expect(GELU_C).toBeCloseTo(0.7978845608, 10);
    expect(GELU_A).toBe(0.044715);
    const r = resolveAttention([1, 1, 1, 1], [1, 1, 2, 1], [1, 1, 2, 1], { kind: 'gelu', scale: 1 });
    const o = referenceAttentionForward(r, [1], [1, -1], [1, 0]).o[0];
    expect(o).toBeCloseTo(0.841192, 6);
    expect(referenceAttentionForward(r, [1], [1, -1], [0, 1]).o[0]).toBeCloseTo(-0.158808, 6);
  });

  it('softmax with padding: only key 0 is visible, so O = v0 and LSE = s0', () => {
    const r = resolveAttention([1, 1, 1, 1], [1, 1, 2, 1], [1, 1, 2, 1], { kind: 'softmax', scale: 0.5, keyLengths: [1] });
    const { o, lse } = referenceAttentionForward(r, q, k, v);
    expect(o[0]).toBeCloseTo(2.0, 14);
    expect(lse[0]).toBeCloseTo(0.5 * 0.7 * 1.3, 14);
  });

  it('softmax fully masked row gives O = 0, LSE = −∞ and zero gradients', () => {
    const r = resolveAttention([1, 1, 1, 1], [1, 1, 2, 1], [1, 1, 2, 1], { kind: 'softmax', keyLengths: [0] });
    const { o, lse } = referenceAttentionForward(r, q, k, v);
    expect(o[0]).toBe(0);
    expect(lse[0]).toBe(-Infinity);
    const g = referenceAttentionBackward(r, q, k, v, [1.7]);
    expect([...g.dq, ...g.dk, ...g.dv].every((x) => x === 0)).toBe(true);
  });

  it('softmax rows sum to 1: with V = 1 every visible row of O is 1', () => {
    const c = randomAttentionCase(seed, { kind: 'softmax', maxN: 40 });
    const ones = new Float64Array(c.v.length).fill(1);
    const { o, lse } = referenceAttentionForward(c.resolved, c.q, c.k, ones);
    const D = c.resolved.D;
    for (let row = 0; row < lse.length; row++) {
      const expected = lse[row] === -Infinity ? 0 : 1;
      for (let d = 0; d < D; d++) expect(o[row * D + d], c.label).toBeCloseTo(expected, 12);
    }
  });
});

describe('naive f32 implementation', () => {
  it('stays within f32 accuracy of the float64 reference and is not exact', () => {
    let sawError = false;
    for (const c of randomAttentionCases(seed + 1000, 20, { maxN: 48 })) {
      const r = c.resolved;
      const ref = { ...referenceAttentionForward(r, c.q, c.k, c.v), ...referenceAttentionBackward(r, c.q, c.k, c.v, c.dO) };
      const naive = { ...naiveAttentionF32Forward(r, c.q, c.k, c.v), ...naiveAttentionF32Backward(r, c.q, c.k, c.v, c.dO) };
      for (const name of ['o', 'dq', 'dk', 'dv'] as const) {
        let scale = 1;
        let err = 0;
        for (let i = 0; i < ref[name].length; i++) {
          scale = Math.max(scale, Math.abs(ref[name][i]));
          err = Math.max(err, Math.abs(naive[name][i] - ref[name][i]));
        }
        // f32 epsilon is 1.2e-7; sums over ≤ 128·48 terms with logits up to ~|10| stay well under 1e-3 relative.
        expect(err / scale, `${c.label} ${name}`).toBeLessThan(1e-3);
        if (err > 0) sawError = true;
      }
    }
    expect(sawError).toBe(true);
  });
});
