/**
 * Position encodings. Additive ones (learned, sin-cos) are added to the token embeddings by the model;
 * RoPE rotates each head's q and k inside the block (after QK-norm, as in the paper's code); ALiBi is
 * passed to the attention op as per-head slopes, which applies the TRUE distance |i − j| because
 * sigmoid is not shift-invariant.
 */
import * as tf from '@tensorflow/tfjs';

export type PositionKind = 'learned' | 'sincos' | 'rope' | 'alibi' | 'none';
/** What the block itself has to do for a given model-level position kind. */
export type BlockPositions = 'rope' | 'alibi' | 'none';

export function blockPositions(kind: PositionKind): BlockPositions {
  return kind === 'rope' || kind === 'alibi' ? kind : 'none';
}

/** 1-D sin-cos table [n, dim] (Vaswani et al.): first half sines, second half cosines. */
export function sincos1d(positions: ArrayLike<number>, dim: number, base = 10000): Float32Array {
  if (dim % 2 !== 0) throw new Error(`sin-cos positions: dim ${dim} must be even`);
  const half = dim / 2;
  const out = new Float32Array(positions.length * dim);
  for (let i = 0; i < positions.length; i++) {
    for (let k = 0; k < half; k++) {
      const angle = positions[i] / base ** (k / half);
      out[i * dim + k] = Math.sin(angle);
      out[i * dim + half + k] = Math.cos(angle);
    }
  }
  return out;
}

/**
 * 2-D sin-cos table [gh·gw, dim] as in MAE: half the channels encode the row, half the column.
 * With `cls`, a zero row is prepended for the CLS token.
 */
export function sincos2d(gh: number, gw: number, dim: number, cls: boolean): tf.Tensor2D {
  if (dim % 4 !== 0) throw new Error(`2-D sin-cos positions: dim ${dim} must be divisible by 4`);
  const rows = Array.from({ length: gh * gw }, (_, i) => Math.floor(i / gw));
  const cols = Array.from({ length: gh * gw }, (_, i) => i % gw);
  const er = sincos1d(rows, dim / 2);
  const ec = sincos1d(cols, dim / 2);
  const n = gh * gw + (cls ? 1 : 0);
  const out = new Float32Array(n * dim);
  const off = cls ? 1 : 0;
  for (let i = 0; i < gh * gw; i++) {
    out.set(er.subarray(i * (dim / 2), (i + 1) * (dim / 2)), (i + off) * dim);
    out.set(ec.subarray(i * (dim / 2), (i + 1) * (dim / 2)), (i + off) * dim + dim / 2);
  }
  return tf.tensor2d(out, [n, dim]);
}

/**
 * Rotary embedding of x [B, H, N, hd] for positions offset..offset+N−1 (offset = KV-cache length),
 * rotate-half convention: x·cos + rot(x)·sin with rot([x1, x2]) = [−x2, x1].
 */
export function applyRope(x: tf.Tensor4D, offset: number, base = 10000): tf.Tensor4D {
  const [, , N, hd] = x.shape;
  if (hd % 2 !== 0) throw new Error(`RoPE: head dim ${hd} must be even`);
  const half = hd / 2;
  const cos = new Float32Array(N * hd);
  const sin = new Float32Array(N * hd);
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < half; k++) {
      const angle = (offset + i) / base ** (k / half);
      cos[i * hd + k] = cos[i * hd + half + k] = Math.cos(angle);
      sin[i * hd + k] = sin[i * hd + half + k] = Math.sin(angle);
    }
  }
  const [x1, x2] = tf.split(x, 2, -1);
  const rot = tf.concat([tf.neg(x2), x1], -1);
  return tf.add(tf.mul(x, tf.tensor2d(cos, [N, hd])), tf.mul(rot, tf.tensor2d(sin, [N, hd]))) as tf.Tensor4D;
}
