/**
 * The tfjs kernel contract of the fused AdamW update: one kernel per parameter instead of ~15
 * element-wise ones (issue #12, item 4). Registered for cpu, wasm and webgpu (src/tfjs/register.ts);
 * the CUDA backend implements the same contract. No gradient: it is an optimiser op.
 *
 * ADAMW_UPDATE: inputs { param, grad, m, v } (float32, one shape) → outputs [newParam, newM, newV].
 * With every attribute rounded to float32 first (and 1−β₁, 1−β₂ computed from the attribute, then
 * rounded), in float32 with one rounding per operation in exactly this order:
 *   m' = m·β₁ + g·(1−β₁)
 *   v' = v·β₂ + (g·g)·(1−β₂)
 *   u  = (m' / bc₁) / (sqrt(v' / bc₂) + ε)
 *   u  = u + w·wd                      only when weightDecay > 0
 *   w' = w − u·lr
 * which is model-zoo's composed AdamW (tf.mul, tf.add, tf.square, tf.div, tf.sqrt on float32 scalars)
 * operation for operation, so cpu and wasm give its results bit for bit. GPU kernels may contract a
 * multiply-add into an fma.
 */
export const ADAMW_UPDATE = 'SigattnAdamW';

/** Plain numbers (tfjs attrs must be serialisable); the kernels round each to float32. */
export interface AdamWAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 0 for the no-decay group: the decay term is skipped, not added as w·0. */
  weightDecay: number;
  /** 1 − β₁^t at step t (t from 1). */
  biasCorrection1: number;
  /** 1 − β₂^t at step t (t from 1). */
  biasCorrection2: number;
}

/**
 * ADAMW_UPDATE for many parameters in one kernel call (backends where each call costs more host time
 * than the update itself: cuda registers it). Inputs `param<i>`, `grad<i>`, `m<i>`, `v<i>` for
 * i = 0…count−1; attributes as ADAMW_UPDATE's with `weightDecays[i]` per parameter instead of
 * `weightDecay`; outputs [newParam0, newM0, newV0, newParam1, …]. Each parameter's math is ADAMW_UPDATE's.
 */
export const ADAMW_UPDATE_MULTI = 'SigattnAdamWMulti';

export interface AdamWMultiAttrs extends Omit<AdamWAttrs, 'weightDecay'> {
  count: number;
  weightDecays: number[];
}
