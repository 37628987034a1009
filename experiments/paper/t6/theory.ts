/**
 * T6 "Theory, measured": two float64 measurements of the paper's theory section.
 *
 * (a) Attention row mass Σⱼ σ(sᵢⱼ + b) at initialisation, against closed forms. With logits s ~ N(0, s²):
 *     n·E[σ(b + s·z)] (z ~ N(0, 1)) is n/2 for b = 0 (σ(−x) = 1 − σ(x)), n/(n + 1) for b = −log n at s = 0
 *     (σ(−log n) = 1/(n + 1)), and tends to exp(s²/2) for b = −log n as n grows (σ(z − log n) = eᶻ/(n + eᶻ)
 *     ≈ eᶻ/n and E[eˢᶻ] = exp(s²/2)). The layer is initialised as the model zoo does it.
 *
 * (b) The spectral norm of the Jacobian of one self-attention head f(X) = attn(X·W_q, X·W_k, X·W_v) with
 *     respect to X, by power iteration on JᵀJ (Jv and Jᵀu by hand-written float64 JVP and VJP, checked in
 *     the tests against finite differences, each other, a dense SVD and kernel-core's float64 reference),
 *     worst case over random inputs whose average squared token norm is R².
 *     For sigmoid attention it is compared with the quadratic bound derived in bounds below.
 */
import { Rng, deriveSeed } from '@sigattn/common';

export type AttentionKind = 'sigmoid' | 'softmax';

// ───────────────────────────── small dense linear algebra (row-major) ─────────────────────────────

/** C = A·B for A [m×k], B [k×n]. */
export function matMul(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p];
      if (aip === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j] += aip * b[p * n + j];
    }
  }
  return c;
}

/** C = A·Bᵀ for A [m×k], B [n×k]. */
export function matMulT(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[j * k + p];
      c[i * n + j] = s;
    }
  }
  return c;
}

/** C = Aᵀ·B for A [k×m], B [k×n]. */
export function matTMul(a: Float64Array, b: Float64Array, k: number, m: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let p = 0; p < k; p++) {
    for (let i = 0; i < m; i++) {
      const api = a[p * m + i];
      if (api === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j] += api * b[p * n + j];
    }
  }
  return c;
}

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function norm2(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

/**
 * Eigenvalues of a symmetric matrix [n×n] by the cyclic Jacobi method, in descending order. Exact to
 * rounding for the small matrices used here (independent of power iteration, so the tests can check one
 * against the other).
 */
export function symmetricEigenvalues(matrix: Float64Array, n: number): number[] {
  const a = Float64Array.from(matrix);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-30 * Math.max(1, dot(a, a))) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Array.from({ length: n }, (_, i) => a[i * n + i]).sort((x, y) => y - x);
}

/** Largest singular value of M [rows×cols]: √(largest eigenvalue of MᵀM). */
export function matrixSpectralNorm(m: Float64Array, rows: number, cols: number): number {
  const mt = new Float64Array(cols * rows);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) mt[j * rows + i] = m[i * cols + j];
  return Math.sqrt(Math.max(0, symmetricEigenvalues(matMul(mt, m, cols, rows, cols), cols)[0]));
}

// ───────────────────────────── (a) row mass at initialisation ─────────────────────────────

export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * n·E[σ(b + s·z)] for z ~ N(0, 1): the row mass of n keys whose logits are N(0, s²), by the trapezoid
 * rule on z ∈ [−12, 12] (the integrand is smooth and the Gaussian tail beyond is < 1e-32).
 */
export function gaussianRowMass(n: number, bias: number, logitStd: number): number {
  const steps = 4800;
  const h = 24 / steps;
  let sum = 0;
  for (let k = 0; k <= steps; k++) {
    const z = -12 + k * h;
    const w = (k === 0 || k === steps ? 0.5 : 1) * Math.exp(-0.5 * z * z);
    sum += w * sigmoid(bias + logitStd * z);
  }
  return (n * sum * h) / Math.sqrt(2 * Math.PI);
}

/** A normal draw truncated to ±2 std, as tf.truncatedNormal (the model zoo's weight init) draws. */
function truncatedNormal(rng: Rng, std: number): number {
  for (;;) {
    const z = rng.normal();
    if (Math.abs(z) <= 2) return z * std;
  }
}

