/**
 * One transformer block with switchable attention (kernel-core's ATTENTION_KINDS) and every stabiliser of the
 * paper as a config key. Attention goes only through kernel-core's `attention` op.
 *
 *   pre    : x ← x + γ₁·attn(n₁(x));             x ← x + γ₂·mlp(n₂(x))
 *   post   : x ← n₁(x + γ₁·attn(x));             x ← n₂(x + γ₂·mlp(x))
 *   hybrid : x ← x + γ₁·n₁'(attn(n₁(x)));        x ← x + γ₂·n₂'(mlp(n₂(x)))   (AXLearn "hybridnorm")
 * γ are LayerScale vectors (init 1e-4) when `layerScale` is set, else 1.
 */
import * as tf from '@tensorflow/tfjs';
import { ATTENTION_KINDS, alibiSlopes, attention, attentionWeights, type AttentionKind, type AttentionSpec } from '@sigattn/kernel-core';
import type { ParamStore } from './params.js';
import type { Rng } from '@sigattn/common';
import { applyLinear, applyNorm, gelu, linear, norm, silu, type Linear, type Norm, type NormKind } from './layers.js';
import { applyRope, applyRopeAt, type BlockPositions } from './positions.js';
import { checkKeys, fail, type Schema } from './config.js';

export interface AttentionConfig {
  kind: AttentionKind;
  /**
   * Bias b of the element-wise kinds (sigmoid σ(s + b); relu/gelu e^b·φ(s), kernel-core README):
   * 'negLogN' = −log(trainLength), a number, or 'none' (b = 0). Ignored for softmax.
   */
  bias: 'negLogN' | 'none' | number;
  /** Normalise each head's q and k (before RoPE) with LayerNorm or RMSNorm. */
  qkNorm: 'none' | NormKind;
  causal: boolean;
}

export type NormPlacement = 'pre' | 'post' | 'hybrid';
export type MlpKind = 'gelu' | 'swiglu';

export interface BlockConfig {
  dim: number;
  heads: number;
  mlpRatio: number;
  attention: AttentionConfig;
  /** Sequence length the model is trained at; n in b = −log n. */
  trainLength: number;
  /** Norm placement (default 'pre'). */
  norm?: NormPlacement;
  /** Norm used for the residual norms (default 'layernorm'). */
  normKind?: NormKind;
  /** LayerScale initial value (paper: 1e-4); null or absent = no LayerScale. */
  layerScale?: number | null;
  /** MLP: GELU (fc1 → GELU → fc2) or SwiGLU (SiLU(fc1)·gate → fc2). Default 'gelu'. */
  mlp?: MlpKind;
  /** Dropout rate on each residual branch's output (training only). Default 0. */
  dropout?: number;
  /** Positions applied inside attention: RoPE on q/k or ALiBi slopes (default 'none'). */
  positions?: BlockPositions;
  /** Biases on the block's linear layers (default true; the LM recipe has none). */
  linearBias?: boolean;
}

export type ResolvedBlockConfig = Required<BlockConfig>;

export interface Block {
  cfg: ResolvedBlockConfig;
  norm1: Norm;
  norm2: Norm;
  /** Hybrid norm only: the norms on each branch's output. */
  norm1Out: Norm | null;
  norm2Out: Norm | null;
  qkv: Linear;
  proj: Linear;
  qNorm: Norm | null;
  kNorm: Norm | null;
  fc1: Linear;
  /** SwiGLU only: the gate projection. */
  gate: Linear | null;
  fc2: Linear;
  ls1: tf.Variable | null;
  ls2: tf.Variable | null;
}

/** Per-call state: training mode (dropout), the KV cache (LM decoding), padding lengths (ASR). */
export interface BlockContext {
  training?: boolean;
  rng?: Rng;
  /** Incremental decoding: keys/values of earlier positions; updated in place (kept tensors). */
  cache?: KvCache;
  /** Valid key count per batch element (padding mask), passed to the attention op. */
  keyLengths?: ArrayLike<number>;
  /**
   * Sigmoid bias length for this call: b = −log(biasLength) instead of −log(cfg.trainLength), for
   * evaluating at another length with the bias recomputed (`eval.bias: eval-length`). Only changes
   * `attention.bias: negLogN`; a fixed or absent bias and softmax ignore it.
   */
  biasLength?: number;
  /**
   * Token positions for RoPE and ALiBi, one list of N per batch element, when the tokens are not at
   * 0..N−1 (MAE's encoder sees only the visible patches, at their patch positions). Default 0..N−1.
   */
  positions?: readonly ArrayLike<number>[];
}

