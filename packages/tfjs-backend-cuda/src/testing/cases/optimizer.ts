/**
 * The fused AdamW kernels: on the tested backend ADAMW_UPDATE_MULTI when it has one (cuda), else one
 * ADAMW_UPDATE per parameter; on cpu always one ADAMW_UPDATE per parameter. Both follow the composed
 * update operation for operation, so the tolerance is float32 rounding (the cpu kernel is bit-identical
 * to the composed ops; the cuda kernels use explicitly rounded intrinsics).
 */
import * as tf from '@tensorflow/tfjs';
import { ADAMW_UPDATE, ADAMW_UPDATE_MULTI, type AdamWAttrs, type AdamWMultiAttrs } from '@sigattn/kernel-core';
import type { InputSpec, OpCase } from '../op-check.js';

const HYPER = { lr: 3e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, biasCorrection1: 1 - 0.9 ** 3, biasCorrection2: 1 - 0.999 ** 3 };

/** param, grad, m, v for each shape; v ≥ 0 as a second moment is. */
function inputsFor(shapes: number[][]): InputSpec[] {
  return shapes.flatMap((shape) => [{ shape }, { shape, range: [-0.1, 0.1] }, { shape, range: [-0.05, 0.05] }, { shape, range: [0, 0.01] }] as InputSpec[]);
}

function update(shapes: number[][], decays: number[]) {
  return (...xs: tf.Tensor[]): tf.Tensor[] => {
    if (tf.getKernel(ADAMW_UPDATE_MULTI, tf.getBackend()) !== undefined) {
      const inputs: tf.NamedTensorMap = {};
      shapes.forEach((_, i) => Object.assign(inputs, { [`param${i}`]: xs[4 * i], [`grad${i}`]: xs[4 * i + 1], [`m${i}`]: xs[4 * i + 2], [`v${i}`]: xs[4 * i + 3] }));
      const attrs: AdamWMultiAttrs = { ...HYPER, count: shapes.length, weightDecays: decays };
      return tf.engine().runKernel(ADAMW_UPDATE_MULTI, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    }
    return shapes.flatMap((_, i) => {
      const attrs: AdamWAttrs = { ...HYPER, weightDecay: decays[i] };
      return tf.engine().runKernel(ADAMW_UPDATE, { param: xs[4 * i], grad: xs[4 * i + 1], m: xs[4 * i + 2], v: xs[4 * i + 3] }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    });
  };
}

function adamwCase(name: string, shapes: number[][], decays: number[]): OpCase {
  return { name: `AdamW ${name}`, kernels: [ADAMW_UPDATE, ADAMW_UPDATE_MULTI], inputs: inputsFor(shapes), run: update(shapes, decays), tol: 1e-6 };
}

const many = Array.from({ length: 45 }, (_, i) => [1 + ((i * 37) % 300), 1 + (i % 3)]);

export const optimizerCases: OpCase[] = [
  adamwCase('one parameter, decay', [[33, 17]], [0.05]),
  adamwCase('three shapes, decay and none', [[128], [7, 5, 3], [1]], [0, 0.05, 0.1]),
  // 45 parameters: two launches of the multi-tensor kernel (40 per launch) on cuda.
  adamwCase('45 parameters of ragged sizes', many, many.map((_, i) => (i % 4 === 0 ? 0 : 0.05))),
];
