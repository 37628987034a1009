/** ATTENTION_BWD on the wasm backend: the TypeScript flash backward on zero-copy views of the wasm heap. */
import type * as tf from '@tensorflow/tfjs';
import { ATTENTION_BWD, type AttentionAttrs } from '../kernel-names.js';
import { resolvedFromAttrs } from '../attrs.js';
import { flashAttentionBackward } from './flash-attention-bwd.js';
import { wasmViews, type WasmBackend } from './backend-access.js';

export const attentionBwdWasmConfig: tf.KernelConfig = {
  kernelName: ATTENTION_BWD,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { q, k, v, o, stats, dy } = inputs as Record<'q' | 'k' | 'v' | 'o' | 'stats' | 'dy', tf.TensorInfo>;
    const wasm = backend as WasmBackend;
    const r = resolvedFromAttrs(q.shape, k.shape, attrs as unknown as AttentionAttrs);
    const dq = wasm.makeOutput([...q.shape], 'float32');
    const dk = wasm.makeOutput([...k.shape], 'float32');
    const dv = wasm.makeOutput([...v.shape], 'float32');
    const [qa, ka, va, oa, statsa, dya, dqa, dka, dva] = wasmViews(wasm, [q, k, v, o, stats, dy, dq, dk, dv]);
    flashAttentionBackward(r, qa, ka, va, oa, statsa, dya, dqa, dka, dva);
    return [dq, dk, dv];
  },
};
