/**
 * The tfjs kernel contract of the fused attention op. Every backend (cpu, wasm, webgpu, …) registers
 * BOTH kernels under these names; the gradient is registered once, backend-independent, and calls
 * ATTENTION_BWD through the engine, so autodiff works wherever both kernels exist.
 *
 * ATTENTION_FWD: inputs { q, k, v } → outputs [o, stats]
 *   o     float32 [B, H, Nq, D]
 *   stats float32 [B, H, Nq, 2]: softmax's row statistics (m, l) — the row max of the logits and
 *         Σⱼ exp(logit − m) — so LSE = m + log l; (−Infinity, 0) for a fully masked row. The
 *         element-wise kinds have none and write (0, 1). Two floats instead of the LSE because the
 *         backward recomputes P = exp(logit − m) / l: a float32 LSE carries |LSE|·2⁻²⁴ of absolute
 *         error into every P, several times the error of the naive computation (the accuracy rule
 *         in the package README).
 * ATTENTION_BWD: inputs { q, k, v, o, stats, dy } → outputs [dq, dk, dv] with the shapes of q, k, v.
 */
import type { AttentionKind } from '../spec.js';

export const ATTENTION_FWD = 'SigattnAttention';
export const ATTENTION_BWD = 'SigattnAttentionGrad';

/** Attributes of both kernels: the resolved spec as plain values (tfjs attrs must be serialisable). */
export interface AttentionAttrs {
  kind: AttentionKind;
  scale: number;
  /** Effective scalar bias of the element-wise kinds (0 for softmax). */
  bias: number;
  causal: boolean;
  alibiSlopes: number[] | null;
  keyLengths: number[] | null;
}
