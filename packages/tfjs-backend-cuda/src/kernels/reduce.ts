import type * as tf from '@tensorflow/tfjs';

export const reduceKernels: tf.KernelConfig[] = [];
