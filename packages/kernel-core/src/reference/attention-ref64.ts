/**
 * Float64 CPU reference of attention, forward and backward, for every option of the spec.
 *
 * This is the truth every back end is checked against (kernel-notes.md §7), so it is written for
 * obviousness, not speed: one query row at a time, an explicit visibility test and an explicit ALiBi
 * distance per element (`isVisible`, `alibiTerm` from the spec), σ and exp in float64.
 *
 * Layout: row-major q [B, H, Nq, D], k/v [B, Hkv, Nk, D], o like q, lse [B, H, Nq].
 */
import { alibiTerm, isVisible, type ResolvedAttention } from '../spec.js';

export interface ReferenceForward {
  o: Float64Array;
  /** Softmax: log-sum-exp of each row's visible logits (−Infinity for a fully masked row). Sigmoid: 0. */
  lse: Float64Array;
}

export interface ReferenceGrads {
  dq: Float64Array;
  dk: Float64Array;
  dv: Float64Array;
}

/** σ(x) without overflow for either sign of x. */
function sigmoid64(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * The probabilities P[i, ·] of one query row (0 at masked keys), plus the row's LSE for softmax.
 * Shared by forward and backward so both see exactly the same P.
 */
function rowProbabilities(
  r: ResolvedAttention, q: ArrayLike<number>, k: ArrayLike<number>, b: number, h: number, i: number, p: Float64Array,
): number {
  const { H, Hkv, Nq, Nk, D } = r;
  const kvh = Math.floor(h / (H / Hkv));
  const qOff = ((b * H + h) * Nq + i) * D;
  let max = -Infinity;
  for (let j = 0; j < Nk; j++) {
    if (!isVisible(r, b, i, j)) {
      p[j] = -Infinity;
      continue;
    }
    const kOff = ((b * Hkv + kvh) * Nk + j) * D;
    let dot = 0;
    for (let d = 0; d < D; d++) dot += q[qOff + d] * k[kOff + d];
    const s = r.scale * dot + r.bias + alibiTerm(r, h, i, j);
    p[j] = s;
    if (s > max) max = s;
  }
  if (r.kind === 'sigmoid') {
    for (let j = 0; j < Nk; j++) p[j] = p[j] === -Infinity ? 0 : sigmoid64(p[j]);
    return 0;
  }
  if (max === -Infinity) {
    // Fully masked row: the spec defines P = 0 (so O = 0), not NaN.
    p.fill(0);
    return -Infinity;
  }
  let sum = 0;
  for (let j = 0; j < Nk; j++) if (p[j] !== -Infinity) sum += Math.exp(p[j] - max);
  const lse = max + Math.log(sum);
  for (let j = 0; j < Nk; j++) p[j] = p[j] === -Infinity ? 0 : Math.exp(p[j] - lse);
  return lse;
}

/** O = P·V and (softmax) the row LSE, in float64. */
export function referenceAttentionForward(
  r: ResolvedAttention, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>,
): ReferenceForward {
  const { B, H, Hkv, Nq, Nk, D } = r;
  const o = new Float64Array(B * H * Nq * D);
  const lse = new Float64Array(B * H * Nq);
  const p = new Float64Array(Nk);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / (H / Hkv));
      for (let i = 0; i < Nq; i++) {
        const row = (b * H + h) * Nq + i;
        lse[row] = rowProbabilities(r, q, k, b, h, i, p);
        for (let j = 0; j < Nk; j++) {
          if (p[j] === 0) continue;
          const vOff = ((b * Hkv + kvh) * Nk + j) * D;
          for (let d = 0; d < D; d++) o[row * D + d] += p[j] * v[vOff + d];
        }
      }
    }
  }
  return { o, lse };
}

/**
 * dQ, dK, dV for the upstream gradient dO, in float64:
 *   dP = dO·Vᵀ;  sigmoid: dS = P ⊙ (1 − P) ⊙ dP;  softmax: dS = P ⊙ (dP − rowsum(P ⊙ dP))
 *   dQ = scale·dS·K,  dK = scale·dSᵀ·Q,  dV = Pᵀ·dO
 * With GQA, dK and dV of a key/value head sum over the query heads that read it. The bias and the
 * ALiBi term are constants, so they only enter through P.
 */
export function referenceAttentionBackward(
  r: ResolvedAttention, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, dO: ArrayLike<number>,
): ReferenceGrads {
  const { B, H, Hkv, Nq, Nk, D } = r;
  const dq = new Float64Array(B * H * Nq * D);
  const dk = new Float64Array(B * Hkv * Nk * D);
  const dv = new Float64Array(B * Hkv * Nk * D);
  const p = new Float64Array(Nk);
  const dp = new Float64Array(Nk);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / (H / Hkv));
      for (let i = 0; i < Nq; i++) {
        const row = (b * H + h) * Nq + i;
        rowProbabilities(r, q, k, b, h, i, p);
        let rowDot = 0; // rowsum(P ⊙ dP) = dO_i · O_i
        for (let j = 0; j < Nk; j++) {
          const vOff = ((b * Hkv + kvh) * Nk + j) * D;
          let s = 0;
          for (let d = 0; d < D; d++) s += dO[row * D + d] * v[vOff + d];
          dp[j] = s;
          rowDot += p[j] * s;
        }
        for (let j = 0; j < Nk; j++) {
          if (p[j] === 0) continue;
          const ds = r.kind === 'sigmoid' ? p[j] * (1 - p[j]) * dp[j] : p[j] * (dp[j] - rowDot);
          const kvOff = ((b * Hkv + kvh) * Nk + j) * D;
          for (let d = 0; d < D; d++) {
            dq[row * D + d] += r.scale * ds * k[kvOff + d];
            dk[kvOff + d] += r.scale * ds * q[row * D + d];
            dv[kvOff + d] += p[j] * dO[row * D + d];
          }
        }
      }
    }
  }
  return { dq, dk, dv };
}
