/**
 * Float64 CPU reference of attention, forward and backward, for every option of the spec.
 *
 * This is the truth every back end is checked against (the accuracy rule in the package README), so it is written for
 * obviousness, not speed: one query row at a time, an explicit visibility test and an explicit ALiBi
 * distance per element (`isVisible`, `alibiTerm` from the spec), σ, exp, relu and gelu in float64.
 *
 * Layout: row-major q [B, H, Nq, D], k/v [B, Hkv, Nk, D], o like q, lse [B, H, Nq].
 */
import { activation, activationGrad, alibiTerm, biasForm, isElementwise, isVisible, type ResolvedAttention } from '../spec.js';

export interface ReferenceForward {
  o: Float64Array;
  /** Softmax: log-sum-exp of each row's visible logits (−Infinity for a fully masked row). Element-wise kinds: 0. */
  lse: Float64Array;
}

export interface ReferenceGrads {
  dq: Float64Array;
  dk: Float64Array;
  dv: Float64Array;
}

/**
 * The weights P[i, ·] of one query row (0 at masked keys), plus the row's LSE for softmax (0 for the
 * element-wise kinds). With `slope` given, it also receives ∂P/∂s of the element-wise kinds (the
 * bias's gain included). Shared by forward and backward so both see exactly the same P.
 */
function rowWeights(
  r: ResolvedAttention, q: ArrayLike<number>, k: ArrayLike<number>, b: number, h: number, i: number,
  p: Float64Array, slope: Float64Array | null = null,
): number {
  const { H, Hkv, Nq, Nk, D } = r;
  const kvh = Math.floor(h / (H / Hkv));
  const qOff = ((b * H + h) * Nq + i) * D;
  const { shift, gain } = biasForm(r);
  let max = -Infinity;
  for (let j = 0; j < Nk; j++) {
    if (!isVisible(r, b, i, j)) {
      p[j] = -Infinity;
      continue;
    }
    const kOff = ((b * Hkv + kvh) * Nk + j) * D;
    let dot = 0;
    for (let d = 0; d < D; d++) dot += q[qOff + d] * k[kOff + d];
    const s = r.scale * dot + shift + alibiTerm(r, h, i, j);
    p[j] = s;
    if (s > max) max = s;
  }
  const kind = r.kind;
  if (isElementwise(kind)) {
    for (let j = 0; j < Nk; j++) {
      const s = p[j];
      p[j] = s === -Infinity ? 0 : gain * activation(kind, s);
      if (slope !== null) slope[j] = s === -Infinity ? 0 : gain * activationGrad(kind, s);
    }
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
        lse[row] = rowWeights(r, q, k, b, h, i, p);
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
 *   dP = dO·Vᵀ;  element-wise: dS = ∂P/∂s ⊙ dP (sigmoid: P ⊙ (1 − P) ⊙ dP);
 *   softmax: dS = P ⊙ (dP − rowsum(P ⊙ dP))
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
  const slope = new Float64Array(Nk);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / (H / Hkv));
      for (let i = 0; i < Nq; i++) {
        const row = (b * H + h) * Nq + i;
        rowWeights(r, q, k, b, h, i, p, slope);
        let rowDot = 0; // rowsum(P ⊙ dP) = dO_i · O_i
        for (let j = 0; j < Nk; j++) {
          const vOff = ((b * Hkv + kvh) * Nk + j) * D;
          let s = 0;
          for (let d = 0; d < D; d++) s += dO[row * D + d] * v[vOff + d];
          dp[j] = s;
          rowDot += p[j] * s;
        }
        for (let j = 0; j < Nk; j++) {
          // relu/gelu weights can be 0 (or negative) where the slope is not, so skip on both.
          if (p[j] === 0 && slope[j] === 0) continue;
          const ds = r.kind === 'softmax' ? p[j] * (dp[j] - rowDot) : slope[j] * dp[j];
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