export interface KvCache {
  k: tf.Tensor4D | null;
  v: tf.Tensor4D | null;
}

export function resolveBlockConfig(cfg: BlockConfig): ResolvedBlockConfig {
  return {
    norm: 'pre',
    normKind: 'layernorm',
    layerScale: null,
    mlp: 'gelu',
    dropout: 0,
    positions: 'none',
    linearBias: true,
    ...Object.fromEntries(Object.entries(cfg).filter(([, v]) => v !== undefined)),
  } as ResolvedBlockConfig;
}

export function createBlock(p: ParamStore, name: string, config: BlockConfig): Block {
  const cfg = resolveBlockConfig(config);
  const { dim, heads } = cfg;
  if (dim % heads !== 0) throw new Error(`${name}: dim ${dim} must be divisible by heads ${heads}`);
  const headDim = dim / heads;
  const hidden = Math.round(dim * cfg.mlpRatio);
  const qk = cfg.attention.qkNorm;
  const bias = cfg.linearBias;
  const ls = (n: string) => (cfg.layerScale === null ? null : p.add(`${name}.${n}`, [dim], { kind: 'constant', value: cfg.layerScale }));
  const hybrid = cfg.norm === 'hybrid';
  return {
    cfg,
    norm1: norm(p, `${name}.norm1`, dim, cfg.normKind),
    norm2: norm(p, `${name}.norm2`, dim, cfg.normKind),
    norm1Out: hybrid ? norm(p, `${name}.norm1_out`, dim, cfg.normKind) : null,
    norm2Out: hybrid ? norm(p, `${name}.norm2_out`, dim, cfg.normKind) : null,
    qkv: linear(p, `${name}.attn.qkv`, dim, 3 * dim, bias),
    proj: linear(p, `${name}.attn.proj`, dim, dim, bias),
    qNorm: qk === 'none' ? null : norm(p, `${name}.attn.qnorm`, headDim, qk),
    kNorm: qk === 'none' ? null : norm(p, `${name}.attn.knorm`, headDim, qk),
    fc1: linear(p, `${name}.mlp.fc1`, dim, hidden, bias),
    gate: cfg.mlp === 'swiglu' ? linear(p, `${name}.mlp.gate`, dim, hidden, bias) : null,
    fc2: linear(p, `${name}.mlp.fc2`, hidden, dim, bias),
    ls1: ls('ls1'),
    ls2: ls('ls2'),
  };
}

/** The kernel-core spec for an attention config (bias only exists for the element-wise kinds). */
export function attentionSpec(cfg: AttentionConfig, trainLength: number): AttentionSpec {
  if (cfg.kind === 'softmax') return { kind: 'softmax', causal: cfg.causal };
  const bias = cfg.bias === 'negLogN' ? { negLogN: trainLength } : cfg.bias === 'none' ? 0 : cfg.bias;
  return { kind: cfg.kind, bias, causal: cfg.causal };
}

