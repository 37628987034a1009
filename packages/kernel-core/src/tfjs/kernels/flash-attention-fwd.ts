/**
 * FlashAttention-style forward in TypeScript, used by the cpu and wasm backends.
 *
 * Work is register-blocked in tiles of 4 query rows × 2 keys (every q, k, v element loaded feeds
 * several multiply-adds — JS spends its time on loads, not arithmetic), streamed over blocks of keys,
 * so memory is O(N·D) — no N×N scores:
 *  - element-wise kinds (sigmoid, relu, gelu): O = Σ_blocks P(S)·V — each block is independent, no
 *    row statistics;
 *  - softmax: online softmax (running max m and sum l per row, rescaling the accumulator when m
 *    grows), then O = acc / l; the row statistics (m, l) are saved for the backward.
 * Masks are prefixes (padding keeps keys < keyLength, causal keeps j ≤ i + Nk − Nq), so row i visits
 * only the keys [0, jEnd(i)) and fully masked blocks cost nothing.
 *
 * Inputs and outputs are float32; sums run in JS doubles (free in JS, and only closer to the float64
 * reference).
 */
import { GELU_A, GELU_C, biasForm, type ElementwiseKind, type ResolvedAttention } from '../../spec.js';

/** Query rows per register block (the hot loops below are unrolled for exactly 4). */
export const ROWS = 4;
/** Keys per block of the online softmax (even, for the key pairs): amortises the rescale, fits L1. */
const KEY_BLOCK = 64;

/** Number of keys query row i may see (it sees keys 0 … jEnd − 1); 0 for rows past Nq. */
export function visibleKeyEnd(r: ResolvedAttention, keyLength: number, i: number): number {
  if (i >= r.Nq) return 0;
  return r.causal ? Math.max(0, Math.min(keyLength, i + (r.Nk - r.Nq) + 1)) : keyLength;
}

/**
 * Logits → weights of an element-wise kind, in place over x[from, to): gain·φ(x), where −∞ (a masked
 * logit) gives 0. With `slope`, also writes ∂P/∂x = gain·φ′(x) at the same indices (for the backward).
 * The sums run in doubles like the rest of the kernels.
 */
export function elementwiseWeights(
  kind: ElementwiseKind, x: Float64Array, from: number, to: number, gain: number, slope: Float64Array | null,
): void {
  switch (kind) {
    case 'sigmoid':
      // The bias is inside the logit (gain 1): P = σ(x), ∂P/∂x = P(1 − P).
      for (let j = from; j < to; j++) {
        const p = 1 / (1 + Math.exp(-x[j]));
        x[j] = p;
        if (slope !== null) slope[j] = p * (1 - p);
      }
      return;
    case 'relu':
      for (let j = from; j < to; j++) {
        const v = x[j];
        x[j] = v > 0 ? gain * v : 0;
        if (slope !== null) slope[j] = v > 0 ? gain : 0;
      }
      return;
    case 'gelu':
      for (let j = from; j < to; j++) {
        const v = x[j];
        if (v === -Infinity) {
          x[j] = 0;
          if (slope !== null) slope[j] = 0;
          continue;
        }
        const t = Math.tanh(GELU_C * (v + GELU_A * v * v * v));
        x[j] = gain * 0.5 * v * (1 + t);
        if (slope !== null) slope[j] = gain * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_C * (1 + 3 * GELU_A * v * v));
      }
      return;
  }
}

