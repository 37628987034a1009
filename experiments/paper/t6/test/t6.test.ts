import { describe, expect, it } from 'vitest';
import { Rng } from '@sigattn/common';
import { resolveAttention } from '@sigattn/kernel-core';
import { referenceAttentionBackward, referenceAttentionForward } from '@sigattn/kernel-core/testing';
import {
  AttentionHead,
  drawInput,
  gaussianRowMass,
  growthFit,
  jacobianStudy,
  JACOBIAN_DEFAULTS,
  matrixSpectralNorm,
  rowMassStudy,
  ROW_MASS_DEFAULTS,
  sigmoidJacobianBound,
  spectralNorm,
  symmetricEigenvalues,
  type Linearization,
} from '../theory.js';

const n = 5;
const dim = 4;
const headDim = 3;

function randomHead(kind: 'sigmoid' | 'softmax', seed: number): AttentionHead {
  const rng = new Rng(seed);
  const w = () => Float64Array.from({ length: dim * headDim }, () => rng.normal() / Math.sqrt(dim));
  return new AttentionHead(kind, n, dim, headDim, w(), w(), w());
}

/** The dense Jacobian [outputs × inputs], column by column from the JVP. */
function denseJacobian(map: Linearization, inputs: number, outputs: number): Float64Array {
  const j = new Float64Array(outputs * inputs);
  for (let c = 0; c < inputs; c++) {
    const e = new Float64Array(inputs);
    e[c] = 1;
    const col = map.jvp(e);
    for (let r = 0; r < outputs; r++) j[r * inputs + c] = col[r];
  }
  return j;
}

describe('T6 (a): row mass at initialisation', () => {
  it('the Gaussian expectation reduces to n/2, n/(n+1) and exp(s²/2)', () => {
    for (const m of [16, 256]) {
      expect(gaussianRowMass(m, 0, 1.3)).toBeCloseTo(m / 2, 9);
      expect(gaussianRowMass(m, -Math.log(m), 0)).toBeCloseTo(m / (m + 1), 9);
    }
    // n·E[σ(s·z − log n)] → exp(s²/2) as n → ∞ (the correction is O(exp(2s²)/n)).
    expect(gaussianRowMass(1e7, -Math.log(1e7), 1)).toBeCloseTo(Math.exp(0.5), 5);
    expect(gaussianRowMass(16, -Math.log(16), 1)).toBeLessThan(Math.exp(0.5) - 0.2);
  });

  it('measured row mass matches the formulas on a small study', () => {
    const rows = rowMassStudy({ ...ROW_MASS_DEFAULTS, ns: [16, 64], seeds: 2, queryRows: 16 });
    expect(rows).toHaveLength(2 * 2 * 2 * 2);
    for (const r of rows) {
      if (r.bias === 'zero') expect(Math.abs(r.row_mass / r.n_over_2 - 1)).toBeLessThan(0.03);
      // std-0.02 projections give near-zero logits without QK-norm: each weight ≈ σ(−log n) = 1/(n+1).
      if (r.bias === 'neg-log-n' && r.qk_norm === 'none') {
        expect(r.logit_std).toBeLessThan(0.05);
        expect(Math.abs(r.row_mass / r.n_over_n_plus_1 - 1)).toBeLessThan(0.005);
      }
      // QK-norm makes the logits unit-scale: the mass follows n·E[σ(s·z − log n)], well below n/2.
      if (r.qk_norm === 'layernorm') expect(r.logit_std).toBeGreaterThan(0.9);
      expect(Math.abs(r.rel_error)).toBeLessThan(0.06);
    }
  });
});

