/// <reference types="@webgpu/types" />
/**
 * ADAMW_UPDATE on the tfjs 'webgpu' backend: one WGSL dispatch per parameter that reads w, g, m, v and
 * writes w', m', v' (tfjs' own programs have one output, so the update would otherwise be ~15 programs,
 * each with its bind group and uniform write). Unlike the attention kernels (tfjs-kernels.ts), which
 * submit after each call, this one dispatches into the backend's open compute pass and follows tfjs'
 * own submit rule (WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE dispatches per submit): a ViT step runs it 104
 * times, and a submit each time would cost more than the dispatches saved.
 */
import * as tf from '@tensorflow/tfjs';
import { ADAMW_UPDATE, type AdamWAttrs } from '../tfjs/adamw-names.js';
import { adamwConstants, adamwInputs } from '../tfjs/kernels/adamw-update.js';
import { FLAT_MAIN_WGSL } from './common.wgsl.js';
import { flatDispatch } from './host.js';

/** The update, operation for operation and in the order of adamw-names.ts (the GPU compiler may fuse a multiply and an add into an fma). */
const ADAMW_WGSL = /* wgsl */ `
struct Params {
  n : u32,
  decay : u32,
  lr : f32,
  beta1 : f32,
  oneMinusBeta1 : f32,
  beta2 : f32,
  oneMinusBeta2 : f32,
  eps : f32,
  bc1 : f32,
  bc2 : f32,
  weightDecay : f32,
}
@group(0) @binding(0) var<storage, read> param : array<f32>;
@group(0) @binding(1) var<storage, read> grad : array<f32>;
@group(0) @binding(2) var<storage, read> m : array<f32>;
@group(0) @binding(3) var<storage, read> v : array<f32>;
@group(0) @binding(4) var<storage, read_write> newParam : array<f32>;
@group(0) @binding(5) var<storage, read_write> newM : array<f32>;
@group(0) @binding(6) var<storage, read_write> newV : array<f32>;
@group(0) @binding(7) var<uniform> P : Params;
${FLAT_MAIN_WGSL}
  if (idx >= P.n) { return; }
  let g = grad[idx];
  let w = param[idx];
  let m1 = m[idx] * P.beta1 + g * P.oneMinusBeta1;
  let gg = g * g;
  let v1 = v[idx] * P.beta2 + gg * P.oneMinusBeta2;
  let mHat = m1 / P.bc1;
  let vHat = v1 / P.bc2;
  let den = sqrt(vHat) + P.eps;
  var u = mHat / den;
  if (P.decay != 0u) { u = u + w * P.weightDecay; }
  newParam[idx] = w - u * P.lr;
  newM[idx] = m1;
  newV[idx] = v1;
}
`;

/** The backend fields used here; `computePassEncoder`, `commandEncoder` and the rest are private in the typings but stable in 4.22. */
interface BackendInternals {
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
  makeTensorInfo(shape: number[], dtype: 'float32'): tf.TensorInfo;
  makeUniforms(uniforms: { type: 'float32' | 'uint32'; data: number[] }[]): GPUBufferBinding;
}

interface Compiled { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }

const compiled = new WeakMap<GPUDevice, Compiled>();

function compiledFor(device: GPUDevice): Compiled {
  let c = compiled.get(device);
  if (c === undefined) {
    const module = device.createShaderModule({ code: ADAMW_WGSL, label: ADAMW_UPDATE });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: ADAMW_UPDATE });
    c = { pipeline, layout: pipeline.getBindGroupLayout(0) };
    compiled.set(device, c);
  }
  return c;
}

function gpuBuffer(be: BackendInternals, t: tf.TensorInfo, name: string): GPUBuffer {
  be.uploadToGPU(t.dataId);
  const res = be.tensorMap.get(t.dataId).resource;
  if (res === undefined || !('mapAsync' in (res as object))) {
    throw new Error(`adamw (webgpu): ${name} is not held in a GPUBuffer (texture-backed tensors are not supported); pass a plain float32 tensor`);
  }
  return res as GPUBuffer;
}

export const adamwWebGPUConfig: tf.KernelConfig = {
  kernelName: ADAMW_UPDATE,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const be = backend as unknown as BackendInternals;
    const ins = adamwInputs(inputs, 'webgpu');
    const c = adamwConstants(attrs as unknown as AdamWAttrs);
    const shape = [...ins.param.shape];
    const outs = [0, 1, 2].map(() => be.makeTensorInfo(shape, 'float32'));
    const n = tf.util.sizeFromShape(shape);
    if (n === 0) {
      // As tfjs' runWebGPUProgram does for an empty output: CPU values, no buffer, no dispatch.
      for (const t of outs) be.tensorMap.get(t.dataId).values = new Float32Array(0);
      return outs;
    }
    const tensors = [ins.param, ins.grad, ins.m, ins.v, ...outs];
    const names = ['param', 'grad', 'm', 'v', 'newParam', 'newM', 'newV'];
    const entries: GPUBindGroupEntry[] = tensors.map((t, i) => ({ binding: i, resource: { buffer: gpuBuffer(be, t, names[i]) } }));
    entries.push({
      binding: 7,
      resource: be.makeUniforms([
        { type: 'uint32', data: [n] }, { type: 'uint32', data: [c.decay ? 1 : 0] },
        ...[c.lr, c.beta1, c.oneMinusBeta1, c.beta2, c.oneMinusBeta2, c.eps, c.bc1, c.bc2, c.weightDecay].map((x) => ({ type: 'float32' as const, data: [x] })),
      ]),
    });
    const { pipeline, layout } = compiledFor(be.device);
    const bindGroup = be.device.createBindGroup({ layout, entries, label: ADAMW_UPDATE });
    // After uploadToGPU: an upload's copy ends the open pass, so the pass is (re)opened only now.
    be.ensureCommandEncoderReady();
    be.computePassEncoder ??= (be.commandEncoder as GPUCommandEncoder).beginComputePass();
    be.computePassEncoder.setPipeline(pipeline);
    be.computePassEncoder.setBindGroup(0, bindGroup);
    be.computePassEncoder.dispatchWorkgroups(...flatDispatch(n));
    for (const t of tensors) be.commandQueueOwnedIds.add(t.dataId);
    be.dispatchCountInPass++;
    if (be.activeTimers != null || be.dispatchCountInPass >= (tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number)) {
      be.endComputePassEncoder();
      be.submitQueue();
    }
    return outs;
  },
};
