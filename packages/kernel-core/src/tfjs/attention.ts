/**
 * The attention op used by every model: `attention(q, k, v, spec)`.
 *
 * It validates the spec (resolveAttention: errors name the tensor, dimension and both values), then
 * runs the fused kernel ATTENTION_FWD of the active backend; its gradient runs ATTENTION_BWD.
 * The first call registers the kernels and the gradient (src/tfjs/register.ts) if initBackend() has
 * not already.
 */
import * as tf from '@tensorflow/tfjs';
import { AttentionSpecError, resolveAttention, type AttentionSpec } from '../spec.js';
import { attrsFromResolved } from './attrs.js';
import { composedAttention } from './composed-attention.js';
import { ATTENTION_FWD } from './kernel-names.js';
import { unsupportedReason } from './kernel-support.js';
import { registerAttentionKernels } from './register.js';

const warned = new Set<string>();

/** Say once per reason that the composed (N×N) path runs: it is slower and memory-hungry. */
function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  console.warn(`attention: ${message}; using the composed (N×N) attention instead`);
}

export function attention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, spec: AttentionSpec): tf.Tensor4D {
  const r = resolveAttention(q.shape, k.shape, v.shape, spec);
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) {
    if (t.dtype !== 'float32') {
      throw new AttentionSpecError(`attention: ${name} must have dtype float32, got ${t.dtype}; convert it with tf.cast(${name}, 'float32')`);
    }
  }
  registerAttentionKernels();
  const backend = tf.getBackend();
  // A backend without the fused kernel, or whose kernel does not cover this spec, still works
  // through the composed version.
  if (tf.getKernel(ATTENTION_FWD, backend) === undefined) {
    warnOnce(`no ${ATTENTION_FWD} kernel for tfjs backend '${backend}'`);
    return composedAttention(q, k, v, spec);
  }
  const unsupported = unsupportedReason(backend, r);
  if (unsupported !== null) {
    warnOnce(`the '${backend}' kernels do not cover this spec (${unsupported})`);
    return composedAttention(q, k, v, spec);
  }
  const [o, stats] = tf.engine().runKernel(ATTENTION_FWD, { q, k, v }, attrsFromResolved(r) as unknown as tf.NamedAttrMap) as tf.Tensor[];
  // The row statistics only feed the backward, which keeps its own saved copy.
  stats.dispose();
  return o as tf.Tensor4D;
}
