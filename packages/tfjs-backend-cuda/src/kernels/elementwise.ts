import type * as tf from '@tensorflow/tfjs';

export const elementwiseKernels: tf.KernelConfig[] = [];
