/// <reference types="@webgpu/types" />
/**
 * Dispatching a WGSL kernel into tfjs-webgpu's open compute pass, as tfjs' own programs are recorded
 * (the fused norm, activation and AdamW kernels). The dispatch joins the backend's batch: tfjs ends
 * the pass and submits after WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE dispatches, or after every one while
 * tf.profile / tf.time runs, and every tensor a dispatch reads or writes is marked as owned by the
 * unsubmitted commands, so its disposal waits for the submit.
 */
import * as tf from '@tensorflow/tfjs';

/** The backend fields used here; `computePassEncoder`, `commandEncoder` and the rest are private in the typings but stable in 4.22. */
export interface WebGPUBackendInternals {
  device: GPUDevice;
  tensorMap: { get(id: tf.DataId): { resource?: unknown; values?: unknown } };
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  dispatchCountInPass: number;
  /** Tensors the unsubmitted commands use: their disposal waits for the submit (tfjs does this for its programs). */
  commandQueueOwnedIds: WeakSet<tf.DataId>;
  /** Set while tf.profile / tf.time runs; tfjs then ends the pass after every program. */
  activeTimers: unknown[] | null | undefined;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  uploadToGPU(id: tf.DataId): void;
  disposeData(id: tf.DataId): boolean;
  makeTensorInfo(shape: number[], dtype: 'float32'): tf.TensorInfo;
  makeUniforms(uniforms: { type: 'float32' | 'uint32'; data: number[] }[]): GPUBufferBinding;
}

export interface CompiledKernel { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }

const compiled = new WeakMap<GPUDevice, Map<string, CompiledKernel>>();

/** The pipeline of `code` on this device, compiled on first use and cached by `key`. */
export function compiledKernel(device: GPUDevice, key: string, code: () => string): CompiledKernel {
  let perDevice = compiled.get(device);
  if (perDevice === undefined) compiled.set(device, (perDevice = new Map()));
  let c = perDevice.get(key);
  if (c === undefined) {
    const module = device.createShaderModule({ code: code(), label: key });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key });
    c = { pipeline, layout: pipeline.getBindGroupLayout(0) };
    perDevice.set(key, c);
  }
  return c;
}

/** The GPUBuffer holding a tensor (uploaded first if its values are still on the CPU). */
export function tensorBuffer(be: WebGPUBackendInternals, t: tf.TensorInfo, op: string, name: string): GPUBuffer {
  be.uploadToGPU(t.dataId);
  const res = be.tensorMap.get(t.dataId).resource;
  if (res === undefined || res === null || !('mapAsync' in (res as object))) {
    throw new Error(`${op} (webgpu): ${name} is not held in a GPUBuffer (texture-backed tensors are not supported); pass a plain float32 tensor`);
  }
  return res as GPUBuffer;
}

/** Workgroups for `groups` along x, spilling into y past the per-dimension limit; shaders take wg.x + wg.y·nwg.x. */
export function spreadGroups(groups: number): [number, number] {
  const n = Math.max(1, groups);
  const x = Math.min(n, 65535);
  return [x, Math.ceil(n / x)];
}

/**
 * Record one dispatch of `kernel` into the backend's compute pass. `tensors` are bound in order at
 * bindings 0…, `uniforms` (if any) after them. Call after every tensorBuffer() of the op: an upload's
 * copy ends the open pass, so the pass is (re)opened here.
 */
export function dispatchInPass(be: WebGPUBackendInternals, kernel: CompiledKernel, label: string, tensors: { info: tf.TensorInfo; buffer: GPUBuffer }[],
  uniforms: { type: 'float32' | 'uint32'; data: number[] }[], grid: [number, number] | [number, number, number]): void {
  const entries: GPUBindGroupEntry[] = tensors.map((t, i) => ({ binding: i, resource: { buffer: t.buffer } }));
  if (uniforms.length > 0) entries.push({ binding: tensors.length, resource: be.makeUniforms(uniforms) });
  const bindGroup = be.device.createBindGroup({ layout: kernel.layout, entries, label });
  be.ensureCommandEncoderReady();
  be.computePassEncoder ??= (be.commandEncoder as GPUCommandEncoder).beginComputePass();
  be.computePassEncoder.setPipeline(kernel.pipeline);
  be.computePassEncoder.setBindGroup(0, bindGroup);
  be.computePassEncoder.dispatchWorkgroups(grid[0], grid[1], grid[2] ?? 1);
  for (const t of tensors) be.commandQueueOwnedIds.add(t.info.dataId);
  be.dispatchCountInPass++;
  if (be.activeTimers != null || be.dispatchCountInPass >= (tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number)) {
    be.endComputePassEncoder();
    be.submitQueue();
  }
}

/** An output with no elements: as tfjs' runWebGPUProgram does, CPU values and no buffer (nothing is dispatched). */
export function emptyOutput(be: WebGPUBackendInternals, shape: number[]): tf.TensorInfo {
  const t = be.makeTensorInfo(shape, 'float32');
  be.tensorMap.get(t.dataId).values = new Float32Array(0);
  return t;
}
