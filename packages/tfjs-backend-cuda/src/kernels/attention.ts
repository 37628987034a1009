/**
 * The fused attention op (kernel-core's SigattnAttention / SigattnAttentionGrad contract) on kernel-core's
 * CUDA flash kernels. Those take bf16 q/k/v with fp32 accumulation; the op's tensors are float32, so the
 * inputs are rounded to bf16 on the device (as mixed-precision training does), the output is widened back,
 * and the backward accumulates dq/dk/dv in fp32 straight into the float32 outputs.
 *
 * Coverage is the kernels': sigmoid and softmax at the head dims of CUDA_HEAD_DIMS (32, 64, 128);
 * attention() runs the composed tfjs ops for every other spec (cudaAttentionUnsupportedReason).
 */
import type * as tf from '@tensorflow/tfjs';
import {
  ATTENTION_BWD, ATTENTION_FWD, CUDA_HEAD_DIMS, CUDA_KINDS, CudaFlashAttention, DeviceTensor, resolvedFromAttrs,
  type AttentionAttrs, type AttentionSpec, type CuPtr, type ResolvedAttention,
} from '@sigattn/kernel-core';
import type { CudaBackend } from '../backend.js';
import type { CudaDevice } from '../device.js';
import { KernelParams } from '../params.js';
import { cuda, sizeOf } from './util.js';

export function cudaAttentionUnsupportedReason(r: ResolvedAttention): string | null {
  if (!(CUDA_KINDS as readonly string[]).includes(r.kind)) return `kind '${r.kind}'; the CUDA kernels cover ${CUDA_KINDS.join(', ')}`;
  if (!(CUDA_HEAD_DIMS as readonly number[]).includes(r.D)) return `head dim ${r.D}; the CUDA kernels cover D ∈ {${CUDA_HEAD_DIMS.join(', ')}}`;
  if (r.scale === 0) return 'scale 0 (the kernels fold the bias as bias/scale)';
  return null;
}

const hosts = new WeakMap<CudaDevice, CudaFlashAttention>();

function flash(device: CudaDevice): CudaFlashAttention {
  let h = hosts.get(device);
  if (h === undefined) {
    h = new CudaFlashAttention(device.driver);
    hosts.set(device, h);
  }
  return h;
}

function specOf(r: ResolvedAttention): AttentionSpec {
  return {
    kind: r.kind,
    scale: r.scale,
    causal: r.causal,
    ...(r.kind === 'softmax' ? {} : { bias: r.bias }),
    ...(r.alibiSlopes ? { alibiSlopes: r.alibiSlopes } : {}),
    ...(r.keyLengths ? { keyLengths: r.keyLengths } : {}),
  };
}

/** Device scratch that lives until `release()`; the allocator reuses it for the next op. */
class Scratch {
  private readonly ptrs: CuPtr[] = [];
  constructor(private readonly be: CudaBackend) {}

  alloc(bytes: number): CuPtr {
    const p = this.be.device.alloc(bytes);
    this.ptrs.push(p);
    return p;
  }

  /** A bf16 copy of a float32 tensor. */
  bf16(t: tf.TensorInfo): DeviceTensor {
    const n = sizeOf(t.shape);
    const ptr = this.alloc(n * 2);
    this.be.device.launch1d('attention_glue', 'cast_f32_bf16', n, new KernelParams().ptr(ptr).ptr(this.be.ptr(t)).i64(n).bytes());
    return DeviceTensor.wrap(this.be.device.driver, ptr, 'bf16', t.shape);
  }

  release(): void {
    // Stream order makes this safe: later work that reuses the blocks queues after the kernels reading them.
    for (const p of this.ptrs) this.be.device.release(p);
  }
}

function statsKernel(be: CudaBackend, name: 'stats_from_lse' | 'lse_from_stats', stats: CuPtr, lse: CuPtr, rows: number, hasLse: boolean): void {
  be.device.launch1d('attention_glue', name, rows, new KernelParams().ptr(stats).ptr(lse).i64(rows).i32(hasLse ? 1 : 0).bytes());
}