/** Multi-head self-attention: x [B, N, dim] → [B, N, dim]. */
export function selfAttention(blk: Block, x: tf.Tensor3D, ctx: BlockContext = {}): tf.Tensor3D {
  const [B, N, dim] = x.shape;
  const H = blk.cfg.heads;
  const hd = dim / H;
  // Split and transpose per tensor: rank-5 transposes are ~100× slower than rank-4 ones on wasm.
  const heads = (t: tf.Tensor) => t.reshape([B, N, H, hd]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
  const [qRaw, kRaw, vNew] = tf.split(applyLinear(blk.qkv, x), 3, -1).map(heads);
  let q = blk.qNorm === null ? qRaw : (applyNorm(blk.qNorm, qRaw) as tf.Tensor4D);
  let kNew = blk.kNorm === null ? kRaw : (applyNorm(blk.kNorm, kRaw) as tf.Tensor4D);
  const offset = ctx.cache?.k?.shape[2] ?? 0;
  const at = ctx.positions;
  if (at !== undefined && (ctx.cache !== undefined || ctx.keyLengths !== undefined)) {
    throw new Error('selfAttention: explicit positions cannot be combined with a KV cache or keyLengths');
  }
  if (blk.cfg.positions === 'rope') {
    q = at === undefined ? applyRope(q, offset) : applyRopeAt(q, at);
    kNew = at === undefined ? applyRope(kNew, offset) : applyRopeAt(kNew, at);
  }
  let k = kNew;
  let v = vNew;
  if (ctx.cache !== undefined) {
    const { cache } = ctx;
    k = cache.k === null ? kNew : tf.concat([cache.k, kNew], 2);
    v = cache.v === null ? vNew : tf.concat([cache.v, vNew], 2);
    cache.k?.dispose();
    cache.v?.dispose();
    cache.k = tf.keep(k);
    cache.v = tf.keep(v);
  }
  const spec: AttentionSpec = attentionSpec(blk.cfg.attention, ctx.biasLength ?? blk.cfg.trainLength);
  let o: tf.Tensor4D;
  if (blk.cfg.positions === 'alibi' && at !== undefined) {
    o = alibiAtPositions(q, k, v, spec, at);
  } else {
    if (blk.cfg.positions === 'alibi') spec.alibiSlopes = alibiSlopes(H);
    if (ctx.keyLengths !== undefined) spec.keyLengths = ctx.keyLengths;
    o = attention(q, k, v, spec);
  }
  return applyLinear(blk.proj, o.transpose([0, 2, 1, 3]).reshape([B, N, dim])) as tf.Tensor3D;
}

/**
 * ALiBi over explicit positions, −slope_h·|p_i − p_j|, composed from tfjs ops: the fused op's ALiBi
 * uses the distance of sequence indices, which is wrong for a subset of tokens (MAE's visible
 * patches). Otherwise the op's logit and weights: scale 1/√D, then the kind with its bias.
 */
function alibiAtPositions(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, spec: AttentionSpec, positions: readonly ArrayLike<number>[]): tf.Tensor4D {
  const [B, H, N, D] = q.shape;
  if (positions.length !== B || positions.some((p) => p.length !== N)) {
    throw new Error(`ALiBi: expected ${B} position lists of length ${N}, found lengths [${positions.map((p) => p.length).join(', ')}]`);
  }
  const dist = new Float32Array(B * N * N);
  positions.forEach((p, b) => {
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) dist[(b * N + i) * N + j] = Math.abs(p[i] - p[j]);
  });
  const slopes = tf.tensor4d(Float32Array.from(alibiSlopes(H)), [1, H, 1, 1]);
  const s = tf.sub(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(D)), tf.mul(slopes, tf.tensor4d(dist, [B, 1, N, N])));
  const p = attentionWeights(s, spec);
  return tf.matMul(p, v) as tf.Tensor4D;
}

export function applyMlp(blk: Block, x: tf.Tensor): tf.Tensor {
  const h = applyLinear(blk.fc1, x);
  const act = blk.gate === null ? gelu(h) : tf.mul(silu(h), applyLinear(blk.gate, x));
  return applyLinear(blk.fc2, act);
}

function branch(out: tf.Tensor, outNorm: Norm | null, ls: tf.Variable | null, blk: Block, ctx: BlockContext): tf.Tensor {
  let y = outNorm === null ? out : applyNorm(outNorm, out);
  if (ls !== null) y = tf.mul(y, ls);
  if (ctx.training === true && blk.cfg.dropout > 0) {
    if (ctx.rng === undefined) fail('block context', 'an rng for dropout in training mode', undefined, 'pass { rng } with training');
    y = tf.dropout(y, blk.cfg.dropout, undefined, ctx.rng.seed());
  }
  return y;
}

export function applyBlock(blk: Block, x: tf.Tensor3D, ctx: BlockContext = {}): tf.Tensor3D {
  if (blk.cfg.norm === 'post') {
    const h = applyNorm(blk.norm1, tf.add(x, branch(selfAttention(blk, x, ctx), null, blk.ls1, blk, ctx)));
    return applyNorm(blk.norm2, tf.add(h, branch(applyMlp(blk, h), null, blk.ls2, blk, ctx))) as tf.Tensor3D;
  }
  const a = selfAttention(blk, applyNorm(blk.norm1, x) as tf.Tensor3D, ctx);
  const h = tf.add(x, branch(a, blk.norm1Out, blk.ls1, blk, ctx)) as tf.Tensor3D;
  const m = applyMlp(blk, applyNorm(blk.norm2, h));
  return tf.add(h, branch(m, blk.norm2Out, blk.ls2, blk, ctx)) as tf.Tensor3D;
}

