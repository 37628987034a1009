/**
 * FlashAttention-style backward in TypeScript, used by the cpu and wasm backends.
 *
 * For each key/value head, every query row that reads it (all heads of its GQA group) is streamed
 * over its visible keys, recomputing P from the logits (sigmoid: σ(S); softmax: exp(S − LSE) with the
 * forward's LSE), so nothing N×N is stored:
 *   dP = dO·vⱼ;  sigmoid: dS = P(1 − P)·dP;  softmax: dS = P·(dP − Dᵢ), Dᵢ = dOᵢ·Oᵢ
 *   dQᵢ += scale·dS·kⱼ;  dKⱼ += scale·dS·qᵢ;  dVⱼ += P·dOᵢ
 * dK and dV accumulate per key/value head in double buffers of Nk·D, then are written as float32.
 * Every output element is written (masked rows and keys get 0).
 */
import type { ResolvedAttention } from '../../spec.js';
import { visibleKeyEnd } from './flash-attention-fwd.js';

export function flashAttentionBackward(
  r: ResolvedAttention,
  q: Float32Array, k: Float32Array, v: Float32Array,
  o: Float32Array, lse: Float32Array, dO: Float32Array,
  dq: Float32Array, dk: Float32Array, dv: Float32Array,
): void {
  const { B, H, Hkv, Nq, Nk, D, scale, bias } = r;
  const group = H / Hkv;
  const shift = Nk - Nq;
  const sigmoid = r.kind === 'sigmoid';
  const dkAcc = new Float64Array(Nk * D);
  const dvAcc = new Float64Array(Nk * D);
  const dqAcc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    const keyLength = r.keyLengths === null ? Nk : r.keyLengths[b];
    for (let kvh = 0; kvh < Hkv; kvh++) {
      const kvBase = (b * Hkv + kvh) * Nk * D;
      dkAcc.fill(0);
      dvAcc.fill(0);
      for (let h = kvh * group; h < (kvh + 1) * group; h++) {
        const slope = r.alibiSlopes === null ? 0 : r.alibiSlopes[h];
        for (let i = 0; i < Nq; i++) {
          const row = (b * H + h) * Nq + i;
          const qOff = row * D;
          const jEnd = visibleKeyEnd(r, keyLength, i);
          const rowLse = lse[row];
          let rowDot = 0;
          if (!sigmoid) for (let d = 0; d < D; d++) rowDot += dO[qOff + d] * o[qOff + d];
          dqAcc.fill(0);
          for (let j = 0; j < jEnd; j++) {
            const kOff = kvBase + j * D;
            let dot = 0;
            let dp = 0;
            for (let d = 0; d < D; d++) {
              dot += q[qOff + d] * k[kOff + d];
              dp += dO[qOff + d] * v[kOff + d];
            }
            const x = scale * dot + bias - slope * Math.abs(i + shift - j);
            const p = sigmoid ? 1 / (1 + Math.exp(-x)) : Math.exp(x - rowLse);
            const ds = sigmoid ? p * (1 - p) * dp : p * (dp - rowDot);
            const accOff = j * D;
            for (let d = 0; d < D; d++) {
              dqAcc[d] += ds * k[kOff + d];
              dkAcc[accOff + d] += ds * q[qOff + d];
              dvAcc[accOff + d] += p * dO[qOff + d];
            }
          }
          for (let d = 0; d < D; d++) dq[qOff + d] = scale * dqAcc[d];
        }
      }
      for (let x = 0; x < Nk * D; x++) {
        dk[kvBase + x] = scale * dkAcc[x];
        dv[kvBase + x] = dvAcc[x];
      }
    }
  }
}
