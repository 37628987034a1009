/** Every native cuda kernel, by family (one file each, as tfjs-backend-cpu's register_all_kernels). */
import type * as tf from '@tensorflow/tfjs';
import { elementwiseKernels } from './elementwise.js';
import { reduceKernels } from './reduce.js';
import { movementKernels } from './movement.js';
import { matmulKernels } from './matmul.js';
import { attentionKernels } from './attention.js';
import { optimizerKernels } from './optimizer.js';
import { normKernels } from './norm.js';
import { activationKernels } from './activation.js';

export const CUDA_KERNELS: readonly tf.KernelConfig[] = [
  ...elementwiseKernels,
  ...reduceKernels,
  ...movementKernels,
  ...matmulKernels,
  ...attentionKernels,
  ...optimizerKernels,
  ...normKernels,
  ...activationKernels,
];
