/**
 * Every tfjs registration of the attention op, in one place (as tfjs-backend-cpu's
 * register_all_kernels.ts): the gradient (one for all backends), the TypeScript kernels of the cpu and
 * wasm backends, the WGSL kernels of the webgpu backend, and which specs each backend's kernels cover;
 * the fused AdamW update's kernels (adamw-names.ts; no gradient); the fused norm's gradient (norm-names.ts)
 * and its webgpu kernels; the fused activation's gradient (activation-names.ts) and its webgpu kernels;
 * also the Mean and Sum gradients that replace tfjs-core's (reduce-gradients.ts: no host-side ones()).
 * Nothing registers on import: initBackend() and attention() call registerAttentionKernels(), so
 * every path into the op has its kernels. Idempotent.
 */
import * as tf from '@tensorflow/tfjs';
import { attentionGradConfig } from './attention-grad.js';
import { normGradConfig } from './norm-grad.js';
import { activationGradConfig } from './activation-grad.js';
import { registerKernelSupport } from './kernel-support.js';
import { meanGradConfig, sumGradConfig } from './reduce-gradients.js';
import { tileGradConfig } from './tile-gradient.js';
import { attentionFwdCpuConfig } from './kernels/attention-fwd-cpu.js';
import { attentionBwdCpuConfig } from './kernels/attention-bwd-cpu.js';
import { attentionFwdWasmConfig } from './kernels/attention-fwd-wasm.js';
import { attentionBwdWasmConfig } from './kernels/attention-bwd-wasm.js';
import { attentionBwdWebGPUConfig, attentionFwdWebGPUConfig, webgpuUnsupportedReason } from '../webgpu/tfjs-kernels.js';
import { adamwCpuConfig } from './kernels/adamw-cpu.js';
import { adamwWasmConfig } from './kernels/adamw-wasm.js';
import { adamwWebGPUConfig } from '../webgpu/adamw.js';
import { normBwdWebGPUConfig, normFwdWebGPUConfig } from '../webgpu/norm.js';
import { activationBwdWebGPUConfig, activationFwdWebGPUConfig } from '../webgpu/activation.js';

const KERNELS: readonly tf.KernelConfig[] = [
  attentionFwdCpuConfig, attentionBwdCpuConfig,
  attentionFwdWasmConfig, attentionBwdWasmConfig,
  attentionFwdWebGPUConfig, attentionBwdWebGPUConfig,
  adamwCpuConfig, adamwWasmConfig, adamwWebGPUConfig,
  normFwdWebGPUConfig, normBwdWebGPUConfig,
  activationFwdWebGPUConfig, activationBwdWebGPUConfig,
];

let registered = false;

export function registerAttentionKernels(): void {
  if (registered) return;
  for (const config of KERNELS) {
    // tfjs warns and overwrites on a second registration (e.g. two copies of the module); skip instead.
    if (tf.getKernel(config.kernelName, config.backendName) === undefined) tf.registerKernel(config);
  }
  if (tf.getGradient(attentionGradConfig.kernelName) === undefined) tf.registerGradient(attentionGradConfig);
  // The fused norm's gradient; its kernels exist only where a backend registers them (norm-names.ts).
  if (tf.getGradient(normGradConfig.kernelName) === undefined) tf.registerGradient(normGradConfig);
  // The fused activation's gradient, likewise (activation-names.ts).
  if (tf.getGradient(activationGradConfig.kernelName) === undefined) tf.registerGradient(activationGradConfig);
  // These two replace tfjs-core's own (registered when tfjs loads), so they are registered unconditionally.
  tf.registerGradient(meanGradConfig);
  tf.registerGradient(sumGradConfig);
  tf.registerGradient(tileGradConfig);
  registerKernelSupport('webgpu', webgpuUnsupportedReason);
  registered = true;
}
