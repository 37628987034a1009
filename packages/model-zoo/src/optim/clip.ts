/**
 * Gradient clipping by global norm: all gradients are scaled by min(1, maxNorm/‖g‖₂) together. Computed
 * on the device with no read-back, so it runs on every backend (webgpu in Node cannot read synchronously)
 * and does not stall a GPU step; read the norm with `await norm.data()` when you need it.
 */
import * as tf from '@tensorflow/tfjs';

/** ‖g‖₂ over every gradient, as a scalar tensor (the caller disposes it). */
export function globalNorm(grads: tf.NamedTensorMap): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}

/**
 * New gradient tensors scaled by min(1, maxNorm/‖g‖₂) (the inputs are disposed; below the threshold the
 * scale is exactly 1, so the values are unchanged) and the pre-clip norm (the caller disposes it).
 */
export function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): { grads: tf.NamedTensorMap; norm: tf.Scalar } {
  const norm = globalNorm(grads);
  // A zero norm gives maxNorm/0 = ∞ and a scale of 1.
  const scale = tf.tidy(() => tf.minimum(1, tf.div(maxNorm, norm)));
  const out: tf.NamedTensorMap = {};
  for (const [k, g] of Object.entries(grads)) {
    out[k] = tf.mul(g, scale);
    g.dispose();
  }
  scale.dispose();
  return { grads: out, norm };
}
