/** Public surface of the WebGPU attention kernels (re-exported by the package index). */
export { WebGPUAttention, flatDispatch, type ForwardBuffers, type BackwardBuffers } from './host.js';
export { requestWebGPUDevice, uploadF32, poisonedF32, readF32, NO_ADAPTER_HINT, type WebGPUDeviceInfo } from './device.js';
export { registerWebGPUAttentionKernels } from './tfjs-kernels.js';
export { HEAD_DIMS, type HeadDim } from './common.wgsl.js';
