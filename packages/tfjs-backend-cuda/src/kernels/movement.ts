import type * as tf from '@tensorflow/tfjs';

export const movementKernels: tf.KernelConfig[] = [];
