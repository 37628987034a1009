import type * as tf from '@tensorflow/tfjs';

export const matmulKernels: tf.KernelConfig[] = [];