/** LayerNorm of each row of x [rows×d] in place (γ = 1, β = 0, ε as the model zoo's QK-norm). */
function layerNormRows(x: Float64Array, rows: number, d: number, eps = 1e-5): void {
  for (let i = 0; i < rows; i++) {
    let mean = 0;
    for (let c = 0; c < d; c++) mean += x[i * d + c];
    mean /= d;
    let v = 0;
    for (let c = 0; c < d; c++) v += (x[i * d + c] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / d + eps);
    for (let c = 0; c < d; c++) x[i * d + c] = (x[i * d + c] - mean) * inv;
  }
}

export interface RowMassOptions {
  /** Sequence lengths (keys per row); b = −log n uses the same n. */
  ns: readonly number[];
  /** Independent draws (inputs and weights) per n. */
  seeds: number;
  /** Model width and heads (head dim = dim / heads), as a ViT block. */
  dim: number;
  heads: number;
  /** Query rows measured per head and draw (all keys are always used). */
  queryRows: number;
  /** Std of the q/k projection init (the model zoo's linear layers: truncated normal, std 0.02). */
  initStd: number;
  baseSeed: number;
}

export const ROW_MASS_DEFAULTS: RowMassOptions = {
  ns: [16, 32, 64, 128, 256, 512, 1024, 2048, 4096],
  seeds: 5,
  dim: 64,
  heads: 4,
  queryRows: 64,
  initStd: 0.02,
  baseSeed: 6,
};

export type BiasName = 'zero' | 'neg-log-n';
export type QkNormName = 'none' | 'layernorm';

/** One draw of one setting: what the CSV holds (closed forms are evaluated at this draw's measured logit std). */
export interface RowMassRow {
  [column: string]: string | number;
  n: number;
  bias: BiasName;
  qk_norm: QkNormName;
  seed: number;
  logit_std: number;
  row_mass: number;
  /** Spread of the row mass across this draw's query rows. */
  row_mass_row_std: number;
  n_over_n_plus_1: number;
  exp_half_s2: number;
  n_over_2: number;
  /** n·E[σ(b + s·z)], the closed forms' common source; prediction for every setting. */
  gaussian_prediction: number;
  /** row_mass / gaussian_prediction − 1. */
  rel_error: number;
}

/**
 * Row mass of a freshly initialised attention layer: tokens X ~ N(0, 1) per feature (the output of a
 * pre-norm LayerNorm), q/k projections drawn as the model zoo draws them, logits q·k/√d_head, with and
 * without QK-norm (LayerNorm per head), for b = 0 and b = −log n. Every row is one (n, bias, QK-norm, seed).
 */
