/** Public surface of the WebGPU attention kernels (re-exported by the package index). */
export {
  WebGPUAttention, flatDispatch, parseTileOverrides, defaultTilePlan, FLASH_KERNELS, WEBGPU_KINDS,
  type ForwardBuffers, type BackwardBuffers, type FlashKernelName, type TileOverrides, type WebGPUAttentionOptions, type WebGPUKind,
} from './host.js';
export { requestWebGPUDevice, uploadF32, poisonedF32, readF32, NO_ADAPTER_HINT, type WebGPUDeviceInfo } from './device.js';
export { HEAD_DIMS, type HeadDim, type TilePlan } from './common.wgsl.js';
