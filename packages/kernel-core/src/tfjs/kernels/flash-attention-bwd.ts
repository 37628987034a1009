/**
 * FlashAttention-style backward in TypeScript, used by the cpu and wasm backends.
 *
 * For each key/value head, every query row that reads it (all heads of its GQA group) is streamed
 * over its visible keys in register tiles of 4 rows × 2 keys (each element loaded feeds several
 * multiply-adds, and dK, dV are updated once per key for all four rows), recomputing P from the
 * logits — element-wise: P = gain·φ(S) and its slope ∂P/∂S (sigmoid: σ(S), σ(1 − σ)); softmax:
 * exp(S − m) / l — so nothing N×N is stored (4 rows of logits and slopes, O(N)):
 *   dP = dO·vⱼ;  element-wise: dS = ∂P/∂S·dP;  softmax: dS = P·(dP − Dᵢ), Dᵢ = dOᵢ·Oᵢ
 *   dQᵢ += scale·dS·kⱼ;  dKⱼ += scale·dS·qᵢ;  dVⱼ += P·dOᵢ
 * dK and dV accumulate per key/value head in double buffers of Nk·D, then are written as float32.
 * Every output element is written (masked rows and keys get 0).
 * Softmax P is renormalised per row (see below), which costs one pass over 4 rows of logits.
 */
import { biasForm, type ResolvedAttention } from '../../spec.js';
import { ROWS, elementwiseWeights, visibleKeyEnd } from './flash-attention-fwd.js';

