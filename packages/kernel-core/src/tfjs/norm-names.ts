/**
 * The tfjs kernel contract of the fused norm op (LayerNorm / RMSNorm over the last axis): one kernel
 * forward and one backward instead of model-zoo's ~9 composed ops forward and ~15 backward (issue #12).
 * A backend registers BOTH kernels or neither; the gradient is registered once for all backends
 * (norm-grad.ts). The cuda and webgpu backends register them (webgpu: src/webgpu/norm.ts, float32 WGSL within
 * a stated bound of the composed ops). Backends without them (cpu, wasm) run the composed ops (norm.ts), so
 * their results are those of the composed norm bit for bit.
 *
 * NORM_FWD: inputs { x, gamma, beta } (beta only for layernorm; float32; gamma and beta [C], C = the
 *   last dimension of x) → outputs [y, stats]
 *   y     float32, x's shape
 *   stats float32 [rows, 2] (rows = x.size / C): (mean, rstd) per row, rstd = 1/sqrt(var + eps) with
 *         var the mean of squared deviations (layernorm) or the mean of squares (rmsnorm, mean = 0).
 *   layernorm: y = ((x − mean)·rstd)·gamma + beta      rmsnorm: y = (x·rstd)·gamma
 * NORM_BWD: inputs { x, gamma, stats, dy } → outputs [dx, dgamma, dbeta] for layernorm and
 *   [dx, dgamma] for rmsnorm (it has no beta, so no column sum of dy is computed for it). With
 *   x̂ = (x − mean)·rstd, g = dy·gamma and means over the row:
 *   layernorm: dx = rstd·(g − mean(g) − x̂·mean(g·x̂))   rmsnorm: dx = rstd·(g − x̂·mean(g·x̂))
 *   dgamma = Σ_rows dy·x̂, dbeta = Σ_rows dy.
 */
export const NORM_FWD = 'SigattnNorm';
export const NORM_BWD = 'SigattnNormGrad';

export type NormKind = 'layernorm' | 'rmsnorm';
export const NORM_KINDS: readonly NormKind[] = ['layernorm', 'rmsnorm'];

/** Attributes of both kernels (plain values: tfjs attrs must be serialisable); kernels round eps to float32. */
export interface NormAttrs {
  kind: NormKind;
  eps: number;
}
