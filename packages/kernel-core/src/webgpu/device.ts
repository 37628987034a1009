/// <reference types="@webgpu/types" />
/**
 * A standalone Dawn device for the WebGPU kernels (benchmarks, tests) without tfjs.
 * The flash kernels need more than WebGPU's default 16 KB of workgroup memory, so every limit they
 * depend on is requested at the adapter's maximum.
 */
export interface WebGPUDeviceInfo {
  device: GPUDevice;
  /** Human-readable adapter name (vendor, device, driver description). */
  adapterName: string;
  timestamps: boolean;
}

export const NO_ADAPTER_HINT =
  'no WebGPU adapter: on a CPU host install Mesa lavapipe ≥ 25 (tools/setup.sh); on an NVIDIA host set VK_DRIVER_FILES to nvidia_icd.json';

/**
 * Dawn's GPU object. It must stay referenced for the life of every device made from it: once it is
 * garbage-collected, Dawn's instance is torn down under the device and the process aborts at random
 * (pthread/futex assertions). The flip side (crbug 387965810): Node does not exit while it lives,
 * so entry points end with process.exit.
 */
let gpu: GPU | null = null;

/**
 * The process's one Dawn GPU object, created on first use (which also installs the WebGPU globals
 * such as GPUBufferUsage). The standalone kernels and tfjs's webgpu backend both take it from here.
 */
export async function dawnGpu(): Promise<GPU> {
  if (gpu === null) {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    gpu = create(['backend=vulkan']);
  }
  return gpu;
}

export async function requestWebGPUDevice(): Promise<WebGPUDeviceInfo> {
  const adapter = await (await dawnGpu()).requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) throw new Error(NO_ADAPTER_HINT);
  const l = adapter.limits;
  const timestamps = adapter.features.has('timestamp-query');
  const device = await adapter.requestDevice({
    requiredFeatures: timestamps ? ['timestamp-query'] : [],
    requiredLimits: {
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    },
  });
  const info = adapter.info;
  const adapterName = [info.vendor, info.architecture, info.device, info.description].filter((s) => s !== '').join(' / ');
  return { device, adapterName, timestamps };
}

/** Create a storage buffer holding `data` (f32). */
export function uploadF32(device: GPUDevice, data: Float32Array, extraUsage = 0): GPUBuffer {
  const buf = device.createBuffer({
    size: Math.max(16, data.byteLength),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | extraUsage,
    mappedAtCreation: true,
  });
  new Float32Array(buf.getMappedRange(), 0, data.length).set(data);
  buf.unmap();
  return buf;
}

/** A storage buffer of n f32 filled with NaN, so elements a kernel fails to write stay visible. */
export function poisonedF32(device: GPUDevice, n: number): GPUBuffer {
  return uploadF32(device, new Float32Array(n).fill(Number.NaN));
}

/** Read n f32 back (copies through a staging buffer; submits its own command buffer). */
export async function readF32(device: GPUDevice, buf: GPUBuffer, n: number): Promise<Float32Array> {
  const staging = device.createBuffer({ size: Math.max(16, 4 * n), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buf, 0, staging, 0, 4 * n);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(staging.getMappedRange().slice(0, 4 * n));
  staging.unmap();
  staging.destroy();
  return out;
}