describe('T6 (b): attention Jacobian', () => {
  it('the JVP matches central differences of the float64 forward, and the VJP is its transpose', () => {
    for (const kind of ['sigmoid', 'softmax'] as const) {
      const head = randomHead(kind, 3);
      const rng = new Rng(4);
      const x = Float64Array.from({ length: n * dim }, () => 2 * rng.normal());
      const dx = Float64Array.from({ length: n * dim }, () => rng.normal());
      const u = Float64Array.from({ length: n * headDim }, () => rng.normal());
      const lin = head.at(x);
      const jv = lin.jvp(dx);
      const h = 1e-5;
      const plus = head.forward(x.map((e, i) => e + h * dx[i]));
      const minus = head.forward(x.map((e, i) => e - h * dx[i]));
      jv.forEach((e, i) => expect(e).toBeCloseTo((plus[i] - minus[i]) / (2 * h), 6));
      const ju = lin.vjp(u);
      const lhs = jv.reduce((a, e, i) => a + e * u[i], 0);
      const rhs = ju.reduce((a, e, i) => a + e * dx[i], 0);
      expect(Math.abs(lhs - rhs)).toBeLessThan(1e-12 * Math.max(1, Math.abs(lhs)));
    }
  });

  it('forward and VJP agree with kernel-core\'s float64 reference attention', () => {
    for (const kind of ['sigmoid', 'softmax'] as const) {
      const head = randomHead(kind, 21);
      const rng = new Rng(22);
      const x = Float64Array.from({ length: n * dim }, () => 1.5 * rng.normal());
      const u = Float64Array.from({ length: n * headDim }, () => rng.normal());
      const proj = (w: Float64Array) => {
        const out = new Float64Array(n * headDim);
        for (let i = 0; i < n; i++) for (let c = 0; c < headDim; c++) for (let p = 0; p < dim; p++) out[i * headDim + c] += x[i * dim + p] * w[p * headDim + c];
        return out;
      };
      const [q, k, v] = [proj(head.wq), proj(head.wk), proj(head.wv)];
      const shape = [1, 1, n, headDim];
      const spec = resolveAttention(shape, shape, shape, kind === 'sigmoid' ? { kind, bias: { negLogN: n } } : { kind });
      const ref = referenceAttentionForward(spec, q, k, v).o;
      head.forward(x).forEach((e, i) => expect(e).toBeCloseTo(ref[i], 12));
      // Jᵀu through the reference backward: dX = dQ·W_qᵀ + dK·W_kᵀ + dV·W_vᵀ.
      const g = referenceAttentionBackward(spec, q, k, v, u);
      const mine = head.at(x).vjp(u);
      for (let i = 0; i < n; i++) {
        for (let p = 0; p < dim; p++) {
          let e = 0;
          for (let c = 0; c < headDim; c++) {
            const at = i * headDim + c;
            e += g.dq[at] * head.wq[p * headDim + c] + g.dk[at] * head.wk[p * headDim + c] + g.dv[at] * head.wv[p * headDim + c];
          }
          expect(mine[i * dim + p]).toBeCloseTo(e, 12);
        }
      }
    }
  });

  it('power iteration matches the dense Jacobian SVD on a tiny case', () => {
    for (const kind of ['sigmoid', 'softmax'] as const) {
      const head = randomHead(kind, 11);
      const rng = new Rng(12);
      for (const radius of [1, 4]) {
        const x = drawInput('gaussian', rng, n, dim, radius, []);
        const lin = head.at(x);
        const dense = matrixSpectralNorm(denseJacobian(lin, n * dim, n * headDim), n * headDim, n * dim);
        const { sigma, converged } = spectralNorm(lin, n * dim, rng, { tol: 1e-12, maxIterations: 5000 });
        expect(converged).toBe(true);
        expect(Math.abs(sigma / dense - 1)).toBeLessThan(1e-6);
      }
    }
  });

  it('Jacobi eigenvalues are the eigenvalues of a known matrix', () => {
    // Q·diag(5, 2, −1)·Qᵀ for a rotation Q.
    const c = Math.cos(0.7);
    const s = Math.sin(0.7);
    const q = [c, -s, 0, s, c, 0, 0, 0, 1];
    const d = [5, 2, -1];
    const m = new Float64Array(9);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) m[i * 3 + j] += q[i * 3 + k] * d[k] * q[j * 3 + k];
    symmetricEigenvalues(m, 3).forEach((e, i) => expect(e).toBeCloseTo([5, 2, -1][i], 12));
  });

  it('inputs have the requested average squared token norm', () => {
    const rng = new Rng(2);
    const dirs = [Float64Array.from([1, 0, 0, 0]), Float64Array.from([0, 1, 0, 0])];
    for (const family of ['gaussian', 'one-token', 'aligned'] as const) {
      const x = drawInput(family, rng, n, dim, 3, dirs);
      expect(x.reduce((a, e) => a + e * e, 0) / n).toBeCloseTo(9, 9);
    }
  });

  it('the sigmoid worst case stays under the quadratic bound; a small study has every column', () => {
    const rows = jacobianStudy({ ...JACOBIAN_DEFAULTS, radii: [1, 3, 6], seeds: 1, n: 6, dim: 4, headDim: 4, drawsPerFamily: 3 });
    expect(rows).toHaveLength(2 * 3);
    for (const r of rows) {
      expect(r.draws).toBe(9);
      expect(r.worst_jacobian_norm).toBeGreaterThanOrEqual(r.mean_gaussian_jacobian_norm);
      if (r.kind === 'sigmoid') expect(r.worst_jacobian_norm).toBeLessThanOrEqual(Number(r.bound));
      else expect(r.bound).toBe('');
    }
    const head = randomHead('sigmoid', 5);
    expect(sigmoidJacobianBound(head, 2)).toBeGreaterThan(sigmoidJacobianBound(head, 1));
  });

  it('growthFit recovers a power law and an exp(c·R²) rate', () => {
    const radii = [2, 3, 4, 5, 6];
    expect(growthFit(radii.map((r) => ({ radius: r, value: 7 * r ** 2 })), 2).powerExponent).toBeCloseTo(2, 12);
    expect(growthFit(radii.map((r) => ({ radius: r, value: 3 * Math.exp(0.4 * r * r) })), 2).expRate).toBeCloseTo(0.4, 12);
  });
});
