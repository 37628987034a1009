/** kernel-core's fused AdamW updates on cuda: SigattnAdamW (one parameter per launch) and SigattnAdamWMulti (40 per launch). */
import type * as tf from '@tensorflow/tfjs';
import { ADAMW_UPDATE, ADAMW_UPDATE_MULTI, type AdamWAttrs, type AdamWMultiAttrs } from '@sigattn/kernel-core';
import { BLOCK } from '../device.js';
import { KernelParams } from '../params.js';
import { cuda, sizeOf } from './util.js';

const adamw: tf.KernelConfig = {
  kernelName: ADAMW_UPDATE,
  backendName: 'cuda',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const be = cuda(backend);
    const { param, grad, m, v } = inputs as Record<'param' | 'grad' | 'm' | 'v', tf.TensorInfo>;
    const a = attrs as unknown as AdamWAttrs;
    const n = sizeOf(param.shape);
    const outs = [param, m, v].map((t) => be.makeTensorInfo([...t.shape], 'float32'));
    // (1 − β) is rounded to float32 once on the host, as the composed ops' scalar tensors are.
    const params = new KernelParams()
      .ptr(be.ptr(outs[0])).ptr(be.ptr(outs[1])).ptr(be.ptr(outs[2]))
      .ptr(be.ptr(param)).ptr(be.ptr(grad)).ptr(be.ptr(m)).ptr(be.ptr(v))
      .i64(n)
      .f32(a.beta1).f32(1 - a.beta1).f32(a.beta2).f32(1 - a.beta2).f32(a.eps)
      .f32(a.biasCorrection1).f32(a.biasCorrection2).f32(a.lr).f32(a.weightDecay);
    be.device.launch1d('optimizer', 'adamw_f32', n, params.bytes());
    return outs;
  },
};

/** Parameters per launch of adamw_multi_f32 (ADAMW_CHUNK in optimizer.cu: its struct must fit in 4 KiB). */
const ADAMW_CHUNK = 40;

const adamwMulti: tf.KernelConfig = {
  kernelName: ADAMW_UPDATE_MULTI,
  backendName: 'cuda',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const be = cuda(backend);
    const a = attrs as unknown as AdamWMultiAttrs;
    const named = inputs as Record<string, tf.TensorInfo>;
    const outs: tf.TensorInfo[] = [];
    for (let start = 0; start < a.count; start += ADAMW_CHUNK) {
      const idx = Array.from({ length: Math.min(ADAMW_CHUNK, a.count - start) }, (_, j) => start + j);
      const io = idx.map((i) => {
        const param = named[`param${i}`];
        const o = [0, 1, 2].map(() => be.makeTensorInfo([...param.shape], 'float32'));
        outs.push(...o);
        return { o, param, grad: named[`grad${i}`], m: named[`m${i}`], v: named[`v${i}`], n: sizeOf(param.shape), wd: a.weightDecays[i] };
      });
      const p = new KernelParams();
      const ptrs = (pick: (e: (typeof io)[number]) => bigint) => {
        for (let j = 0; j < ADAMW_CHUNK; j++) p.ptr(j < io.length ? pick(io[j]) : 0n);
      };
      ptrs((e) => be.ptr(e.o[0]));
      ptrs((e) => be.ptr(e.o[1]));
      ptrs((e) => be.ptr(e.o[2]));
      ptrs((e) => be.ptr(e.param));
      ptrs((e) => be.ptr(e.grad));
      ptrs((e) => be.ptr(e.m));
      ptrs((e) => be.ptr(e.v));
      p.i64s(io.map((e) => e.n), ADAMW_CHUNK);
      for (let j = 0; j < ADAMW_CHUNK; j++) p.f32(j < io.length ? io[j].wd : 0);
      p.f32(a.beta1).f32(1 - a.beta1).f32(a.beta2).f32(1 - a.beta2).f32(a.eps).f32(a.biasCorrection1).f32(a.biasCorrection2).f32(a.lr);
      const maxN = Math.max(...io.map((e) => e.n));
      if (maxN > 0) be.device.launch('optimizer', 'adamw_multi_f32', [Math.min(Math.ceil(maxN / BLOCK), 1024), io.length], BLOCK, p.bytes());
    }
    return outs;
  },
};

export const optimizerKernels: tf.KernelConfig[] = [adamw, adamwMulti];
