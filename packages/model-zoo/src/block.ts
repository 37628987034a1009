/**
 * One transformer block with switchable attention (softmax | sigmoid) and the paper's stabilisers.
 * Attention goes only through kernel-core's `attention` op.
 */
import * as tf from '@tensorflow/tfjs';
import { attention, type AttentionSpec } from '@sigattn/kernel-core';
import type { ParamStore } from './params.js';
import { applyLinear, applyNorm, gelu, linear, norm, type Linear, type Norm, type NormKind } from './layers.js';

export interface AttentionConfig {
  kind: 'softmax' | 'sigmoid';
  /** Sigmoid bias: 'negLogN' = −log(trainLength), a number, or 'none' (b = 0). */
  bias: 'negLogN' | 'none' | number;
  /** Normalise each head's q and k before the dot product. */
  qkNorm: 'none' | NormKind;
  causal: boolean;
}

export interface BlockConfig {
  dim: number;
  heads: number;
  mlpRatio: number;
  attention: AttentionConfig;
  /** Sequence length the model is trained at; n in b = −log n. */
  trainLength: number;
}

export interface Block {
  norm1: Norm;
  norm2: Norm;
  qkv: Linear;
  proj: Linear;
  qNorm: Norm | null;
  kNorm: Norm | null;
  fc1: Linear;
  fc2: Linear;
  cfg: BlockConfig;
}

export function createBlock(p: ParamStore, name: string, cfg: BlockConfig): Block {
  const { dim, heads } = cfg;
  if (dim % heads !== 0) throw new Error(`${name}: dim ${dim} must be divisible by heads ${heads}`);
  const headDim = dim / heads;
  const hidden = Math.round(dim * cfg.mlpRatio);
  const qk = cfg.attention.qkNorm;
  return {
    norm1: norm(p, `${name}.norm1`, dim),
    norm2: norm(p, `${name}.norm2`, dim),
    qkv: linear(p, `${name}.attn.qkv`, dim, 3 * dim),
    proj: linear(p, `${name}.attn.proj`, dim, dim),
    qNorm: qk === 'none' ? null : norm(p, `${name}.attn.qnorm`, headDim, qk),
    kNorm: qk === 'none' ? null : norm(p, `${name}.attn.knorm`, headDim, qk),
    fc1: linear(p, `${name}.mlp.fc1`, dim, hidden),
    fc2: linear(p, `${name}.mlp.fc2`, hidden, dim),
    cfg,
  };
}

export function attentionSpec(cfg: AttentionConfig, trainLength: number): AttentionSpec {
  if (cfg.kind === 'softmax') return { kind: 'softmax', causal: cfg.causal };
  const bias = cfg.bias === 'negLogN' ? { negLogN: trainLength } : cfg.bias === 'none' ? 0 : cfg.bias;
  return { kind: 'sigmoid', bias, causal: cfg.causal };
}

/** Multi-head self-attention: x [B, N, dim] → [B, N, dim]. */
export function selfAttention(blk: Block, x: tf.Tensor3D): tf.Tensor3D {
  const [B, N, dim] = x.shape;
  const H = blk.cfg.heads;
  const hd = dim / H;
  // Split and transpose per tensor: rank-5 transposes are ~100× slower than rank-4 ones on wasm.
  const heads = (t: tf.Tensor) => t.reshape([B, N, H, hd]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
  const [qRaw, kRaw, v] = tf.split(applyLinear(blk.qkv, x), 3, -1).map(heads);
  const q = blk.qNorm === null ? qRaw : (applyNorm(blk.qNorm, qRaw) as tf.Tensor4D);
  const k = blk.kNorm === null ? kRaw : (applyNorm(blk.kNorm, kRaw) as tf.Tensor4D);
  const o = attention(q, k, v, attentionSpec(blk.cfg.attention, blk.cfg.trainLength));
  return applyLinear(blk.proj, o.transpose([0, 2, 1, 3]).reshape([B, N, dim])) as tf.Tensor3D;
}

/** Pre-norm block: x + attn(norm1(x)), then x + mlp(norm2(x)). */
export function applyBlock(blk: Block, x: tf.Tensor3D): tf.Tensor3D {
  const h = tf.add(x, selfAttention(blk, applyNorm(blk.norm1, x) as tf.Tensor3D)) as tf.Tensor3D;
  const m = applyLinear(blk.fc2, gelu(applyLinear(blk.fc1, applyNorm(blk.norm2, h))));
  return tf.add(h, m) as tf.Tensor3D;
}
