/**
 * The gradient of NORM_FWD, registered once for every backend: it runs NORM_BWD through the engine, so
 * autodiff works on any backend that registers both kernels (norm-names.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { NORM_BWD, NORM_FWD, type NormAttrs } from './norm-names.js';

export const normGradConfig: tf.GradConfig = {
  kernelName: NORM_FWD,
  inputsToSave: ['x', 'gamma'],
  outputsToSave: [false, true],
  gradFunc: (dy, saved, attrs) => {
    const [x, gamma, stats] = saved;
    // dy holds [dY, dStats]; the row statistics are internal to the op (fusedNorm never returns them),
    // so dStats is the engine's zero fill and is ignored.
    const dY = Array.isArray(dy) ? dy[0] : dy;
    // One backward launch yields every gradient; the closures only hand them out.
    const [dx, dgamma, dbeta] = tf.engine().runKernel(NORM_BWD, { x, gamma, stats, dy: dY }, attrs) as tf.Tensor[];
    const grads: Record<string, () => tf.Tensor> = { x: () => dx, gamma: () => dgamma };
    if ((attrs as unknown as NormAttrs).kind === 'layernorm') grads.beta = () => dbeta;
    return grads;
  },
};
