/**
 * The float64 reference checked on its own: gradients by central finite differences (all options,
 * tiny shapes), a hand-computed case per kind, and the naive f32 version staying f32-close to it.
 */
import { describe, expect, it } from 'vitest';
import {
  makeRng,
  naiveAttentionF32Backward,
  naiveAttentionF32Forward,
  randomAttentionCase,
  referenceAttentionBackward,
  referenceAttentionForward,
  resolveAttention,
  testSeed,
  type AttentionCase,
  type ResolvedAttention,
} from '../src/index.js';

const seed = testSeed();

/** L = Σ dO ⊙ O, whose gradient with respect to q, k, v is exactly what the backward returns. */
function loss(r: ResolvedAttention, q: Float64Array, k: Float64Array, v: Float64Array, dO: ArrayLike<number>): number {
  const { o } = referenceAttentionForward(r, q, k, v);
  let s = 0;
  for (let i = 0; i < o.length; i++) s += o[i] * dO[i];
  return s;
}

function finiteDifferenceError(c: AttentionCase): { worst: number; where: string } {
  const r = c.resolved;
  const inputs = { q: Float64Array.from(c.q), k: Float64Array.from(c.k), v: Float64Array.from(c.v) };
  const grads = referenceAttentionBackward(r, inputs.q, inputs.k, inputs.v, c.dO);
  const analytic = { q: grads.dq, k: grads.dk, v: grads.dv };
  const h = 1e-5;
  let worst = 0;
  let where = '';
  for (const name of ['q', 'k', 'v'] as const) {
    const x = inputs[name];
    for (let i = 0; i < x.length; i++) {
      const x0 = x[i];
      x[i] = x0 + h;
      const up = loss(r, inputs.q, inputs.k, inputs.v, c.dO);
      x[i] = x0 - h;
      const down = loss(r, inputs.q, inputs.k, inputs.v, c.dO);
      x[i] = x0;
      const numeric = (up - down) / (2 * h);
      // Relative to the gradient's size, absolute near 0: central differences are good to ~1e-9 here.
      const err = Math.abs(numeric - analytic[name][i]) / (1 + Math.abs(numeric));
      if (err > worst) {
        worst = err;
        where = `d${name}[${i}]: finite difference ${numeric}, backward ${analytic[name][i]}`;
      }
    }
  }
  return { worst, where };
}

describe('float64 reference backward vs central finite differences', () => {
  for (const kind of ['sigmoid', 'softmax'] as const) {
    it(`${kind}: 40 random tiny cases with every option`, () => {
      for (let n = 0; n < 40; n++) {
        const c = randomAttentionCase(makeRng(seed + n), { kind, headDims: [1, 2, 3, 4], maxN: 6, maxBatch: 2, maxKvHeads: 2 });
        const { worst, where } = finiteDifferenceError(c);
        expect(worst, `${c.label}: ${where}`).toBeLessThan(1e-6);
      }
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
    const c = randomAttentionCase(makeRng(seed), { kind: 'softmax', maxN: 40 });
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
    for (let n = 0; n < 20; n++) {
      const c = randomAttentionCase(makeRng(seed + 1000 + n), { maxN: 48 });
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
