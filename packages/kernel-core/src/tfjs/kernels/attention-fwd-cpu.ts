/** ATTENTION_FWD on the cpu backend: the TypeScript flash forward on the tensors' own arrays. */
import type * as tf from '@tensorflow/tfjs';
import { ATTENTION_FWD, type AttentionAttrs } from '../kernel-names.js';
import { resolvedFromAttrs } from '../attrs.js';
import { flashAttentionForward } from './flash-attention-fwd.js';
import { readCpu, writeCpu, type CpuBackend } from './backend-access.js';

export const attentionFwdCpuConfig: tf.KernelConfig = {
  kernelName: ATTENTION_FWD,
  backendName: 'cpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { q, k, v } = inputs as Record<'q' | 'k' | 'v', tf.TensorInfo>;
    const cpu = backend as CpuBackend;
    const r = resolvedFromAttrs(q.shape, k.shape, attrs as unknown as AttentionAttrs);
    const o = new Float32Array(r.B * r.H * r.Nq * r.D);
    const stats = new Float32Array(2 * r.B * r.H * r.Nq);
    flashAttentionForward(r, readCpu(cpu, q), readCpu(cpu, k), readCpu(cpu, v), o, stats);
    return [writeCpu(cpu, o, [...q.shape]), writeCpu(cpu, stats, [r.B, r.H, r.Nq, 2])];
  },
};
