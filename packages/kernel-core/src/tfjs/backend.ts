/**
 * Selects and initialises a tfjs backend in Node.
 *
 * Importing the union package `@tensorflow/tfjs` is what registers the gradients (tfjs-core's Node
 * bundle registers none). WebGPU needs `navigator.gpu` from Dawn BEFORE tfjs-backend-webgpu is
 * imported, because that module registers the 'webgpu' backend at import time only if it exists.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { patchWasmBatchMatMul } from './wasm-matmul-patch.js';
import { registerAttentionKernels } from './register.js';
import { dawnGpu } from '../webgpu/device.js';
import { cudaUnavailableReason } from '../cuda/driver.js';

export type BackendName = 'wasm' | 'cpu' | 'webgpu' | 'cuda';
export const BACKENDS: readonly BackendName[] = ['wasm', 'cpu', 'webgpu', 'cuda'];

let webgpuImported = false;

async function installDawn(): Promise<void> {
  if (webgpuImported) return;
  const gpu = await dawnGpu();
  const g = globalThis as { navigator?: Record<string, unknown> };
  if (g.navigator === undefined) g.navigator = { gpu };
  else Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  await import('@tensorflow/tfjs-backend-webgpu');
  webgpuImported = true;
}

/**
 * The cpu backend prints a multi-line "install tfjs-node" banner on first use in Node. tfjs-node
 * cannot be installed offline (it downloads libtensorflow), so the advice only misleads: mark the
 * banner as shown.
 */
function silenceTfjsNodeBanner(): void {
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu !== null) cpu.firstUse = false;
}

/**
 * Switch tfjs to `name` and wait until it is ready; registers the attention kernels of every backend.
 * Throws a clear error when the backend is unavailable.
 */
export async function initBackend(name: BackendName): Promise<string> {
  registerAttentionKernels();
  silenceTfjsNodeBanner();
  if (!BACKENDS.includes(name)) {
    throw new Error(`unknown tfjs backend ${JSON.stringify(name)}: expected one of ${BACKENDS.join(', ')}`);
  }
  if (name === 'webgpu') {
    await installDawn();
    tf.env().set('WEBGPU_CPU_FORWARD', false);
  }
  if (name === 'cuda' && tf.findBackendFactory('cuda') === null) {
    // kernel-core cannot import the backend package (it depends on kernel-core); its caller does.
    throw new Error("tfjs backend 'cuda' is not registered: import { registerCudaBackend } from '@sigattn/tfjs-backend-cuda' and call it first");
  }
  const ok = await tf.setBackend(name);
  if (!ok) {
    const hint = name === 'webgpu'
      ? ' (no WebGPU adapter: on a CPU host run tools/setup.sh for Mesa lavapipe ≥ 25; on a GPU host set VK_DRIVER_FILES)'
      : name === 'cuda'
        ? ` (${cudaUnavailableReason() ?? 'the backend factory threw; see the warning above'})`
        : '';
    throw new Error(`tfjs backend '${name}' failed to initialise${hint}`);
  }
  await tf.ready();
  if (name === 'wasm') patchWasmBatchMatMul();
  return tf.getBackend();
}