export function flashAttentionForward(
  r: ResolvedAttention,
  q: Float32Array, k: Float32Array, v: Float32Array,
  o: Float32Array, stats: Float32Array,
): void {
  const { B, H, Hkv, Nq, Nk, D, scale } = r;
  const group = H / Hkv;
  const shift = Nk - Nq;
  const kind = r.kind;
  // The bias: inside the logit for sigmoid, a gain on the weight for relu/gelu.
  const { shift: bias, gain } = biasForm(r);
  const s = new Float64Array(ROWS * KEY_BLOCK); // scores, then probabilities, of 4 rows × one key block
  const acc = new Float64Array(ROWS * D);
  const end = new Int32Array(ROWS);
  const m = new Float64Array(ROWS);
  const l = new Float64Array(ROWS);
  const blockMax = new Float64Array(ROWS);
  for (let b = 0; b < B; b++) {
    const keyLength = r.keyLengths === null ? Nk : r.keyLengths[b];
    for (let h = 0; h < H; h++) {
      const kvBase = (b * Hkv + Math.floor(h / group)) * Nk * D;
      const slope = r.alibiSlopes === null ? 0 : r.alibiSlopes[h];
      const rowBase = (b * H + h) * Nq;
      for (let i0 = 0; i0 < Nq; i0 += ROWS) {
        // Rows past Nq reuse row i0's q (any valid offset) and have no visible keys, so they add nothing.
        let jMax = 0;
        for (let x = 0; x < ROWS; x++) {
          end[x] = visibleKeyEnd(r, keyLength, i0 + x);
          jMax = Math.max(jMax, end[x]);
        }
        const q0 = (rowBase + i0) * D;
        const q1 = end[1] > 0 ? q0 + D : q0;
        const q2 = end[2] > 0 ? q0 + 2 * D : q0;
        const q3 = end[3] > 0 ? q0 + 3 * D : q0;
        const [e0, e1, e2, e3] = end;
        acc.fill(0);
        m.fill(-Infinity);
        l.fill(0);
        for (let j0 = 0; j0 < jMax; j0 += KEY_BLOCK) {
          const j1 = Math.min(j0 + KEY_BLOCK, jMax);
          blockMax.fill(-Infinity);
          for (let j = j0; j < j1; j += 2) {
            const kOff = kvBase + j * D;
            const kOff2 = j + 1 < j1 ? kOff + D : kOff;
            // a: q_r · k_j, c: q_r · k_(j+1), for the 4 rows r. An odd last key repeats key j and is dropped.
            let a0 = 0, a1 = 0, a2 = 0, a3 = 0, c0 = 0, c1 = 0, c2 = 0, c3 = 0;
            for (let d = 0; d < D; d++) {
              const kd = k[kOff + d];
              const ke = k[kOff2 + d];
              const x0 = q[q0 + d], x1 = q[q1 + d], x2 = q[q2 + d], x3 = q[q3 + d];
              a0 += x0 * kd; a1 += x1 * kd; a2 += x2 * kd; a3 += x3 * kd;
              c0 += x0 * ke; c1 += x1 * ke; c2 += x2 * ke; c3 += x3 * ke;
            }
            // ALiBi uses the true distance |i + Nk − Nq − j|: the element-wise kinds are not shift-invariant.
            const dist = i0 + shift - j;
            const x = j - j0;
            s[x] = j < e0 ? scale * a0 + bias - slope * Math.abs(dist) : -Infinity;
            s[KEY_BLOCK + x] = j < e1 ? scale * a1 + bias - slope * Math.abs(dist + 1) : -Infinity;
            s[2 * KEY_BLOCK + x] = j < e2 ? scale * a2 + bias - slope * Math.abs(dist + 2) : -Infinity;
            s[3 * KEY_BLOCK + x] = j < e3 ? scale * a3 + bias - slope * Math.abs(dist + 3) : -Infinity;
            if (j + 1 < j1) {
              s[x + 1] = j + 1 < e0 ? scale * c0 + bias - slope * Math.abs(dist - 1) : -Infinity;
              s[KEY_BLOCK + x + 1] = j + 1 < e1 ? scale * c1 + bias - slope * Math.abs(dist) : -Infinity;
              s[2 * KEY_BLOCK + x + 1] = j + 1 < e2 ? scale * c2 + bias - slope * Math.abs(dist + 1) : -Infinity;
              s[3 * KEY_BLOCK + x + 1] = j + 1 < e3 ? scale * c3 + bias - slope * Math.abs(dist + 2) : -Infinity;
            }
          }
          // Scores → probabilities in place (masked scores are −∞ and become 0 either way).
          for (let row = 0; row < ROWS; row++) {
            const off = row * KEY_BLOCK;
            if (kind !== 'softmax') {
              elementwiseWeights(kind, s, off, off + j1 - j0, gain, null);
              continue;
            }
            for (let x = 0; x < j1 - j0; x++) blockMax[row] = Math.max(blockMax[row], s[off + x]);
            const mNew = Math.max(m[row], blockMax[row]);
            if (mNew === -Infinity) {
              // Nothing visible to this row yet: keep P = 0 (and avoid exp(−∞ − −∞) = NaN).
              for (let x = 0; x < j1 - j0; x++) s[off + x] = 0;
              continue;
            }
            const alpha = Math.exp(m[row] - mNew); // 0 on the row's first visible block
            if (alpha !== 1) {
              l[row] *= alpha;
              for (let d = 0; d < D; d++) acc[row * D + d] *= alpha;
            }
            let sum = 0;
            for (let x = 0; x < j1 - j0; x++) {
              const p = Math.exp(s[off + x] - mNew);
              s[off + x] = p;
              sum += p;
            }
            l[row] += sum;
            m[row] = mNew;
          }
          for (let j = j0; j < j1; j += 2) {
            const x = j - j0;
            const two = j + 1 < j1;
            const p0 = s[x], p1 = s[KEY_BLOCK + x], p2 = s[2 * KEY_BLOCK + x], p3 = s[3 * KEY_BLOCK + x];
            const u0 = two ? s[x + 1] : 0, u1 = two ? s[KEY_BLOCK + x + 1] : 0, u2 = two ? s[2 * KEY_BLOCK + x + 1] : 0, u3 = two ? s[3 * KEY_BLOCK + x + 1] : 0;
            const vOff = kvBase + j * D;
            const vOff2 = two ? vOff + D : vOff;
            for (let d = 0; d < D; d++) {
              const vd = v[vOff + d];
              const ve = v[vOff2 + d];
              acc[d] += p0 * vd + u0 * ve;
              acc[D + d] += p1 * vd + u1 * ve;
              acc[2 * D + d] += p2 * vd + u2 * ve;
              acc[3 * D + d] += p3 * vd + u3 * ve;
            }
          }
        }
        for (let row = 0; row < ROWS && i0 + row < Nq; row++) {
          const out = (rowBase + i0 + row) * D;
          if (kind !== 'softmax') {
            for (let d = 0; d < D; d++) o[out + d] = acc[row * D + d];
            stats[2 * (rowBase + i0 + row)] = 0;
            stats[2 * (rowBase + i0 + row) + 1] = 1;
          } else if (end[row] === 0) {
            // Fully masked softmax row: O = 0 by the spec, (m, l) = (−∞, 0) (the backward then skips it).
            for (let d = 0; d < D; d++) o[out + d] = 0;
            stats[2 * (rowBase + i0 + row)] = -Infinity;
            stats[2 * (rowBase + i0 + row) + 1] = 0;
          } else {
            const inv = 1 / l[row];
            for (let d = 0; d < D; d++) o[out + d] = acc[row * D + d] * inv;
            stats[2 * (rowBase + i0 + row)] = m[row];
            stats[2 * (rowBase + i0 + row) + 1] = l[row];
          }
        }
      }
    }
  }
}
