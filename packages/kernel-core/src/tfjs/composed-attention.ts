/**
 * Attention composed from stock tfjs ops (matMul → sigmoid/relu/gelu/softmax → matMul), with tfjs'
 * own gradients.
 *
 * It materialises the [B, H, Nq, Nk] score matrix. It is kept as the baseline of the benchmarks
 * ("tfjs composed attention") and as the fallback of `attention()` on a backend that has no fused
 * kernel registered.
 */
import * as tf from '@tensorflow/tfjs';
import {
  GELU_A, GELU_C, biasForm, isElementwise, isVisible, resolveAttention, resolveBias, type AttentionKind, type AttentionSpec,
  type ResolvedAttention,
} from '../spec.js';

/**
 * The attention weights P of a kind from logits s = scale·q·kᵀ (plus any ALiBi term, without the
 * bias), as tfjs ops with tfjs' gradients: sigmoid σ(s + b), relu/gelu e^b·φ(s), softmax over the
 * last axis. No masking. Also for callers that build their own logits (the model zoo's ALiBi over
 * explicit token positions).
 */
export function attentionWeights(s: tf.Tensor, spec: { kind: AttentionKind; bias?: AttentionSpec['bias'] }): tf.Tensor {
  if (spec.kind === 'softmax') return tf.softmax(s);
  const { shift, gain } = biasForm({ kind: spec.kind, bias: isElementwise(spec.kind) ? resolveBias(spec.bias) : 0 });
  const x = shift === 0 ? s : tf.add(s, shift);
  let p: tf.Tensor;
  if (spec.kind === 'sigmoid') p = tf.sigmoid(x);
  else if (spec.kind === 'relu') p = tf.relu(x);
  else p = tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), GELU_A)), GELU_C)), 1));
  return gain === 1 ? p : tf.mul(p, gain);
}

/** Additive ALiBi term and a 0/1 visibility mask, both [B|1, H|1, Nq, Nk], or null when unused. */
function maskTensors(r: ResolvedAttention): { alibi: tf.Tensor | null; visible: tf.Tensor | null } {
  let alibi: tf.Tensor | null = null;
  if (r.alibiSlopes !== null) {
    const data = new Float32Array(r.H * r.Nq * r.Nk);
    for (let h = 0; h < r.H; h++) {
      for (let i = 0; i < r.Nq; i++) {
        for (let j = 0; j < r.Nk; j++) {
          data[(h * r.Nq + i) * r.Nk + j] = -r.alibiSlopes[h] * Math.abs(i + (r.Nk - r.Nq) - j);
        }
      }
    }
    alibi = tf.tensor4d(data, [1, r.H, r.Nq, r.Nk]);
  }
  let visible: tf.Tensor | null = null;
  if (r.causal || r.keyLengths !== null) {
    const batches = r.keyLengths === null ? 1 : r.B;
    const data = new Float32Array(batches * r.Nq * r.Nk);
    for (let b = 0; b < batches; b++) {
      for (let i = 0; i < r.Nq; i++) {
        for (let j = 0; j < r.Nk; j++) data[(b * r.Nq + i) * r.Nk + j] = isVisible(r, b, i, j) ? 1 : 0;
      }
    }
    visible = tf.tensor4d(data, [batches, 1, r.Nq, r.Nk]);
  }
  return { alibi, visible };
}

function repeatKvHeads(x: tf.Tensor4D, groups: number): tf.Tensor4D {
  if (groups === 1) return x;
  const [B, Hkv, N, D] = x.shape;
  // Rank 4, not 5: tfjs has no gradient for rank-5 tile.
  return tf.tile(x.reshape([B, Hkv, 1, N * D]), [1, 1, groups, 1]).reshape([B, Hkv * groups, N, D]);
}

export function composedAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, spec: AttentionSpec): tf.Tensor4D {
  const r = resolveAttention(q.shape, k.shape, v.shape, spec);
  return tf.tidy(() => {
    const groups = r.H / r.Hkv;
    const kh = repeatKvHeads(k, groups);
    const vh = repeatKvHeads(v, groups);
    let s = tf.mul(tf.matMul(q, kh, false, true), r.scale) as tf.Tensor4D;
    const { alibi, visible } = maskTensors(r);
    if (alibi !== null) s = tf.add(s, alibi);
    let p: tf.Tensor4D;
    if (r.kind !== 'softmax') {
      p = attentionWeights(s, r) as tf.Tensor4D;
      if (visible !== null) p = tf.mul(p, visible);
    } else {
      // Masked logits get −1e30 before softmax and P is zeroed after, so a fully masked row gives O = 0.
      if (visible !== null) s = tf.add(s, tf.mul(tf.sub(1, visible), -1e30));
      p = tf.softmax(s);
      if (visible !== null) p = tf.mul(p, visible);
    }
    return tf.matMul(p, vh);
  });
}
