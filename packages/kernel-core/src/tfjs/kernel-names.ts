/**
 * The tfjs kernel contract of the fused attention op. Every backend (cpu, wasm, webgpu, …) registers
 * BOTH kernels under these names; the gradient is registered once, backend-independent, and calls
 * ATTENTION_BWD through the engine, so autodiff works wherever both kernels exist.
 *
 * ATTENTION_FWD: inputs { q, k, v } → outputs [o, lse]
 *   o   float32 [B, H, Nq, D]
 *   lse float32 [B, H, Nq]: softmax's per-row log-sum-exp of the logits (−Infinity for a fully
 *       masked row); for sigmoid it is unused and filled with zeros.
 * ATTENTION_BWD: inputs { q, k, v, o, lse, dy } → outputs [dq, dk, dv] with the shapes of q, k, v.
 */
export const ATTENTION_FWD = 'SigattnAttention';
export const ATTENTION_BWD = 'SigattnAttentionGrad';

/** Attributes of both kernels: the resolved spec as plain values (tfjs attrs must be serialisable). */
export interface AttentionAttrs {
  kind: 'sigmoid' | 'softmax';
  scale: number;
  /** Effective scalar bias (0 for softmax). */
  bias: number;
  causal: boolean;
  alibiSlopes: number[] | null;
  keyLengths: number[] | null;
}
