/** Gradient clipping by global norm: all gradients are scaled by min(1, maxNorm/‖g‖₂) together. */
import * as tf from '@tensorflow/tfjs';

export function globalNorm(grads: tf.NamedTensorMap): number {
  return tf.tidy(() => Math.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))).dataSync()[0]));
}

/** Returns new gradient tensors (the inputs are disposed when scaled) and the pre-clip norm. */
export function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): { grads: tf.NamedTensorMap; norm: number } {
  const norm = globalNorm(grads);
  if (!(norm > maxNorm)) return { grads, norm };
  const scale = maxNorm / norm;
  const out: tf.NamedTensorMap = {};
  for (const [k, g] of Object.entries(grads)) {
    out[k] = tf.mul(g, scale);
    g.dispose();
  }
  return { grads: out, norm };
}