export function rowMassStudy(opts: RowMassOptions = ROW_MASS_DEFAULTS): RowMassRow[] {
  const { dim, heads, initStd } = opts;
  const hd = dim / heads;
  if (!Number.isInteger(hd)) throw new Error(`rowMassStudy: dim ${dim} is not divisible by heads ${heads}`);
  const rows: RowMassRow[] = [];
  for (const n of opts.ns) {
    const m = Math.min(n, opts.queryRows);
    for (let seed = 0; seed < opts.seeds; seed++) {
      const rng = new Rng(deriveSeed(opts.baseSeed, n, seed));
      const x = Float64Array.from({ length: n * dim }, () => rng.normal());
      const wq = Float64Array.from({ length: dim * dim }, () => truncatedNormal(rng, initStd));
      const wk = Float64Array.from({ length: dim * dim }, () => truncatedNormal(rng, initStd));
      // Queries are exchangeable, so the first m tokens are a random sample of rows.
      const qAll = matMul(x.subarray(0, m * dim), wq, m, dim, dim);
      const kAll = matMul(x, wk, n, dim, dim);
      for (const qkNorm of ['none', 'layernorm'] as const) {
        const logits: Float64Array[] = [];
        for (let h = 0; h < heads; h++) {
          const q = new Float64Array(m * hd);
          const k = new Float64Array(n * hd);
          for (let i = 0; i < m; i++) for (let c = 0; c < hd; c++) q[i * hd + c] = qAll[i * dim + h * hd + c];
          for (let j = 0; j < n; j++) for (let c = 0; c < hd; c++) k[j * hd + c] = kAll[j * dim + h * hd + c];
          if (qkNorm === 'layernorm') {
            layerNormRows(q, m, hd);
            layerNormRows(k, n, hd);
          }
          const s = matMulT(q, k, m, hd, n);
          for (let i = 0; i < s.length; i++) s[i] /= Math.sqrt(hd);
          logits.push(s);
        }
        let sum = 0;
        let sumSq = 0;
        let count = 0;
        for (const s of logits) for (const v of s) { sum += v; sumSq += v * v; count++; }
        const logitStd = Math.sqrt(Math.max(0, sumSq / count - (sum / count) ** 2));
        for (const bias of ['zero', 'neg-log-n'] as const) {
          const b = bias === 'zero' ? 0 : -Math.log(n);
          const masses: number[] = [];
          for (const s of logits) {
            for (let i = 0; i < m; i++) {
              let mass = 0;
              for (let j = 0; j < n; j++) mass += sigmoid(s[i * n + j] + b);
              masses.push(mass);
            }
          }
          const mean = masses.reduce((a, v) => a + v, 0) / masses.length;
          const std = Math.sqrt(masses.reduce((a, v) => a + (v - mean) ** 2, 0) / Math.max(1, masses.length - 1));
          const prediction = gaussianRowMass(n, b, logitStd);
          rows.push({
            n,
            bias,
            qk_norm: qkNorm,
            seed,
            logit_std: logitStd,
            row_mass: mean,
            row_mass_row_std: std,
            n_over_n_plus_1: n / (n + 1),
            exp_half_s2: Math.exp((logitStd * logitStd) / 2),
            n_over_2: n / 2,
            gaussian_prediction: prediction,
            rel_error: mean / prediction - 1,
          });
        }
      }
    }
  }
  return rows;
}

// ───────────────────────────── (b) Jacobian spectral norm ─────────────────────────────

/**
 * One self-attention head: X [n×dim] → P·V [n×headDim] with Q, K, V = X·W_q, X·W_k, X·W_v,
 * S = Q·Kᵀ/√headDim (+ b for sigmoid), P = σ(S) or the row softmax of S. Float64, no mask.
 */
export class AttentionHead {
  readonly scale: number;

  constructor(
    readonly kind: AttentionKind,
    readonly n: number,
    readonly dim: number,
    readonly headDim: number,
    /** Projections [dim×headDim]. */
    readonly wq: Float64Array,
    readonly wk: Float64Array,
    readonly wv: Float64Array,
    /** Sigmoid bias b (softmax has none: it is shift-invariant). */
    readonly bias = kind === 'sigmoid' ? -Math.log(n) : 0,
  ) {
    this.scale = 1 / Math.sqrt(headDim);
  }

  private project(x: Float64Array): { q: Float64Array; k: Float64Array; v: Float64Array } {
    const { n, dim, headDim } = this;
    return { q: matMul(x, this.wq, n, dim, headDim), k: matMul(x, this.wk, n, dim, headDim), v: matMul(x, this.wv, n, dim, headDim) };
  }

  /** The attention weights P [n×n] for projections q, k. */
  private weights(q: Float64Array, k: Float64Array): Float64Array {
    const { n, headDim, scale, bias, kind } = this;
    const p = matMulT(q, k, n, headDim, n);
    for (let i = 0; i < n; i++) {
      const row = p.subarray(i * n, (i + 1) * n);
      if (kind === 'sigmoid') {
        for (let j = 0; j < n; j++) row[j] = sigmoid(scale * row[j] + bias);
      } else {
        let max = -Infinity;
        for (let j = 0; j < n; j++) max = Math.max(max, (row[j] *= scale));
        let z = 0;
        for (let j = 0; j < n; j++) z += (row[j] = Math.exp(row[j] - max));
        for (let j = 0; j < n; j++) row[j] /= z;
      }
    }
    return p;
  }

  forward(x: Float64Array): Float64Array {
    const { q, k, v } = this.project(x);
    return matMul(this.weights(q, k), v, this.n, this.n, this.headDim);
  }

