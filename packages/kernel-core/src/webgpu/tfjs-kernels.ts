/// <reference types="@webgpu/types" />
/**
 * The tfjs 'webgpu' kernels of the attention contract (tfjs/kernel-names.ts). tfjs' generated
 * `runWebGPUProgram` shaders (one output, index-based main) cannot express the tiled kernels, so
 * these take the GPUBuffers of the backend's own tensors (tensorMap → resource) and record the
 * flash dispatches into the backend's command encoder on its device: no copies through the CPU.
 * Registration (src/tfjs/register.ts) only stores functions, so it is safe before the webgpu backend
 * exists.
 */
import * as tf from '@tensorflow/tfjs';
import { ATTENTION_BWD, ATTENTION_FWD, type AttentionAttrs } from '../tfjs/kernel-names.js';
import { resolvedFromAttrs } from '../tfjs/attrs.js';
import { WebGPUAttention } from './host.js';
import type { ResolvedAttention } from '../spec.js';
import { HEAD_DIMS, type HeadDim } from './common.wgsl.js';
import { WEBGPU_KINDS, type WebGPUKind } from './host.js';

/** The backend fields used here; `commandEncoder` is private in the typings but stable in 4.22. */
interface BackendInternals {
  device: GPUDevice;
  tensorMap: { get(id: tf.DataId): { resource?: unknown } };
  commandEncoder: GPUCommandEncoder | null;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  uploadToGPU(id: tf.DataId): void;
  makeTensorInfo(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

const hosts = new WeakMap<GPUDevice, WebGPUAttention>();

function hostFor(device: GPUDevice): WebGPUAttention {
  let h = hosts.get(device);
  if (h === undefined) {
    h = new WebGPUAttention(device);
    hosts.set(device, h);
  }
  return h;
}

function gpuBuffer(be: BackendInternals, t: tf.TensorInfo, name: string): GPUBuffer {
  if (t.dtype !== 'float32') throw new Error(`attention (webgpu): ${name} must be float32, got ${t.dtype}`);
  be.uploadToGPU(t.dataId);
  const res = be.tensorMap.get(t.dataId).resource;
  if (res === undefined || !('mapAsync' in (res as object))) {
    throw new Error(`attention (webgpu): ${name} is not held in a GPUBuffer (texture-backed tensors are not supported); pass a plain float32 tensor`);
  }
  return res as GPUBuffer;
}

/** Record into the backend's encoder (after its pending copies), then submit like tfjs kernels do. */
function record(be: BackendInternals, f: (enc: GPUCommandEncoder) => void): void {
  be.ensureCommandEncoderReady();
  be.endComputePassEncoder();
  f(be.commandEncoder as GPUCommandEncoder);
  be.submitQueue();
}

/**
 * Which specs the WGSL kernels cover (null = all of it); for the others `attention()` runs the composed
 * tfjs ops on the webgpu backend (src/tfjs/kernel-support.ts).
 */
export function webgpuUnsupportedReason(r: ResolvedAttention): string | null {
  if (!WEBGPU_KINDS.includes(r.kind as WebGPUKind)) return `kind '${r.kind}'; the WGSL kernels cover ${WEBGPU_KINDS.join(', ')}`;
  if (!HEAD_DIMS.includes(r.D as HeadDim)) return `head dim ${r.D}; the WGSL kernels cover D ∈ {${HEAD_DIMS.join(', ')}}`;
  return null;
}

export const attentionFwdWebGPUConfig: tf.KernelConfig = {
  kernelName: ATTENTION_FWD,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const be = backend as unknown as BackendInternals;
    const { q, k, v } = inputs as { q: tf.TensorInfo; k: tf.TensorInfo; v: tf.TensorInfo };
    const r = resolvedFromAttrs(q.shape, k.shape, attrs as unknown as AttentionAttrs);
    const o = be.makeTensorInfo([...q.shape], 'float32');
    const stats = be.makeTensorInfo([r.B, r.H, r.Nq, 2], 'float32');
    const bufs = {
      q: gpuBuffer(be, q, 'q'), k: gpuBuffer(be, k, 'k'), v: gpuBuffer(be, v, 'v'),
      o: gpuBuffer(be, o, 'o'), stats: gpuBuffer(be, stats, 'stats'),
    };
    record(be, (enc) => hostFor(be.device).forward(enc, r, bufs));
    return [o, stats];
  },
};

export const attentionBwdWebGPUConfig: tf.KernelConfig = {
  kernelName: ATTENTION_BWD,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const be = backend as unknown as BackendInternals;
    const t = inputs as Record<'q' | 'k' | 'v' | 'o' | 'stats' | 'dy', tf.TensorInfo>;
    const r = resolvedFromAttrs(t.q.shape, t.k.shape, attrs as unknown as AttentionAttrs);
    const dq = be.makeTensorInfo([...t.q.shape], 'float32');
    const dk = be.makeTensorInfo([...t.k.shape], 'float32');
    const dv = be.makeTensorInfo([...t.v.shape], 'float32');
    const bufs = {
      q: gpuBuffer(be, t.q, 'q'), k: gpuBuffer(be, t.k, 'k'), v: gpuBuffer(be, t.v, 'v'),
      o: gpuBuffer(be, t.o, 'o'), stats: gpuBuffer(be, t.stats, 'stats'), dO: gpuBuffer(be, t.dy, 'dy'),
      dq: gpuBuffer(be, dq, 'dq'), dk: gpuBuffer(be, dk, 'dk'), dv: gpuBuffer(be, dv, 'dv'),
    };
    record(be, (enc) => hostFor(be.device).backward(enc, r, bufs));
    return [dq, dk, dv];
  },
};
