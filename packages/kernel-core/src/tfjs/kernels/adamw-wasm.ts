/** ADAMW_UPDATE on the wasm backend: the TypeScript update on zero-copy views of the wasm heap. */
import type * as tf from '@tensorflow/tfjs';
import { ADAMW_UPDATE, type AdamWAttrs } from '../adamw-names.js';
import { adamwConstants, adamwInputs, adamwUpdate } from './adamw-update.js';
import { wasmViews, type WasmBackend } from './backend-access.js';

export const adamwWasmConfig: tf.KernelConfig = {
  kernelName: ADAMW_UPDATE,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { param, grad, m, v } = adamwInputs(inputs, 'wasm');
    const wasm = backend as WasmBackend;
    const c = adamwConstants(attrs as unknown as AdamWAttrs);
    const outs = [0, 1, 2].map(() => wasm.makeOutput([...param.shape], 'float32'));
    const [wa, ga, ma, va, wOut, mOut, vOut] = wasmViews(wasm, [param, grad, m, v, ...outs]);
    adamwUpdate(c, wa, ga, ma, va, wOut, mOut, vOut);
    return outs;
  },
};
