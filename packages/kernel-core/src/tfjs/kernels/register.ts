/** Registers the TypeScript attention kernels for the cpu and wasm backends (idempotent). */
import * as tf from '@tensorflow/tfjs';
import { attentionFwdCpuConfig } from './attention-fwd-cpu.js';
import { attentionBwdCpuConfig } from './attention-bwd-cpu.js';
import { attentionFwdWasmConfig } from './attention-fwd-wasm.js';
import { attentionBwdWasmConfig } from './attention-bwd-wasm.js';

export function registerTypeScriptAttentionKernels(): void {
  for (const config of [attentionFwdCpuConfig, attentionBwdCpuConfig, attentionFwdWasmConfig, attentionBwdWasmConfig]) {
    // tfjs warns and overwrites on a second registration (e.g. the module loaded twice); skip instead.
    if (tf.getKernel(config.kernelName, config.backendName) === undefined) tf.registerKernel(config);
  }
}
