/**
 * Test helper (not a test file) for the fused ops' WGSL kernels on the tfjs webgpu backend: the adapter
 * check, running a kernel with its outputs in NaN-poisoned buffers, and a spy on the compute passes'
 * dispatches.
 */
import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { requestWebGPUDevice } from '../src/index.js';

/**
 * '' when a WebGPU adapter is there, else why not. No adapter throws (failing the file) unless
 * SIGATTN_ALLOW_NO_WEBGPU=1, when the reason is printed and returned so the file can skip its suites.
 */
export async function webgpuMissingReason(): Promise<string> {
  try {
    (await requestWebGPUDevice()).device.destroy();
    return '';
  } catch (e) {
    const reason = (e as Error).message;
    if (process.env.SIGATTN_ALLOW_NO_WEBGPU !== '1') throw new Error(`WebGPU tests need an adapter: ${reason} (set SIGATTN_ALLOW_NO_WEBGPU=1 to skip)`);
    console.warn(`webgpu tests skipped: ${reason}`);
    return reason;
  }
}

interface WebGPUInternals { uploadToGPU(id: tf.DataId): void; tensorMap: { get(id: tf.DataId): { resource?: unknown } } }

/** Moves the tensors' data to the GPU now (the current backend must be webgpu). */
export function uploadToGPU(tensors: readonly tf.Tensor[]): void {
  const be = tf.backend() as unknown as WebGPUInternals;
  for (const t of tensors) be.uploadToGPU(t.dataId);
}

/**
 * Run `kernel` on webgpu with its outputs in NaN-poisoned buffers, so an unwritten element fails: the
 * inputs go to the GPU first, then NaN tensors of the outputs' sizes are filled and freed last, so the
 * buffer pool (LIFO per size) hands them to the outputs; the test checks that it did.
 */
export async function runPoisoned(kernel: string, inputs: Record<string, tf.Tensor>, attrs: object, outShapes: number[][]): Promise<Float32Array[]> {
  const be = tf.backend() as unknown as WebGPUInternals;
  const resource = (t: tf.TensorInfo) => be.tensorMap.get(t.dataId).resource;
  uploadToGPU(Object.values(inputs));
  const poison = outShapes.map((s) => tf.fill(s, NaN));
  for (const p of poison) expect((await p.data()).every(Number.isNaN)).toBe(true);
  const poisoned = new Set(poison.map(resource));
  tf.dispose(poison);
  const result = tf.engine().runKernel(kernel, inputs, attrs as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
  const outs = Array.isArray(result) ? result : [result];
  expect(outs.map((t) => poisoned.has(resource(t))), `${kernel}: the outputs were not placed in the poisoned buffers`).toEqual(outs.map(() => true));
  const values = await Promise.all(outs.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose(outs);
  return values;
}

/**
 * Records the pipeline label of every compute dispatch from now until restore().
 */
export function spyOnDispatches(): { dispatched: string[]; restore(): void } {
  const pass = (globalThis as unknown as { GPUComputePassEncoder: { prototype: GPUComputePassEncoder } }).GPUComputePassEncoder.prototype;
  const [setPipeline, dispatch] = [pass.setPipeline, pass.dispatchWorkgroups];
  const dispatched: string[] = [];
  let current = '';
  pass.setPipeline = function (this: GPUComputePassEncoder, p: GPUComputePipeline) { current = p.label; return setPipeline.call(this, p); };
  pass.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...args: Parameters<GPUComputePassEncoder['dispatchWorkgroups']>) {
    dispatched.push(current);
    return dispatch.apply(this, args);
  };
  return {
    dispatched,
    restore: () => {
      pass.setPipeline = setPipeline;
      pass.dispatchWorkgroups = dispatch;
    },
  };
}
