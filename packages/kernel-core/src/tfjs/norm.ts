/**
 * The norm op used by every model: `fusedNorm(x, gamma, beta, kind, eps)` normalises over the last axis.
 *
 * On a backend that registers NORM_FWD (norm-names.ts; the cuda and webgpu backends) it is one kernel forward and
 * one backward. Elsewhere it runs `composedNorm`, the tfjs ops model-zoo always used, so those backends'
 * results (and their gradients, by tfjs autodiff of the same ops) do not change by a bit.
 */
import * as tf from '@tensorflow/tfjs';
import { NORM_FWD, NORM_KINDS, type NormAttrs, type NormKind } from './norm-names.js';
import { registerAttentionKernels } from './register.js';

/** The norm as tfjs ops: mean of squared deviations, eps added to the variance inside the rsqrt. */
export function composedNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor | null, kind: NormKind, eps: number): tf.Tensor {
  if (kind === 'rmsnorm') {
    const ms = tf.mean(tf.square(x), -1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), gamma);
  }
  const { mean, variance } = tf.moments(x, -1, true);
  const y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(y, gamma), beta as tf.Tensor);
}

function check(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor | null, kind: NormKind): void {
  if (!NORM_KINDS.includes(kind)) throw new Error(`fusedNorm: kind '${String(kind)}' is not one of ${NORM_KINDS.join(', ')}`);
  if (x.rank < 1) throw new Error('fusedNorm: x is a scalar; it needs at least one axis to normalise over');
  const c = x.shape[x.rank - 1];
  for (const [name, t] of [['gamma', gamma], ['beta', beta]] as const) {
    if (t === null) continue;
    if (t.rank !== 1 || t.shape[0] !== c) throw new Error(`fusedNorm: ${name} has shape [${t.shape.join(', ')}], expected [${c}] (the last dimension of x)`);
  }
  if (kind === 'layernorm' && beta === null) throw new Error('fusedNorm: layernorm needs beta; pass a [C] tensor (zeros for none)');
  if (kind === 'rmsnorm' && beta !== null) throw new Error('fusedNorm: rmsnorm has no beta; pass null');
}

export function fusedNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor | null, kind: NormKind, eps: number): tf.Tensor {
  check(x, gamma, beta, kind);
  registerAttentionKernels();
  const fused = tf.getKernel(NORM_FWD, tf.getBackend()) !== undefined;
  if (!fused || x.dtype !== 'float32' || gamma.dtype !== 'float32' || (beta !== null && beta.dtype !== 'float32')) {
    return composedNorm(x, gamma, beta, kind, eps);
  }
  const inputs: tf.NamedTensorMap = beta === null ? { x, gamma } : { x, gamma, beta };
  const attrs: NormAttrs = { kind, eps };
  const [y, stats] = tf.engine().runKernel(NORM_FWD, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  // The row statistics only feed the backward, which keeps its own saved copy.
  stats.dispose();
  return y;
}