  /** dS from dP, row by row: sigmoid P(1 − P)·dP, softmax P ⊙ (dP − rowsum(P ⊙ dP)). In place on dp. */
  private logitGrad(p: Float64Array, dp: Float64Array): Float64Array {
    const { n } = this;
    for (let i = 0; i < n; i++) {
      let mean = 0;
      for (let j = 0; j < n; j++) mean += p[i * n + j] * dp[i * n + j];
      for (let j = 0; j < n; j++) {
        const e = i * n + j;
        dp[e] = this.kind === 'sigmoid' ? p[e] * (1 - p[e]) * dp[e] : p[e] * (dp[e] - mean);
      }
    }
    return dp;
  }

  /** The head linearised at x: J·dx and Jᵀ·u, with x's projections and attention weights computed once. */
  at(x: Float64Array): Linearization {
    const { n, dim, headDim: d, scale } = this;
    const { q, k, v } = this.project(x);
    const p = this.weights(q, k);
    const jvp = (dx: Float64Array): Float64Array => {
      const { q: dq, k: dk, v: dv } = this.project(dx);
      // dP = P′(S)·dS with dS = scale·(dQ·Kᵀ + Q·dKᵀ); dY = dP·V + P·dV.
      const ds = matMulT(dq, k, n, d, n);
      const qdk = matMulT(q, dk, n, d, n);
      for (let e = 0; e < ds.length; e++) ds[e] = scale * (ds[e] + qdk[e]);
      const out = matMul(this.logitGrad(p, ds), v, n, n, d);
      const pdv = matMul(p, dv, n, n, d);
      for (let e = 0; e < out.length; e++) out[e] += pdv[e];
      return out;
    };
    const vjp = (u: Float64Array): Float64Array => {
      // dV = Pᵀ·U, dP = U·Vᵀ → dS, dQ = scale·dS·K, dK = scale·dSᵀ·Q; dX = dQ·W_qᵀ + dK·W_kᵀ + dV·W_vᵀ.
      const dv = matTMul(p, u, n, n, d);
      const ds = this.logitGrad(p, matMulT(u, v, n, d, n));
      const dq = matMul(ds, k, n, n, d);
      const dk = matTMul(ds, q, n, n, d);
      const out = matMulT(dq, this.wq, n, d, dim);
      const gk = matMulT(dk, this.wk, n, d, dim);
      const gv = matMulT(dv, this.wv, n, d, dim);
      for (let e = 0; e < out.length; e++) out[e] = scale * (out[e] + gk[e]) + gv[e];
      return out;
    };
    return { jvp, vjp };
  }
}

/** A map linearised at one point: its Jacobian-vector and vector-Jacobian products. */
export interface Linearization {
  jvp(dx: Float64Array): Float64Array;
  vjp(u: Float64Array): Float64Array;
}

export interface PowerIterationResult {
  /** ‖J·v‖ for the final unit v: a lower bound on ‖J‖₂ that converges to it. */
  sigma: number;
  iterations: number;
  converged: boolean;
}

/** ‖J‖₂ of a linearised map (inputs of `size` numbers) by power iteration on JᵀJ from a random start; stops when σ changes by < tol relatively. */
export function spectralNorm(
  map: Linearization, size: number, rng: Rng, opts: { maxIterations?: number; tol?: number } = {},
): PowerIterationResult {
  const maxIterations = opts.maxIterations ?? 500;
  const tol = opts.tol ?? 1e-8;
  let v = Float64Array.from({ length: size }, () => rng.normal());
  let nv = norm2(v);
  v = v.map((e) => e / nv);
  let sigma = 0;
  for (let it = 1; it <= maxIterations; it++) {
    const u = map.jvp(v);
    const next = norm2(u);
    const w = map.vjp(u);
    nv = norm2(w);
    if (nv === 0) return { sigma: 0, iterations: it, converged: true };
    v = w.map((e) => e / nv);
    if (Math.abs(next - sigma) <= tol * next) return { sigma: next, iterations: it, converged: true };
    sigma = next;
  }
  return { sigma: norm2(map.jvp(v)), iterations: maxIterations, converged: false };
}

