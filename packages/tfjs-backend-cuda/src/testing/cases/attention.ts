/**
 * The fused attention op (kernel-core's attention()) at head dims the CUDA flash kernels cover, so cuda
 * runs them rather than the composed ops. The cuda path rounds q/k/v/dO to bf16 (8-bit mantissa): with
 * |x| ≤ 1 inputs and N ≤ 80 keys, outputs and gradients stay within 2e-2 of the float32 reference
 * (scaled by 1 + |value|); a wrong mask, bias or layout is off by far more.
 */
import type * as tf from '@tensorflow/tfjs';
import { attention, type AttentionSpec } from '@sigattn/kernel-core';
import type { OpCase } from '../op-check.js';

const TOL = 2e-2;

function attentionCase(name: string, q: number[], k: number[], spec: AttentionSpec): OpCase {
  return {
    name: `attention ${name}`,
    kernels: ['SigattnAttention', 'SigattnAttentionGrad'],
    inputs: [{ shape: q, range: [-1, 1] }, { shape: k, range: [-1, 1] }, { shape: k, range: [-1, 1] }],
    run: (qt, kt, vt) => attention(qt as tf.Tensor4D, kt as tf.Tensor4D, vt as tf.Tensor4D, spec),
    grad: true,
    tol: TOL,
  };
}

export const attentionCases: OpCase[] = [
  attentionCase('sigmoid D=32 b=-log n', [2, 2, 37, 32], [2, 2, 37, 32], { kind: 'sigmoid', bias: -Math.log(37) }),
  attentionCase('softmax D=32 causal', [2, 4, 50, 32], [2, 4, 50, 32], { kind: 'softmax', causal: true }),
  attentionCase('sigmoid D=64 b=-log n', [2, 2, 37, 64], [2, 2, 37, 64], { kind: 'sigmoid', bias: -Math.log(37) }),
  attentionCase('softmax D=64', [2, 2, 37, 64], [2, 2, 37, 64], { kind: 'softmax' }),
  attentionCase('sigmoid D=128 causal', [1, 2, 70, 128], [1, 2, 70, 128], { kind: 'sigmoid', bias: -4, causal: true }),
  attentionCase('softmax D=64 causal Nq<Nk', [1, 2, 20, 64], [1, 2, 80, 64], { kind: 'softmax', causal: true }),
  attentionCase('sigmoid D=64 ALiBi', [1, 4, 33, 64], [1, 4, 33, 64], { kind: 'sigmoid', bias: -3.5, alibiSlopes: [0.5, 0.25, 0.125, 0.0625] }),
  attentionCase('softmax D=64 GQA', [2, 4, 29, 64], [2, 2, 29, 64], { kind: 'softmax' }),
  attentionCase('sigmoid D=64 key lengths', [2, 2, 41, 64], [2, 2, 41, 64], { kind: 'sigmoid', bias: -3.7, keyLengths: [41, 17] }),
];
