/**
 * The fused activation op (kernel-core's fusedActivation; kernels in src/kernels/activation.ts) against
 * the composed ops on cpu: GELU (tanh approximation) and SiLU, sizes 1 to 33k (ragged ones take the scalar
 * loop, multiples of 4 the float4 one), ranks 1–5, inputs over ±2 and ±20 (tanh and the sigmoid saturated,
 * x³ large), gradients through the fused backward. On wasm (no fused kernel) both sides run the composed
 * ops, which checks the cases themselves. The kernels repeat the composed ops' float32 steps, so the
 * default 1e-5 holds with room.
 */
import type * as tf from '@tensorflow/tfjs';
import { fusedActivation, type ActivationKind } from '@sigattn/kernel-core';
import type { OpCase } from '../op-check.js';

function activationCase(kind: ActivationKind, shape: number[], range?: [number, number]): OpCase {
  return {
    name: `activation ${kind} [${shape.join(',')}]${range === undefined ? '' : ` in [${range.join(', ')}]`}`,
    kernels: ['SigattnActivation', 'SigattnActivationGrad'],
    inputs: [{ shape, range }],
    run: (x: tf.Tensor) => fusedActivation(x, kind),
    grad: true,
  };
}

const SHAPES: number[][] = [[1], [7], [33], [257], [4, 1000], [3, 5, 7, 9], [2, 3, 4, 5, 6], [2, 65, 256]];
const WIDE: [number, number] = [-20, 20];

export const activationCases: OpCase[] = (['gelu_tanh', 'silu'] as const).flatMap((kind) => [
  ...SHAPES.map((s) => activationCase(kind, s)),
  activationCase(kind, [1001], WIDE),
  activationCase(kind, [64, 36], WIDE),
]);
