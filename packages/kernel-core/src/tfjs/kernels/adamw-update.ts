/**
 * The fused AdamW update in TypeScript (the cpu and wasm kernels of ADAMW_UPDATE): float32 arithmetic
 * written out with Math.fround after every operation. A float64 +, −, ·, / or sqrt of float32 operands,
 * rounded once to float32, is the correctly rounded float32 result (53 ≥ 2·24 + 2 bits), so this equals
 * the composed tfjs ops value for value.
 */
import type * as tf from '@tensorflow/tfjs';
import type { AdamWAttrs } from '../adamw-names.js';

/** The float32 scalars of one update, as the composed ops make them (tf.scalar rounds each). */
export interface AdamWConstants {
  lr: number;
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  eps: number;
  bc1: number;
  bc2: number;
  weightDecay: number;
  /** Whether the decay term is added at all (weightDecay > 0 before rounding, as the optimiser decides). */
  decay: boolean;
}

export function adamwConstants(a: AdamWAttrs): AdamWConstants {
  const f = Math.fround;
  for (const key of ['lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'biasCorrection1', 'biasCorrection2'] as const) {
    if (typeof a[key] !== 'number' || Number.isNaN(a[key])) throw new Error(`adamw: attribute ${key} must be a number, got ${String(a[key])}`);
  }
  return {
    lr: f(a.lr),
    beta1: f(a.beta1),
    oneMinusBeta1: f(1 - a.beta1),
    beta2: f(a.beta2),
    oneMinusBeta2: f(1 - a.beta2),
    eps: f(a.eps),
    bc1: f(a.biasCorrection1),
    bc2: f(a.biasCorrection2),
    weightDecay: f(a.weightDecay),
    decay: a.weightDecay > 0,
  };
}

/** Writes w', m', v' for every element; the outputs must not alias the inputs' arrays. */
export function adamwUpdate(
  c: AdamWConstants,
  w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array,
  wOut: Float32Array, mOut: Float32Array, vOut: Float32Array,
): void {
  const f = Math.fround;
  for (let i = 0; i < w.length; i++) {
    const gi = g[i];
    const m1 = f(f(m[i] * c.beta1) + f(gi * c.oneMinusBeta1));
    const v1 = f(f(v[i] * c.beta2) + f(f(gi * gi) * c.oneMinusBeta2));
    let u = f(f(m1 / c.bc1) / f(f(Math.sqrt(f(v1 / c.bc2))) + c.eps));
    if (c.decay) u = f(u + f(w[i] * c.weightDecay));
    wOut[i] = w[i] - f(u * c.lr);
    mOut[i] = m1;
    vOut[i] = v1;
  }
}

/** The four inputs of the kernel, checked: present, float32 and one shape. */
export function adamwInputs(inputs: tf.NamedTensorInfoMap, backend: string): Record<'param' | 'grad' | 'm' | 'v', tf.TensorInfo> {
  const shape = inputs.param?.shape ?? [];
  for (const name of ['param', 'grad', 'm', 'v'] as const) {
    const x = inputs[name] as tf.TensorInfo | undefined;
    if (x === undefined) throw new Error(`adamw (${backend}): input ${name} is missing; expected { param, grad, m, v }`);
    if (x.dtype !== 'float32') throw new Error(`adamw (${backend}): ${name} must be float32, got ${x.dtype}`);
    if (x.shape.length !== shape.length || x.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`adamw (${backend}): ${name} has shape [${x.shape.join(', ')}] but param has [${shape.join(', ')}]`);
    }
  }
  return inputs as Record<'param' | 'grad' | 'm' | 'v', tf.TensorInfo>;
}
