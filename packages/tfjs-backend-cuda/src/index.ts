/**
 * `@sigattn/tfjs-backend-cuda`: the tfjs `cuda` backend (CUDA driver API through koffi, kernels built by
 * nvcc ahead of time) and the inventory of kernels a zoo training step needs. Importing registers
 * nothing; call registerCudaBackend(), then initBackend('cuda') (kernel-core) or tf.setBackend('cuda').
 */
export { registerCudaBackend, nativeCudaKernels, CUDA_BACKEND } from './register.js';
export { CudaBackend } from './backend.js';
export { CudaDevice, BACKEND_CUDA_SOURCES, BACKEND_CUDA_SOURCE_DIR, backendBuildDir } from './device.js';
export { fallbackCounts, resetFallbackCounts } from './fallback.js';
export { recordKernelInventory, type KernelInventory, type KernelUse } from './inventory.js';
export { matmulImpl, setMatmulMode, type MatmulMode, type MatmulImpl } from './kernels/matmul.js';
