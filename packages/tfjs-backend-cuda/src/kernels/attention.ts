import type * as tf from '@tensorflow/tfjs';
import type { ResolvedAttention } from '@sigattn/kernel-core';

export const attentionKernels: tf.KernelConfig[] = [];

export function cudaAttentionUnsupportedReason(_r: ResolvedAttention): string | null {
  return 'not yet implemented';
}