/**
 * Upper bound on ‖J‖₂ of the sigmoid head at any X whose average squared token norm is ≤ R²
 * (derived here; the paper's Theorem 3.2 has the same form — quadratic in the average token norm):
 *   J·dX = P·dX·W_v + [σ′(S) ⊙ (dX·A·Xᵀ + X·A·dXᵀ)]·X·W_v,   A = scale·W_q·W_kᵀ,  0 ≤ P ≤ 1,  σ′ ≤ 1/4
 *   ‖P‖₂ ≤ ‖P‖_F ≤ n, and each σ′ term is ≤ ¼·‖A‖₂·‖W_v‖₂·Σⱼ‖xⱼ‖²·‖dX‖_F = ¼·‖A‖₂·‖W_v‖₂·n·R²·‖dX‖_F, so
 *   ‖J‖₂ ≤ ‖W_v‖₂ · n · (1 + ‖A‖₂·R²/2).
 */
export function sigmoidJacobianBound(layer: AttentionHead, avgNorm: number): number {
  const { n, dim, headDim } = layer;
  const a = matMulT(layer.wq, layer.wk, dim, headDim, dim).map((e) => e * layer.scale);
  const aNorm = matrixSpectralNorm(a, dim, dim);
  const wvNorm = matrixSpectralNorm(layer.wv, dim, headDim);
  return wvNorm * n * (1 + (aNorm * avgNorm * avgNorm) / 2);
}

export type InputFamily = 'gaussian' | 'one-token' | 'aligned';
export const INPUT_FAMILIES: readonly InputFamily[] = ['gaussian', 'one-token', 'aligned'];

/**
 * A random input X [n×dim] with average squared token norm exactly R² (‖X‖_F = √n·R), from one of three
 * families, so the worst case is not only over isotropic inputs:
 *   gaussian   iid N(0, 1) entries, rescaled;
 *   one-token  one token carries a random 50–100 % of the total squared norm (softmax's sharpest rows);
 *   aligned    tokens ± along the top singular directions of W_q·W_kᵀ plus noise (the largest logits).
 */
export function drawInput(family: InputFamily, rng: Rng, n: number, dim: number, avgNorm: number, directions: Float64Array[]): Float64Array {
  const x = new Float64Array(n * dim);
  if (family === 'gaussian') {
    for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  } else if (family === 'one-token') {
    const heavy = rng.int(n);
    const share = rng.uniform(0.5, 1);
    for (let i = 0; i < n; i++) {
      const row = x.subarray(i * dim, (i + 1) * dim);
      for (let c = 0; c < dim; c++) row[c] = rng.normal();
      const target = i === heavy ? Math.sqrt(share) : Math.sqrt((1 - share) / Math.max(1, n - 1));
      const r = norm2(row);
      for (let c = 0; c < dim; c++) row[c] *= target / r;
    }
  } else {
    for (let i = 0; i < n; i++) {
      for (const dir of directions) {
        const coef = rng.normal();
        for (let c = 0; c < dim; c++) x[i * dim + c] += coef * dir[c];
      }
      for (let c = 0; c < dim; c++) x[i * dim + c] += 0.1 * rng.normal();
    }
  }
  const scale = (Math.sqrt(n) * avgNorm) / norm2(x);
  for (let i = 0; i < x.length; i++) x[i] *= scale;
  return x;
}

/** Top left and right singular vectors of M [dim×dim] (power iteration on MᵀM; directions only). */
function topSingularDirections(m: Float64Array, dim: number, rng: Rng): Float64Array[] {
  const mt = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) mt[j * dim + i] = m[i * dim + j];
  let v = Float64Array.from({ length: dim }, () => rng.normal());
  for (let it = 0; it < 300; it++) {
    const w = matMul(mt, matMul(m, v, dim, dim, 1), dim, dim, 1);
    const nw = norm2(w);
    v = w.map((e) => e / nw);
  }
  const u = matMul(m, v, dim, dim, 1);
  const nu = norm2(u);
  return [v, u.map((e) => e / nu)];
}

export interface JacobianOptions {
  kinds: readonly AttentionKind[];
  /** Average token norms R. */
  radii: readonly number[];
  /** Weight draws (one fixed layer each). */
  seeds: number;
  /** Tokens, model width and head width of the layer. */
  n: number;
  dim: number;
  headDim: number;
  /** Random inputs per family per (kind, R, seed). */
  drawsPerFamily: number;
  baseSeed: number;
}

