/** ATTENTION_BWD on the cpu backend: the TypeScript flash backward on the tensors' own arrays. */
import type * as tf from '@tensorflow/tfjs';
import { ATTENTION_BWD, type AttentionAttrs } from '../kernel-names.js';
import { resolvedFromAttrs } from '../attrs.js';
import { flashAttentionBackward } from './flash-attention-bwd.js';
import { readCpu, writeCpu, type CpuBackend } from './backend-access.js';

export const attentionBwdCpuConfig: tf.KernelConfig = {
  kernelName: ATTENTION_BWD,
  backendName: 'cpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { q, k, v, o, stats, dy } = inputs as Record<'q' | 'k' | 'v' | 'o' | 'stats' | 'dy', tf.TensorInfo>;
    const cpu = backend as CpuBackend;
    const r = resolvedFromAttrs(q.shape, k.shape, attrs as unknown as AttentionAttrs);
    const dq = new Float32Array(q.shape.reduce((a, b) => a * b, 1));
    const dk = new Float32Array(k.shape.reduce((a, b) => a * b, 1));
    const dv = new Float32Array(dk.length);
    const [qa, ka, va, oa, statsa, dya] = [q, k, v, o, stats, dy].map((t) => readCpu(cpu, t));
    flashAttentionBackward(r, qa, ka, va, oa, statsa, dya, dq, dk, dv);
    return [writeCpu(cpu, dq, [...q.shape]), writeCpu(cpu, dk, [...k.shape]), writeCpu(cpu, dv, [...v.shape])];
  },
};
