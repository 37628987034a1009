import type * as tf from '@tensorflow/tfjs';

export const optimizerKernels: tf.KernelConfig[] = [];