export const JACOBIAN_DEFAULTS: JacobianOptions = {
  kinds: ['sigmoid', 'softmax'],
  radii: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  seeds: 3,
  n: 16,
  dim: 16,
  headDim: 16,
  drawsPerFamily: 40,
  baseSeed: 62,
};

export interface JacobianRow {
  [column: string]: string | number;
  kind: AttentionKind;
  radius: number;
  seed: number;
  /** Largest ‖J‖₂ over all draws (power iteration, float64). */
  worst_jacobian_norm: number;
  /** Mean ‖J‖₂ over the gaussian draws. */
  mean_gaussian_jacobian_norm: number;
  worst_family: InputFamily;
  /** sigmoid: the quadratic bound at R; softmax: '' (no bound of this form). */
  bound: number | '';
  /** worst / R². */
  ratio_to_r2: number;
  draws: number;
}

/** Worst-case ‖J‖₂ over random inputs per (kind, R, weight seed). Weights are N(0, 1/dim), as a standard init. */
export function jacobianStudy(opts: JacobianOptions = JACOBIAN_DEFAULTS): JacobianRow[] {
  const { n, dim, headDim } = opts;
  const rows: JacobianRow[] = [];
  for (let seed = 0; seed < opts.seeds; seed++) {
    const wrng = new Rng(deriveSeed(opts.baseSeed, seed));
    const w = () => Float64Array.from({ length: dim * headDim }, () => wrng.normal() / Math.sqrt(dim));
    const wq = w();
    const wk = w();
    const wv = w();
    const directions = topSingularDirections(matMulT(wq, wk, dim, headDim, dim), dim, wrng);
    for (const kind of opts.kinds) {
      const layer = new AttentionHead(kind, n, dim, headDim, wq, wk, wv);
      for (const radius of opts.radii) {
        // The same inputs for both kinds: the comparison is paired.
        const rng = new Rng(deriveSeed(opts.baseSeed, seed, radius * 1000));
        let worst = 0;
        let worstFamily: InputFamily = 'gaussian';
        let gaussianSum = 0;
        let draws = 0;
        for (const family of INPUT_FAMILIES) {
          for (let d = 0; d < opts.drawsPerFamily; d++) {
            const x = drawInput(family, rng, n, dim, radius, directions);
            const { sigma } = spectralNorm(layer.at(x), x.length, rng);
            draws++;
            if (family === 'gaussian') gaussianSum += sigma;
            if (sigma > worst) {
              worst = sigma;
              worstFamily = family;
            }
          }
        }
        rows.push({
          kind,
          radius,
          seed,
          worst_jacobian_norm: worst,
          mean_gaussian_jacobian_norm: gaussianSum / opts.drawsPerFamily,
          worst_family: worstFamily,
          bound: kind === 'sigmoid' ? sigmoidJacobianBound(layer, radius) : '',
          ratio_to_r2: worst / (radius * radius),
          draws,
        });
      }
    }
  }
  return rows;
}

/**
 * Growth of y(R): the least-squares slope of log y against log R (a power law R^p has slope p) and of
 * log y against R² (exp(c·R²) has slope c), over the points with R ≥ fromRadius.
 */
export function growthFit(points: readonly { radius: number; value: number }[], fromRadius: number): { powerExponent: number; expRate: number } {
  const use = points.filter((p) => p.radius >= fromRadius && p.value > 0);
  const slope = (xs: number[], ys: number[]) => {
    const mx = xs.reduce((a, v) => a + v, 0) / xs.length;
    const my = ys.reduce((a, v) => a + v, 0) / ys.length;
    let num = 0;
    let den = 0;
    for (let i = 0; i < xs.length; i++) {
      num += (xs[i] - mx) * (ys[i] - my);
      den += (xs[i] - mx) ** 2;
    }
    return num / den;
  };
  const logY = use.map((p) => Math.log(p.value));
  return {
    powerExponent: slope(use.map((p) => Math.log(p.radius)), logY),
    expRate: slope(use.map((p) => p.radius * p.radius), logY),
  };
}
