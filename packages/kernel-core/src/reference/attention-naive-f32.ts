/**
 * Naive same-precision attention: the unfused float32 computation (S = scale·Q·Kᵀ + b + ALiBi →
 * σ/relu/gelu or softmax → O = P·V, and the backward as five separate matmuls), with every
 * intermediate rounded to float32 by Math.fround. It is the yardstick of the accuracy rule
 *   max|kernel − ref64| ≤ 2 · max|naive32 − ref64|        (package README, "The accuracy rule")
 * so it deliberately makes the rounding errors a plain f32 implementation makes: f32 sums in
 * sequential order, the full N×N score matrix, and GQA by repeating K/V heads then summing dK/dV.
 */
import { GELU_A, GELU_C, alibiTerm, biasForm, isVisible, type ElementwiseKind, type ResolvedAttention } from '../spec.js';

const f = Math.fround;

export interface NaiveForward {
  o: Float32Array;
  lse: Float32Array;
}

export interface NaiveGrads {
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
}

/**
 * Weight P = gain·φ(x) and slope ∂P/∂x of an element-wise kind at the f32 logit x, each operation
 * rounded to f32 — the form a plain f32 kernel uses (σ as 1/(1 + exp(−x)), gelu in its tanh form).
 */
function weight32(kind: ElementwiseKind, x: number, gain: number): { p: number; slope: number } {
  switch (kind) {
    case 'sigmoid': {
      const p = f(1 / f(1 + f(Math.exp(-x))));
      return { p, slope: f(p * f(1 - p)) };
    }
    case 'relu':
      return x > 0 ? { p: f(gain * x), slope: gain } : { p: 0, slope: 0 };
    case 'gelu': {
      const c = f(GELU_C), a = f(GELU_A);
      const t = f(Math.tanh(f(c * f(x + f(a * f(f(x * x) * x))))));
      const halfX = f(0.5 * x);
      const g = f(halfX * f(1 + t));
      const dg = f(f(0.5 * f(1 + t)) + f(f(halfX * f(1 - f(t * t))) * f(c * f(1 + f(f(3 * a) * f(x * x))))));
      return { p: f(gain * g), slope: f(gain * dg) };
    }
  }
}

/**
 * P of one head as an Nq×Nk f32 matrix (the materialised weights), plus the f32 row LSE (softmax)
 * and, for the element-wise kinds, ∂P/∂s (0 where masked).
 */
function headProbabilities(
  r: ResolvedAttention, q: ArrayLike<number>, k: ArrayLike<number>, b: number, h: number,
): { p: Float32Array; slope: Float32Array; lse: Float32Array } {
  const { H, Hkv, Nq, Nk, D } = r;
  const kvh = Math.floor(h / (H / Hkv));
  const { shift, gain } = biasForm(r);
  const gain32 = f(gain);
  const p = new Float32Array(Nq * Nk);
  const slope = new Float32Array(Nq * Nk);
  const lse = new Float32Array(Nq);
  for (let i = 0; i < Nq; i++) {
    const qOff = ((b * H + h) * Nq + i) * D;
    for (let j = 0; j < Nk; j++) {
      const kOff = ((b * Hkv + kvh) * Nk + j) * D;
      let dot = 0;
      for (let d = 0; d < D; d++) dot = f(dot + f(q[qOff + d] * k[kOff + d]));
      let s = f(f(r.scale) * dot);
      if (shift !== 0) s = f(s + f(shift));
      if (r.alibiSlopes !== null) s = f(s + f(alibiTerm(r, h, i, j)));
      p[i * Nk + j] = isVisible(r, b, i, j) ? s : -Infinity;
    }
    const row = p.subarray(i * Nk, (i + 1) * Nk);
    const kind = r.kind;
    if (kind !== 'softmax') {
      for (let j = 0; j < Nk; j++) {
        if (row[j] === -Infinity) {
          row[j] = 0;
          continue;
        }
        const w = weight32(kind, row[j], gain32);
        row[j] = w.p;
        slope[i * Nk + j] = w.slope;
      }
      continue;
    }
    let max = -Infinity;
    for (let j = 0; j < Nk; j++) max = Math.max(max, row[j]);
    if (max === -Infinity) {
      row.fill(0);
      lse[i] = -Infinity;
      continue;
    }
    let sum = 0;
    for (let j = 0; j < Nk; j++) {
      row[j] = row[j] === -Infinity ? 0 : f(Math.exp(f(row[j] - max)));
      sum = f(sum + row[j]);
    }
    for (let j = 0; j < Nk; j++) row[j] = f(row[j] / sum);
    lse[i] = f(max + f(Math.log(sum)));
  }
  return { p, slope, lse };
}