export function flashAttentionBackward(
  r: ResolvedAttention,
  q: Float32Array, k: Float32Array, v: Float32Array,
  o: Float32Array, stats: Float32Array, dO: Float32Array,
  dq: Float32Array, dk: Float32Array, dv: Float32Array,
): void {
  const { B, H, Hkv, Nq, Nk, D, scale } = r;
  const group = H / Hkv;
  const shift = Nk - Nq;
  const kind = r.kind;
  const softmax = kind === 'softmax';
  const { shift: bias, gain } = biasForm(r);
  const dkAcc = new Float64Array(Nk * D);
  const dvAcc = new Float64Array(Nk * D);
  const dqAcc = new Float64Array(ROWS * D);
  const end = new Int32Array(ROWS);
  const rowDot = new Float64Array(ROWS);
  const logits = new Float64Array(ROWS * Nk);
  const slopes = new Float64Array(ROWS * Nk); // ∂P/∂S of the element-wise kinds
  for (let b = 0; b < B; b++) {
    const keyLength = r.keyLengths === null ? Nk : r.keyLengths[b];
    for (let kvh = 0; kvh < Hkv; kvh++) {
      const kvBase = (b * Hkv + kvh) * Nk * D;
      dkAcc.fill(0);
      dvAcc.fill(0);
      for (let h = kvh * group; h < (kvh + 1) * group; h++) {
        const slope = r.alibiSlopes === null ? 0 : r.alibiSlopes[h];
        const rowBase = (b * H + h) * Nq;
        for (let i0 = 0; i0 < Nq; i0 += ROWS) {
          // Rows past Nq reuse row i0's offset and see no keys, so P = dS = 0 for them.
          let jMax = 0;
          for (let x = 0; x < ROWS; x++) {
            end[x] = visibleKeyEnd(r, keyLength, i0 + x);
            jMax = Math.max(jMax, end[x]);
            const off = (rowBase + i0 + x) * D;
            let dot = 0;
            if (softmax && end[x] > 0) for (let d = 0; d < D; d++) dot += dO[off + d] * o[off + d];
            rowDot[x] = dot;
          }
          const r0 = (rowBase + i0) * D;
          const r1 = end[1] > 0 ? r0 + D : r0;
          const r2 = end[2] > 0 ? r0 + 2 * D : r0;
          const r3 = end[3] > 0 ? r0 + 3 * D : r0;
          // Pass 1: the logits of the 4 rows at every visible key (4 × Nk doubles: O(N) memory).
          for (let j = 0; j < jMax; j += 2) {
            const kOff = kvBase + j * D;
            const kOff2 = j + 1 < jMax ? kOff + D : kOff;
            let a0 = 0, a1 = 0, a2 = 0, a3 = 0, c0 = 0, c1 = 0, c2 = 0, c3 = 0;
            for (let d = 0; d < D; d++) {
              const kd = k[kOff + d], ke = k[kOff2 + d];
              const x0 = q[r0 + d], x1 = q[r1 + d], x2 = q[r2 + d], x3 = q[r3 + d];
              a0 += x0 * kd; a1 += x1 * kd; a2 += x2 * kd; a3 += x3 * kd;
              c0 += x0 * ke; c1 += x1 * ke; c2 += x2 * ke; c3 += x3 * ke;
            }
            const dist = i0 + shift - j;
            logits[j] = scale * a0 + bias - slope * Math.abs(dist);
            logits[Nk + j] = scale * a1 + bias - slope * Math.abs(dist + 1);
            logits[2 * Nk + j] = scale * a2 + bias - slope * Math.abs(dist + 2);
            logits[3 * Nk + j] = scale * a3 + bias - slope * Math.abs(dist + 3);
            if (j + 1 < jMax) {
              logits[j + 1] = scale * c0 + bias - slope * Math.abs(dist - 1);
              logits[Nk + j + 1] = scale * c1 + bias - slope * Math.abs(dist);
              logits[2 * Nk + j + 1] = scale * c2 + bias - slope * Math.abs(dist + 1);
              logits[3 * Nk + j + 1] = scale * c3 + bias - slope * Math.abs(dist + 2);
            }
          }
          // Logits → P in place (0 past each row's visible keys), so pass 2 needs no exp.
          for (let row = 0; row < ROWS; row++) {
            const off = row * Nk;
            if (kind !== 'softmax') {
              elementwiseWeights(kind, logits, off, off + end[row], gain, slopes);
              slopes.fill(0, off + end[row], off + jMax);
            } else if (end[row] > 0) {
              // exp(S − m) with the forward's float32 row max, renormalised by the row's own sum in
              // doubles rather than the forward's float32 l: l's rounding (shared by every P of the row)
              // would otherwise be the largest error of this double-accumulating kernel.
              const shift = stats[2 * (rowBase + i0 + row)];
              let sum = 0;
              for (let j = 0; j < end[row]; j++) {
                const pj = Math.exp(logits[off + j] - shift);
                logits[off + j] = pj;
                sum += pj;
              }
              const inv = 1 / sum;
              for (let j = 0; j < end[row]; j++) logits[off + j] *= inv;
            }
            for (let j = end[row]; j < jMax; j++) logits[off + j] = 0;
          }
          dqAcc.fill(0);
          // Pass 2: dP = dO·v, then P, dS and the dQ, dK, dV updates, for keys j and j+1 (an odd last key
          // repeats key j with P = dS = 0). Each k, v, q, dO element loaded feeds 2–4 multiply-adds.
          for (let j = 0; j < jMax; j += 2) {
            const kOff = kvBase + j * D;
            const two = j + 1 < jMax;
            const kOff2 = two ? kOff + D : kOff;
            let g0 = 0, g1 = 0, g2 = 0, g3 = 0, f0 = 0, f1 = 0, f2 = 0, f3 = 0;
            for (let d = 0; d < D; d++) {
              const vd = v[kOff + d], ve = v[kOff2 + d];
              const y0 = dO[r0 + d], y1 = dO[r1 + d], y2 = dO[r2 + d], y3 = dO[r3 + d];
              g0 += y0 * vd; g1 += y1 * vd; g2 += y2 * vd; g3 += y3 * vd;
              f0 += y0 * ve; f1 += y1 * ve; f2 += y2 * ve; f3 += y3 * ve;
            }
            const p0 = logits[j], p1 = logits[Nk + j], p2 = logits[2 * Nk + j], p3 = logits[3 * Nk + j];
            const u0 = two ? logits[j + 1] : 0, u1 = two ? logits[Nk + j + 1] : 0;
            const u2 = two ? logits[2 * Nk + j + 1] : 0, u3 = two ? logits[3 * Nk + j + 1] : 0;
            // dS: element-wise ∂P/∂S·dP; softmax P·(dP − Dᵢ). s: key j, w: key j + 1.
            const s0 = softmax ? p0 * (g0 - rowDot[0]) : slopes[j] * g0;
            const s1 = softmax ? p1 * (g1 - rowDot[1]) : slopes[Nk + j] * g1;
            const s2 = softmax ? p2 * (g2 - rowDot[2]) : slopes[2 * Nk + j] * g2;
            const s3 = softmax ? p3 * (g3 - rowDot[3]) : slopes[3 * Nk + j] * g3;
            const w0 = !two ? 0 : softmax ? u0 * (f0 - rowDot[0]) : slopes[j + 1] * f0;
            const w1 = !two ? 0 : softmax ? u1 * (f1 - rowDot[1]) : slopes[Nk + j + 1] * f1;
            const w2 = !two ? 0 : softmax ? u2 * (f2 - rowDot[2]) : slopes[2 * Nk + j + 1] * f2;
            const w3 = !two ? 0 : softmax ? u3 * (f3 - rowDot[3]) : slopes[3 * Nk + j + 1] * f3;
            const acc = j * D;
            const acc2 = two ? acc + D : acc;
            for (let d = 0; d < D; d++) {
              const kd = k[kOff + d];
              const ke = k[kOff2 + d];
              const x0 = q[r0 + d], x1 = q[r1 + d], x2 = q[r2 + d], x3 = q[r3 + d];
              const y0 = dO[r0 + d], y1 = dO[r1 + d], y2 = dO[r2 + d], y3 = dO[r3 + d];
              dqAcc[d] += s0 * kd + w0 * ke;
              dqAcc[D + d] += s1 * kd + w1 * ke;
              dqAcc[2 * D + d] += s2 * kd + w2 * ke;
              dqAcc[3 * D + d] += s3 * kd + w3 * ke;
              dkAcc[acc + d] += s0 * x0 + s1 * x1 + s2 * x2 + s3 * x3;
              dvAcc[acc + d] += p0 * y0 + p1 * y1 + p2 * y2 + p3 * y3;
              // Without a second key, acc2 = acc and u = w = 0: this adds nothing (no branch in the loop).
              dkAcc[acc2 + d] += w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3;
              dvAcc[acc2 + d] += u0 * y0 + u1 * y1 + u2 * y2 + u3 * y3;
            }
          }
          for (let row = 0; row < ROWS && i0 + row < Nq; row++) {
            const out = (rowBase + i0 + row) * D;
            for (let d = 0; d < D; d++) dq[out + d] = scale * dqAcc[row * D + d];
          }
        }
      }
      for (let x = 0; x < Nk * D; x++) {
        dk[kvBase + x] = scale * dkAcc[x];
        dv[kvBase + x] = dvAcc[x];
      }
    }
  }
}
