/**
 * The tfjs kernel contract of the fused activation op (GELU tanh approximation, SiLU): one kernel
 * forward and one backward instead of model-zoo's composed ops (a forward and backward is 37 tfjs kernels
 * for GELU, 10 for SiLU; test/activation-op.test.ts), issue #12. A backend registers BOTH kernels or neither; the gradient is
 * registered once for all backends (activation-grad.ts). The cuda and webgpu backends register them (webgpu:
 * src/webgpu/activation.ts, float32 WGSL within a stated bound). Backends without them (cpu, wasm)
 * run the composed ops (activation.ts), so their results are those of the composed ops bit for bit.
 *
 * ACTIVATION_FWD: inputs { x } (float32) → outputs [y] (x's shape).
 * ACTIVATION_BWD: inputs { x, dy } (float32, one shape) → outputs [dx].
 *
 * Both are defined as the composed ops and their tfjs autodiff, operation for operation: every step is
 * one float32 operation rounded once (tfjs cpu computes each op in double and rounds, which for +, −, ×
 * is the same), tanh and the sigmoid are computed in double and rounded once (as tfjs cpu's Math.tanh and
 * 1 / (1 + Math.exp(−x))). With K = fround(0.044715), C = fround(√(2/π)) and every line rounded to float32:
 *
 * gelu_tanh forward:                        backward (tfjs autodiff of the forward, in its order):
 *   x2 = x·x                                  dh = dy·e       dt = dy·h
 *   x3 = x2·x                                 di = (1 − t·t)·dt
 *   k  = x3·K                                 dd = di·C       d3 = dd·K
 *   d  = x + k                                d2 = d3·x
 *   i  = d·C                                  dx = (((dh·0.5 + dd) + d3·x2) + d2·x) + d2·x
 *   t  = tanh(i)
 *   e  = t + 1
 *   h  = x·0.5
 *   y  = h·e
 *
 * silu forward:                             backward:
 *   s = 1 / (1 + exp(−x))                     dx = dy·s + (dy·x)·(s·(1 − s))
 *   y = x·s
 */
export const ACTIVATION_FWD = 'SigattnActivation';
export const ACTIVATION_BWD = 'SigattnActivationGrad';

export type ActivationKind = 'gelu_tanh' | 'silu';
export const ACTIVATION_KINDS: readonly ActivationKind[] = ['gelu_tanh', 'silu'];

/** Attributes of both kernels (plain values: tfjs attrs must be serialisable). */
export interface ActivationAttrs {
  kind: ActivationKind;
}

/** GELU's constants as the composed ops use them (tf.mul rounds a number to a float32 scalar). */
export const GELU_TANH_A = 0.044715;
export const GELU_TANH_C = Math.sqrt(2 / Math.PI);