export function naiveAttentionF32Forward(
  r: ResolvedAttention, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>,
): NaiveForward {
  const { B, H, Hkv, Nq, Nk, D } = r;
  const o = new Float32Array(B * H * Nq * D);
  const lse = new Float32Array(B * H * Nq);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / (H / Hkv));
      const { p, lse: headLse } = headProbabilities(r, q, k, b, h);
      lse.set(headLse, (b * H + h) * Nq);
      for (let i = 0; i < Nq; i++) {
        const oOff = ((b * H + h) * Nq + i) * D;
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < Nk; j++) acc = f(acc + f(p[i * Nk + j] * v[((b * Hkv + kvh) * Nk + j) * D + d]));
          o[oOff + d] = acc;
        }
      }
    }
  }
  return { o, lse };
}

export function naiveAttentionF32Backward(
  r: ResolvedAttention, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, dO: ArrayLike<number>,
): NaiveGrads {
  const { B, H, Hkv, Nq, Nk, D } = r;
  const dq = new Float32Array(B * H * Nq * D);
  const dk = new Float32Array(B * Hkv * Nk * D);
  const dv = new Float32Array(B * Hkv * Nk * D);
  const { o } = naiveAttentionF32Forward(r, q, k, v);
  const scale = f(r.scale);
  const ds = new Float32Array(Nq * Nk);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / (H / Hkv));
      const qBase = (b * H + h) * Nq * D;
      const kvBase = (b * Hkv + kvh) * Nk * D;
      const { p, slope } = headProbabilities(r, q, k, b, h);
      for (let i = 0; i < Nq; i++) {
        // softmax: D_i = rowsum(dO ∘ O), as FlashAttention computes it.
        let rowDot = 0;
        if (r.kind === 'softmax') for (let d = 0; d < D; d++) rowDot = f(rowDot + f(dO[qBase + i * D + d] * o[qBase + i * D + d]));
        for (let j = 0; j < Nk; j++) {
          let dp = 0;
          for (let d = 0; d < D; d++) dp = f(dp + f(dO[qBase + i * D + d] * v[kvBase + j * D + d]));
          const pij = p[i * Nk + j];
          ds[i * Nk + j] = r.kind === 'softmax' ? f(pij * f(dp - rowDot)) : f(slope[i * Nk + j] * dp);
        }
      }
      // dQ = scale·(dS·K)
      for (let i = 0; i < Nq; i++) {
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < Nk; j++) acc = f(acc + f(ds[i * Nk + j] * k[kvBase + j * D + d]));
          dq[qBase + i * D + d] = f(scale * acc);
        }
      }
      // dK, dV of this query head, then summed into the shared key/value head (repeat-heads backward).
      for (let j = 0; j < Nk; j++) {
        for (let d = 0; d < D; d++) {
          let accK = 0;
          let accV = 0;
          for (let i = 0; i < Nq; i++) {
            accK = f(accK + f(ds[i * Nk + j] * q[qBase + i * D + d]));
            accV = f(accV + f(p[i * Nk + j] * dO[qBase + i * D + d]));
          }
          dk[kvBase + j * D + d] = f(dk[kvBase + j * D + d] + f(scale * accK));
          dv[kvBase + j * D + d] = f(dv[kvBase + j * D + d] + accV);
        }
      }
    }
  }
  return { dq, dk, dv };
}
