/**
 * The gradient of ATTENTION_FWD, registered once for every backend: it runs ATTENTION_BWD through the
 * engine, so autodiff works on any backend that registers both kernels (kernel-names.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { ATTENTION_BWD, ATTENTION_FWD } from './kernel-names.js';

export const attentionGradConfig: tf.GradConfig = {
  kernelName: ATTENTION_FWD,
  inputsToSave: ['q', 'k', 'v'],
  outputsToSave: [true, true],
  gradFunc: (dy, saved, attrs) => {
    const [q, k, v, o, stats] = saved;
    // dy holds [dO, dStats]; the row statistics are internal to the op (attention() never returns
    // them), so dStats is the engine's zero fill and is ignored.
    const dO = Array.isArray(dy) ? dy[0] : dy;
    // One backward launch yields all three gradients; the closures only hand them out.
    const [dq, dk, dv] = tf.engine().runKernel(ATTENTION_BWD, { q, k, v, o, stats, dy: dO }, attrs) as tf.Tensor[];
    return { q: () => dq, k: () => dk, v: () => dv };
  },
};
