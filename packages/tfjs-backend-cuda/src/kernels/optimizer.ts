/** kernel-core's fused AdamW update (SigattnAdamW) on cuda: one launch writes the new weights and moments. */
import type * as tf from '@tensorflow/tfjs';
import { KernelParams } from '../params.js';
import { cuda, sizeOf } from './util.js';

/** kernel-core's ADAMW_UPDATE contract. */
const ADAMW_UPDATE = 'SigattnAdamW';

interface AdamWAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  biasCorrection1: number;
  biasCorrection2: number;
}

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

export const optimizerKernels: tf.KernelConfig[] = [adamw];
