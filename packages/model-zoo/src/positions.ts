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
  const { cos, sin } = cachedRopeTables(offset, N, hd, base);
  return rotate(x, cos, sin);
}

/**
 * The tables of applyRope, kept between calls: every layer and step of a model with the same length asks
 * for the same ones, and computing N·hd/2 angles on the host (then uploading them) per call cost more
 * than the rest of an LM step at n = 4096 on a GPU. Least recently used first out, so a key in use by the
 * current step (whose backward still needs its tensors) is never the one evicted.
 */
const ROPE_CACHE_SIZE = 64;
const ropeCache = new Map<string, { cos: tf.Tensor4D; sin: tf.Tensor4D }>();

function cachedRopeTables(offset: number, N: number, hd: number, base: number): { cos: tf.Tensor4D; sin: tf.Tensor4D } {
  const key = `${offset},${N},${hd},${base},${tf.getBackend()}`;
  let t = ropeCache.get(key);
  if (t !== undefined) {
    ropeCache.delete(key);
    ropeCache.set(key, t);
    return t;
  }
  const { cos, sin } = ropeTables([Array.from({ length: N }, (_, i) => offset + i)], N, hd, base);
  t = { cos: tf.keep(tf.tensor4d(cos, [1, 1, N, hd])), sin: tf.keep(tf.tensor4d(sin, [1, 1, N, hd])) };
  ropeCache.set(key, t);
  if (ropeCache.size > ROPE_CACHE_SIZE) {
    const [oldest, old] = ropeCache.entries().next().value as [string, { cos: tf.Tensor4D; sin: tf.Tensor4D }];
    ropeCache.delete(oldest);
    tf.dispose([old.cos, old.sin]);
  }
  return t;
}

/**
 * Rotary embedding at given token positions, one list of N per batch element (MAE's visible patches
 * sit at their patch positions, not at 0..N−1).
 */
export function applyRopeAt(x: tf.Tensor4D, positions: readonly ArrayLike<number>[], base = 10000): tf.Tensor4D {
  const [B, , N] = x.shape;
  if (positions.length !== B || positions.some((p) => p.length !== N)) {
    throw new Error(`RoPE: expected ${B} position lists of length ${N}, found lengths [${positions.map((p) => p.length).join(', ')}]`);
  }
  return ropeWith(x, positions, base);
}

/** positions: one list (shared by the batch) or one per batch element. */
function ropeWith(x: tf.Tensor4D, positions: readonly ArrayLike<number>[], base: number): tf.Tensor4D {
  const [, , N, hd] = x.shape;
  const { cos, sin } = ropeTables(positions, N, hd, base);
  const shape: [number, number, number, number] = [positions.length, 1, N, hd];
  return tf.tidy(() => rotate(x, tf.tensor4d(cos, shape), tf.tensor4d(sin, shape)));
}

function ropeTables(positions: readonly ArrayLike<number>[], N: number, hd: number, base: number): { cos: Float32Array; sin: Float32Array } {
  if (hd % 2 !== 0) throw new Error(`RoPE: head dim ${hd} must be even`);
  const half = hd / 2;
  const cos = new Float32Array(positions.length * N * hd);
  const sin = new Float32Array(positions.length * N * hd);
  positions.forEach((pos, b) => {
    for (let i = 0; i < N; i++) {
      const at = (b * N + i) * hd;
      for (let k = 0; k < half; k++) {
        const angle = pos[i] / base ** (k / half);
        cos[at + k] = cos[at + half + k] = Math.cos(angle);
        sin[at + k] = sin[at + half + k] = Math.sin(angle);
      }
    }
  });
  return { cos, sin };
}

/** x·cos + rot(x)·sin with rot([x1, x2]) = [−x2, x1]. */
function rotate(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  const [x1, x2] = tf.split(x, 2, -1);
  const rot = tf.concat([tf.neg(x2), x1], -1);
  return tf.add(tf.mul(x, cos), tf.mul(rot, sin)) as tf.Tensor4D;
}
