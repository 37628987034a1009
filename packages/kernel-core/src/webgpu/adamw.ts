/// <reference types="@webgpu/types" />
/**
 * ADAMW_UPDATE on the tfjs 'webgpu' backend: one WGSL dispatch per parameter that reads w, g, m, v and
 * writes w', m', v' (tfjs' own programs have one output, so the update would otherwise be ~15 programs,
 * each with its bind group and uniform write). Unlike the attention kernels (tfjs-kernels.ts), which
 * submit after each call, this one dispatches into the backend's open compute pass (tfjs-pass.ts) and
 * follows tfjs' own submit rule (WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE dispatches per submit): a ViT step
 * runs it 104 times, and a submit each time would cost more than the dispatches saved.
 */
import * as tf from '@tensorflow/tfjs';
import { ADAMW_UPDATE, type AdamWAttrs } from '../tfjs/adamw-names.js';
import { adamwConstants, adamwInputs } from '../tfjs/kernels/adamw-update.js';
import { FLAT_MAIN_WGSL } from './common.wgsl.js';
import { flatDispatch } from './host.js';
import { compiledKernel, dispatchInPass, emptyOutput, tensorBuffer, type WebGPUBackendInternals } from './tfjs-pass.js';

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

export const adamwWebGPUConfig: tf.KernelConfig = {
  kernelName: ADAMW_UPDATE,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const be = backend as unknown as WebGPUBackendInternals;
    const ins = adamwInputs(inputs, 'webgpu');
    const c = adamwConstants(attrs as unknown as AdamWAttrs);
    const shape = [...ins.param.shape];
    const n = tf.util.sizeFromShape(shape);
    if (n === 0) return [0, 1, 2].map(() => emptyOutput(be, shape));
    const outs = [0, 1, 2].map(() => be.makeTensorInfo(shape, 'float32'));
    const names = ['param', 'grad', 'm', 'v', 'newParam', 'newM', 'newV'];
    const tensors = [ins.param, ins.grad, ins.m, ins.v, ...outs].map((info, i) => ({ info, buffer: tensorBuffer(be, info, 'adamw', names[i]) }));
    const uniforms = [
      { type: 'uint32' as const, data: [n] }, { type: 'uint32' as const, data: [c.decay ? 1 : 0] },
      ...[c.lr, c.beta1, c.oneMinusBeta1, c.beta2, c.oneMinusBeta2, c.eps, c.bc1, c.bc2, c.weightDecay].map((x) => ({ type: 'float32' as const, data: [x] })),
    ];
    dispatchInPass(be, compiledKernel(be.device, ADAMW_UPDATE, () => ADAMW_WGSL), ADAMW_UPDATE, tensors, uniforms, flatDispatch(n));
    return outs;
  },
};