// ---- the transformer keys every model config shares --------------------------------------------

export interface TransformerConfig {
  dim: number;
  depth: number;
  heads: number;
  mlpRatio: number;
  attention: AttentionConfig;
  norm: NormPlacement;
  normKind: NormKind;
  layerScale: number | null;
  mlp: MlpKind;
  dropout: number;
}

function parseAttention(value: unknown, path: string): AttentionConfig {
  const v = (value ?? {}) as Record<string, unknown>;
  if (typeof v !== 'object' || Array.isArray(v)) fail(path, 'an object { kind, bias, qkNorm, causal }', value, `write ${path} as a mapping`);
  const known = ['kind', 'bias', 'qkNorm', 'causal'];
  checkKeys(path, v, known);
  const kind = v.kind ?? 'sigmoid';
  if (!(ATTENTION_KINDS as readonly unknown[]).includes(kind)) {
    fail(`${path}.kind`, ATTENTION_KINDS.map((k) => `'${k}'`).join(' | '), kind, `pick one of ${ATTENTION_KINDS.join(', ')}`);
  }
  const bias = v.bias ?? 'negLogN';
  if (bias !== 'negLogN' && bias !== 'none' && !(typeof bias === 'number' && Number.isFinite(bias))) {
    fail(`${path}.bias`, "'negLogN' | 'none' | a finite number", bias, "use 'negLogN' (b = −log n, the paper's default)");
  }
  const qkNorm = v.qkNorm ?? 'none';
  if (qkNorm !== 'none' && qkNorm !== 'layernorm' && qkNorm !== 'rmsnorm') {
    fail(`${path}.qkNorm`, "'none' | 'layernorm' | 'rmsnorm'", qkNorm, 'pick one of the three');
  }
  const causal = v.causal ?? false;
  if (typeof causal !== 'boolean') fail(`${path}.causal`, 'true or false', causal, 'set a boolean');
  return { kind, bias, qkNorm, causal } as AttentionConfig;
}

function parseLayerScale(value: unknown, path: string): number | null {
  if (value === null || value === false) return null;
  if (typeof value !== 'number' || !(value > 0)) fail(path, 'null (off) or a positive initial value such as 1e-4', value, 'set 1.0e-4 or null');
  return value;
}

export const TRANSFORMER_SCHEMA: Schema = {
  dim: { type: 'int' },
  depth: { type: 'int' },
  heads: { type: 'int' },
  mlpRatio: { type: 'number', min: 0.25, default: 4 },
  attention: { type: 'custom', describe: 'an attention mapping', parse: parseAttention, default: {} },
  norm: { type: 'enum', values: ['pre', 'post', 'hybrid'], default: 'pre' },
  normKind: { type: 'enum', values: ['layernorm', 'rmsnorm'], default: 'layernorm' },
  layerScale: { type: 'custom', describe: 'null or a positive number', parse: parseLayerScale, default: null },
  mlp: { type: 'enum', values: ['gelu', 'swiglu'], default: 'gelu' },
  dropout: { type: 'number', min: 0, max: 0.99, default: 0 },
};

/** Cross-key checks shared by all models. */
export function checkTransformer(where: string, c: TransformerConfig): void {
  if (c.dim % c.heads !== 0) fail(`${where}.heads`, `a divisor of dim ${c.dim}`, c.heads, 'change heads or dim');
}

/** Block config for one of a model's blocks. */
export function blockConfigOf(c: TransformerConfig, trainLength: number, positions: BlockPositions, linearBias = true): BlockConfig {
  return {
    dim: c.dim,
    heads: c.heads,
    mlpRatio: c.mlpRatio,
    attention: c.attention,
    trainLength,
    norm: c.norm,
    normKind: c.normKind,
    layerScale: c.layerScale,
    mlp: c.mlp,
    dropout: c.dropout,
    positions,
    linearBias,
  };
}
