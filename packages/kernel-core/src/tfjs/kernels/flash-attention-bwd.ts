/**
 * FlashAttention-style backward in TypeScript, used by the cpu and wasm backends.
 *
 * For each key/value head, every query row that reads it (all heads of its GQA group) is streamed
 * over its visible keys, four rows at a time (each k, v element loaded feeds four rows, and dK, dV
 * are updated once per key for all four), recomputing P from the logits — sigmoid: σ(S); softmax:
 * exp(S − LSE) with the forward's LSE — so nothing N×N is stored:
 *   dP = dO·vⱼ;  sigmoid: dS = P(1 − P)·dP;  softmax: dS = P·(dP − Dᵢ), Dᵢ = dOᵢ·Oᵢ
 *   dQᵢ += scale·dS·kⱼ;  dKⱼ += scale·dS·qᵢ;  dVⱼ += P·dOᵢ
 * dK and dV accumulate per key/value head in double buffers of Nk·D, then are written as float32.
 * Every output element is written (masked rows and keys get 0).
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
  o: Float32Array, lse: Float32Array, dO: Float32Array,
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
            rowLse[x] = end[x] > 0 ? lse[rowBase + i0 + x] : 0;
            let dot = 0;
            if (!sigmoid && end[x] > 0) for (let d = 0; d < D; d++) dot += dO[off + d] * o[off + d];
            rowDot[x] = dot;
          }
          const r0 = (rowBase + i0) * D;
          const r1 = end[1] > 0 ? r0 + D : r0;
          const r2 = end[2] > 0 ? r0 + 2 * D : r0;
          const r3 = end[3] > 0 ? r0 + 3 * D : r0;
          const [e0, e1, e2, e3] = end;
          dqAcc.fill(0);
          for (let j = 0; j < jMax; j += 2) {
            // Keys j and j+1 (an odd last key repeats key j with P = dS = 0): each k, v, q, dO element
            // loaded below feeds 2–4 multiply-adds.
            const kOff = kvBase + j * D;
            const two = j + 1 < jMax;
            const kOff2 = two ? kOff + D : kOff;
            for (let t = 0; t < 2; t++) {
              // P and dS of the 4 rows for key j + t, into pd[8t … 8t + 7].
              const jt = j + t;
              const off = t === 0 ? kOff : kOff2;
              let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
              let g0 = 0, g1 = 0, g2 = 0, g3 = 0;
              for (let d = 0; d < D; d++) {
                const kd = k[off + d];
                const vd = v[off + d];
                a0 += q[r0 + d] * kd;
                a1 += q[r1 + d] * kd;
                a2 += q[r2 + d] * kd;
                a3 += q[r3 + d] * kd;
                g0 += dO[r0 + d] * vd;
                g1 += dO[r1 + d] * vd;
                g2 += dO[r2 + d] * vd;
                g3 += dO[r3 + d] * vd;
              }
              const dist = i0 + shift - jt;
              const live = t === 0 || two;
              probabilityGrad(pd, 8 * t, live && jt < e0, scale * a0 + bias - slope * Math.abs(dist), g0, rowLse[0], rowDot[0], sigmoid);
              probabilityGrad(pd, 8 * t + 1, live && jt < e1, scale * a1 + bias - slope * Math.abs(dist + 1), g1, rowLse[1], rowDot[1], sigmoid);
              probabilityGrad(pd, 8 * t + 2, live && jt < e2, scale * a2 + bias - slope * Math.abs(dist + 2), g2, rowLse[2], rowDot[2], sigmoid);
              probabilityGrad(pd, 8 * t + 3, live && jt < e3, scale * a3 + bias - slope * Math.abs(dist + 3), g3, rowLse[3], rowDot[3], sigmoid);
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
              if (two) {
                dkAcc[acc2 + d] += w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3;
                dvAcc[acc2 + d] += u0 * y0 + u1 * y1 + u2 * y2 + u3 * y3;
              }
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
