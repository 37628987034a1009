/** Public surface of the WebGPU attention kernels (re-exported by the package index). */
export {
  WebGPUAttention, flatDispatch, parseTileOverrides, defaultTilePlan, FLASH_KERNELS,
  type ForwardBuffers, type BackwardBuffers, type FlashKernelName, type TileOverrides, type WebGPUAttentionOptions,
} from './host.js';
export { requestWebGPUDevice, uploadF32, poisonedF32, readF32, NO_ADAPTER_HINT, type WebGPUDeviceInfo } from './device.js';
export { registerWebGPUAttentionKernels } from './tfjs-kernels.js';
export { HEAD_DIMS, type HeadDim, type TilePlan } from './common.wgsl.js';
export { runWebGPUCase, checkWebGPUCase, type AttentionOutputs, type WebGPUCheck } from './check.js';
