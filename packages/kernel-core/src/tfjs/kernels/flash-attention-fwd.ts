/**
 * FlashAttention-style forward in TypeScript, used by the cpu and wasm backends.
 *
 * One query row at a time, streamed over blocks of keys, so memory is O(N·D) (no N×N scores):
 *  - sigmoid: O = Σ_blocks σ(S)·V — each block is independent, no row statistics;
 *  - softmax: online softmax (running max m and sum l, rescaling the accumulator when m grows),
 *    then O = acc / l and LSE = m + log l, saved for the backward.
 * Masks are prefixes (padding keeps keys < keyLength, causal keeps j ≤ i + Nk − Nq), so each row
 * visits exactly the keys [0, jEnd) and fully masked blocks cost nothing.
 *
 * Inputs and outputs are float32; sums run in JS doubles (they are free in JS, and only make the
 * result closer to the float64 reference).
 */
import type { ResolvedAttention } from '../../spec.js';

/** Keys per block of the online softmax: big enough to amortise the rescale, small enough for L1. */
const KEY_BLOCK = 64;

/** Number of keys query row i of batch element b may see: it sees keys 0 … jEnd − 1. */
export function visibleKeyEnd(r: ResolvedAttention, keyLength: number, i: number): number {
  return r.causal ? Math.max(0, Math.min(keyLength, i + (r.Nk - r.Nq) + 1)) : keyLength;
}

export function flashAttentionForward(
  r: ResolvedAttention,
  q: Float32Array, k: Float32Array, v: Float32Array,
  o: Float32Array, lse: Float32Array,
): void {
  const { B, H, Hkv, Nq, Nk, D, scale, bias } = r;
  const group = H / Hkv;
  const shift = Nk - Nq;
  const sigmoid = r.kind === 'sigmoid';
  const s = new Float64Array(KEY_BLOCK);
  const acc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    const keyLength = r.keyLengths === null ? Nk : r.keyLengths[b];
    for (let h = 0; h < H; h++) {
      const kvBase = (b * Hkv + Math.floor(h / group)) * Nk * D;
      const slope = r.alibiSlopes === null ? 0 : r.alibiSlopes[h];
      for (let i = 0; i < Nq; i++) {
        const row = (b * H + h) * Nq + i;
        const qOff = row * D;
        const jEnd = visibleKeyEnd(r, keyLength, i);
        acc.fill(0);
        let m = -Infinity;
        let l = 0;
        for (let j0 = 0; j0 < jEnd; j0 += KEY_BLOCK) {
          const j1 = Math.min(j0 + KEY_BLOCK, jEnd);
          let blockMax = -Infinity;
          for (let j = j0; j < j1; j++) {
            const kOff = kvBase + j * D;
            let dot = 0;
            for (let d = 0; d < D; d++) dot += q[qOff + d] * k[kOff + d];
            // ALiBi uses the true distance |i + Nk − Nq − j|: sigmoid is not shift-invariant.
            const x = scale * dot + bias - slope * Math.abs(i + shift - j);
            s[j - j0] = x;
            if (x > blockMax) blockMax = x;
          }
          let mNew = m;
          if (!sigmoid) {
            mNew = Math.max(m, blockMax);
            const alpha = Math.exp(m - mNew); // 0 on the first block (m = −∞)
            if (alpha !== 1) {
              l *= alpha;
              for (let d = 0; d < D; d++) acc[d] *= alpha;
            }
          }
          for (let j = j0; j < j1; j++) {
            const p = sigmoid ? 1 / (1 + Math.exp(-s[j - j0])) : Math.exp(s[j - j0] - mNew);
            l += p;
            const vOff = kvBase + j * D;
            for (let d = 0; d < D; d++) acc[d] += p * v[vOff + d];
          }
          m = mNew;
        }
        if (sigmoid) {
          for (let d = 0; d < D; d++) o[qOff + d] = acc[d];
          lse[row] = 0;
        } else if (jEnd === 0) {
          // Fully masked softmax row: O = 0 by the spec, LSE = −∞ (the backward then skips it).
          for (let d = 0; d < D; d++) o[qOff + d] = 0;
          lse[row] = -Infinity;
        } else {
          const inv = 1 / l;
          for (let d = 0; d < D; d++) o[qOff + d] = acc[d] * inv;
          lse[row] = m + Math.log(l);
        }
      }
    }
  }
}
