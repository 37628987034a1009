/**
 * Registers the `cuda` backend with tfjs: the factory (run by tf.setBackend('cuda'), so nothing touches the
 * driver before then), the native kernels and, for every other kernel tfjs's cpu backend has, the cpu
 * fallback. Also declares which attention specs the fused kernels cover, so kernel-core's attention()
 * runs the composed ops for the others. Idempotent.
 */
import * as tf from '@tensorflow/tfjs';
import { registerAttentionKernels, registerKernelSupport, type CudaDriver } from '@sigattn/kernel-core';
import { CudaBackend } from './backend.js';
import { CudaDevice } from './device.js';
import { cpuFallback } from './fallback.js';
import { CUDA_KERNELS } from './kernels/index.js';
import { cudaAttentionUnsupportedReason } from './kernels/attention.js';

export const CUDA_BACKEND = 'cuda';

let registered = false;

function registerFallbacks(): void {
  for (const config of tf.getKernelsForBackend('cpu')) {
    if (tf.getKernel(config.kernelName, CUDA_BACKEND) === undefined) tf.registerKernel(cpuFallback(config));
  }
}

/**
 * `driver` replaces the process's CUDA driver (kernel-core's cudaDriver()) — for the null driver
 * (testing/null-driver.ts) that measures host overhead without a GPU.
 */
export function registerCudaBackend({ driver }: { driver?: CudaDriver } = {}): void {
  if (registered) return;
  registerAttentionKernels();
  for (const config of CUDA_KERNELS) {
    if (tf.getKernel(config.kernelName, CUDA_BACKEND) === undefined) tf.registerKernel(config);
  }
  registerKernelSupport(CUDA_BACKEND, cudaAttentionUnsupportedReason);
  // Priority 0: below cpu (1) and wasm (2), so tfjs never picks cuda unless asked to.
  tf.registerBackend(CUDA_BACKEND, () => {
    registerFallbacks();
    return new CudaBackend(new CudaDevice(driver));
  }, 0);
  registered = true;
}

/** The names of the kernels implemented natively on cuda (not through the cpu fallback). */
export function nativeCudaKernels(): string[] {
  return CUDA_KERNELS.map((c) => c.kernelName).sort();
}
