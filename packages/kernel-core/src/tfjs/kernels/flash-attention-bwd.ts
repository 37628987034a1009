/**
 * FlashAttention-style backward in TypeScript, used by the cpu and wasm backends.
 *
 * For each key/value head, every query row that reads it (all heads of its GQA group) is streamed
 * over its visible keys in register tiles of 4 rows × 2 keys (each element loaded feeds several
 * multiply-adds, and dK, dV are updated once per key for all four rows), recomputing P from the
 * logits — sigmoid: σ(S); softmax: exp(S − LSE) — so nothing N×N is stored (4 rows of logits, O(N)):
 *   dP = dO·vⱼ;  sigmoid: dS = P(1 − P)·dP;  softmax: dS = P·(dP − Dᵢ), Dᵢ = dOᵢ·Oᵢ
 *   dQᵢ += scale·dS·kⱼ;  dKⱼ += scale·dS·qᵢ;  dVⱼ += P·dOᵢ
 * dK and dV accumulate per key/value head in double buffers of Nk·D, then are written as float32.
 * Every output element is written (masked rows and keys get 0).
 *
 * Softmax recomputes each row's LSE in double precision from the logits instead of using the
 * forward's float32 LSE: that rounding (|LSE|·2⁻²⁴ relative, shared by every P of the row) was the
 * largest error of this otherwise double-accumulating kernel, and broke the 2× naive-f32 rule on
 * some random cases. The LSE input stays in the signature for the kernel contract.
 */
import type { ResolvedAttention } from '../../spec.js';
import { ROWS, visibleKeyEnd } from './flash-attention-fwd.js';

/**
 * P and dS of one (row, key) into pd[at] and pd[at + 4]: sigmoid P = σ(x), dS = P(1 − P)·dP;
 * softmax P = exp(x − LSE), dS = P·(dP − D). Invisible pairs get 0 for both.
 */
function probabilityGrad(
  pd: Float64Array, at: number, visible: boolean, x: number, dp: number, rowLse: number, rowDot: number, sigmoid: boolean,
): void {
  if (!visible) {
    pd[at] = 0;
    pd[at + 4] = 0;
  } else if (sigmoid) {
    const p = 1 / (1 + Math.exp(-x));
    pd[at] = p;
    pd[at + 4] = p * (1 - p) * dp;
  } else {
    const p = Math.exp(x - rowLse);
    pd[at] = p;
    pd[at + 4] = p * (dp - rowDot);
  }
}

export function flashAttentionBackward(
  r: ResolvedAttention,
  q: Float32Array, k: Float32Array, v: Float32Array,
  o: Float32Array, _lse: Float32Array, dO: Float32Array,
  dq: Float32Array, dk: Float32Array, dv: Float32Array,
): void {
  const { B, H, Hkv, Nq, Nk, D, scale, bias } = r;
  const group = H / Hkv;
  const shift = Nk - Nq;
  const sigmoid = r.kind === 'sigmoid';
  const dkAcc = new Float64Array(Nk * D);
  const dvAcc = new Float64Array(Nk * D);
  const dqAcc = new Float64Array(ROWS * D);
  const end = new Int32Array(ROWS);
  const rowLse = new Float64Array(ROWS);
  const rowDot = new Float64Array(ROWS);
  const pd = new Float64Array(16);
  const logits = new Float64Array(ROWS * Nk);
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
            if (!sigmoid && end[x] > 0) for (let d = 0; d < D; d++) dot += dO[off + d] * o[off + d];
            rowDot[x] = dot;
          }
          const r0 = (rowBase + i0) * D;
          const r1 = end[1] > 0 ? r0 + D : r0;
          const r2 = end[2] > 0 ? r0 + 2 * D : r0;
          const r3 = end[3] > 0 ? r0 + 3 * D : r0;
          const [e0, e1, e2, e3] = end;
          // Pass 1: the logits of the 4 rows at every visible key (4 × Nk doubles: O(N) memory), and for
          // softmax each row's exact normaliser in double precision.
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
          if (!sigmoid) {
            // The forward's LSE is float32; its rounding (|LSE|·2⁻²⁴, relative, on every P of the row) would
            // dominate the error of an f32 kernel, so recompute it exactly from the logits just computed.
            for (let row = 0; row < ROWS; row++) {
              let max = -Infinity;
              for (let j = 0; j < end[row]; j++) max = Math.max(max, logits[row * Nk + j]);
              let sum = 0;
              for (let j = 0; j < end[row]; j++) sum += Math.exp(logits[row * Nk + j] - max);
              rowLse[row] = end[row] > 0 ? max + Math.log(sum) : 0;
            }
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
            probabilityGrad(pd, 0, j < e0, logits[j], g0, rowLse[0], rowDot[0], sigmoid);
            probabilityGrad(pd, 1, j < e1, logits[Nk + j], g1, rowLse[1], rowDot[1], sigmoid);
            probabilityGrad(pd, 2, j < e2, logits[2 * Nk + j], g2, rowLse[2], rowDot[2], sigmoid);
            probabilityGrad(pd, 3, j < e3, logits[3 * Nk + j], g3, rowLse[3], rowDot[3], sigmoid);
            if (two) {
              probabilityGrad(pd, 8, j + 1 < e0, logits[j + 1], f0, rowLse[0], rowDot[0], sigmoid);
              probabilityGrad(pd, 9, j + 1 < e1, logits[Nk + j + 1], f1, rowLse[1], rowDot[1], sigmoid);
              probabilityGrad(pd, 10, j + 1 < e2, logits[2 * Nk + j + 1], f2, rowLse[2], rowDot[2], sigmoid);
              probabilityGrad(pd, 11, j + 1 < e3, logits[3 * Nk + j + 1], f3, rowLse[3], rowDot[3], sigmoid);
            } else {
              pd.fill(0, 8, 16);
            }
            // p, s: P and dS of the 4 rows at key j; u, w: at key j + 1.
            const p0 = pd[0], p1 = pd[1], p2 = pd[2], p3 = pd[3], s0 = pd[4], s1 = pd[5], s2 = pd[6], s3 = pd[7];
            const u0 = pd[8], u1 = pd[9], u2 = pd[10], u3 = pd[11], w0 = pd[12], w1 = pd[13], w2 = pd[14], w3 = pd[15];
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
