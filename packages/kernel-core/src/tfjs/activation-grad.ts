/**
 * The gradient of ACTIVATION_FWD, registered once for every backend: it runs ACTIVATION_BWD through the
 * engine, so autodiff works on any backend that registers both kernels (activation-names.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { ACTIVATION_BWD, ACTIVATION_FWD } from './activation-names.js';

export const activationGradConfig: tf.GradConfig = {
  kernelName: ACTIVATION_FWD,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const dY = Array.isArray(dy) ? dy[0] : dy;
    return { x: () => tf.engine().runKernel(ACTIVATION_BWD, { x, dy: dY }, attrs) as tf.Tensor };
  },
};
