/**
 * The activation op used by every model's MLP: `fusedActivation(x, kind)`, GELU (tanh approximation) or
 * SiLU, elementwise.
 *
 * On a backend that registers ACTIVATION_FWD (activation-names.ts; the cuda and webgpu backends) it is one kernel
 * forward and one backward. Elsewhere it runs `composedActivation`, the tfjs ops model-zoo always used,
 * so those backends' results (and their gradients, by tfjs autodiff of the same ops) do not change by a bit.
 */
import * as tf from '@tensorflow/tfjs';
import { ACTIVATION_FWD, ACTIVATION_KINDS, GELU_TANH_A, GELU_TANH_C, type ActivationAttrs, type ActivationKind } from './activation-names.js';
import { registerAttentionKernels } from './register.js';

/**
 * The activation as tfjs ops (the one definition of the math; the fused kernels reproduce these ops and
 * their autodiff step for step). GELU: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))); SiLU: x·σ(x).
 */
export function composedActivation(x: tf.Tensor, kind: ActivationKind): tf.Tensor {
  if (kind === 'silu') return tf.mul(x, tf.sigmoid(x));
  const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), GELU_TANH_A)), GELU_TANH_C);
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

export function fusedActivation(x: tf.Tensor, kind: ActivationKind): tf.Tensor {
  if (!ACTIVATION_KINDS.includes(kind)) throw new Error(`fusedActivation: kind '${String(kind)}' is not one of ${ACTIVATION_KINDS.join(', ')}`);
  if (x.dtype !== 'float32') throw new Error(`fusedActivation: x has dtype ${x.dtype}, expected float32 (cast it first)`);
  registerAttentionKernels();
  if (tf.getKernel(ACTIVATION_FWD, tf.getBackend()) === undefined) return composedActivation(x, kind);
  const attrs: ActivationAttrs = { kind };
  return tf.engine().runKernel(ACTIVATION_FWD, { x }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}