const attentionFwd: tf.KernelConfig = {
  kernelName: ATTENTION_FWD,
  backendName: 'cuda',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const be = cuda(backend);
    const { q, k, v } = inputs as Record<'q' | 'k' | 'v', tf.TensorInfo>;
    const r = resolvedFromAttrs(q.shape, k.shape, attrs as unknown as AttentionAttrs);
    const rows = r.B * r.H * r.Nq;
    const o = be.makeTensorInfo([...q.shape], 'float32');
    const stats = be.makeTensorInfo([r.B, r.H, r.Nq, 2], 'float32');
    const s = new Scratch(be);
    try {
      const o16 = DeviceTensor.wrap(be.device.driver, s.alloc(sizeOf(q.shape) * 2), 'bf16', q.shape);
      const lse = r.kind === 'softmax' ? DeviceTensor.wrap(be.device.driver, s.alloc(rows * 4), 'f32', [r.B, r.H, r.Nq]) : undefined;
      const [q16, k16, v16] = [s.bf16(q), s.bf16(k), s.bf16(v)];
      be.device.span(`flash_${r.kind}_fwd_d${r.D}`, () => flash(be.device).forward(q16, k16, v16, specOf(r), { out: o16, lse, stream: be.device.stream }));
      const n = sizeOf(q.shape);
      be.device.launch1d('attention_glue', 'cast_bf16_f32', n, new KernelParams().ptr(be.ptr(o)).ptr(o16.ptr).i64(n).bytes());
      statsKernel(be, 'stats_from_lse', be.ptr(stats), lse?.ptr ?? 0n, rows, lse !== undefined);
    } finally {
      s.release();
    }
    return [o, stats];
  },
};

const attentionBwd: tf.KernelConfig = {
  kernelName: ATTENTION_BWD,
  backendName: 'cuda',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const be = cuda(backend);
    const t = inputs as Record<'q' | 'k' | 'v' | 'o' | 'stats' | 'dy', tf.TensorInfo>;
    const r = resolvedFromAttrs(t.q.shape, t.k.shape, attrs as unknown as AttentionAttrs);
    const rows = r.B * r.H * r.Nq;
    const driver = be.device.driver;
    const grads = {
      dq: be.makeTensorInfo([...t.q.shape], 'float32'),
      dk: be.makeTensorInfo([...t.k.shape], 'float32'),
      dv: be.makeTensorInfo([...t.v.shape], 'float32'),
    };
    const s = new Scratch(be);
    try {
      let lse: DeviceTensor | undefined;
      if (r.kind === 'softmax') {
        lse = DeviceTensor.wrap(driver, s.alloc(rows * 4), 'f32', [r.B, r.H, r.Nq]);
        statsKernel(be, 'lse_from_stats', be.ptr(t.stats), lse.ptr, rows, true);
      }
      const f32 = (x: tf.TensorInfo) => DeviceTensor.wrap(driver, be.ptr(x), 'f32', x.shape);
      const [q16, k16, v16, dy16] = [s.bf16(t.q), s.bf16(t.k), s.bf16(t.v), s.bf16(t.dy)];
      const o16 = r.kind === 'softmax' ? s.bf16(t.o) : undefined;
      be.device.span(`flash_${r.kind}_bwd_d${r.D}`, () => flash(be.device).backward(q16, k16, v16, dy16, specOf(r), {
        o: o16,
        lse,
        stream: be.device.stream,
        f32Grads: { dq: f32(grads.dq), dk: f32(grads.dk), dv: f32(grads.dv) },
      }));
    } finally {
      s.release();
    }
    return [grads.dq, grads.dk, grads.dv];
  },
};

export const attentionKernels: tf.KernelConfig[] = [attentionFwd, attentionBwd];
