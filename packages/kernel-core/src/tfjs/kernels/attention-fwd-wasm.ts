/** ATTENTION_FWD on the wasm backend: the TypeScript flash forward on zero-copy views of the wasm heap. */
import type * as tf from '@tensorflow/tfjs';
import { ATTENTION_FWD, type AttentionAttrs } from '../kernel-names.js';
import { resolvedFromAttrs } from '../attrs.js';
import { flashAttentionForward } from './flash-attention-fwd.js';
import { wasmViews, type WasmBackend } from './backend-access.js';

export const attentionFwdWasmConfig: tf.KernelConfig = {
  kernelName: ATTENTION_FWD,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { q, k, v } = inputs as Record<'q' | 'k' | 'v', tf.TensorInfo>;
    const wasm = backend as WasmBackend;
    const r = resolvedFromAttrs(q.shape, k.shape, attrs as unknown as AttentionAttrs);
    const o = wasm.makeOutput([...q.shape], 'float32');
    const stats = wasm.makeOutput([r.B, r.H, r.Nq, 2], 'float32');
    const [qa, ka, va, oa, statsa] = wasmViews(wasm, [q, k, v, o, stats]);
    flashAttentionForward(r, qa, ka, va, oa, statsa);
    return [o, stats];
  },
};
