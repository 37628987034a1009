/**
 * Decoder-only language model in the style of the paper's AXLearn recipe: token embedding tied to the
 * output layer, causal blocks (RMSNorm, SwiGLU, no biases by default), ALiBi or RoPE positions,
 * next-token cross-entropy and perplexity, and greedy generation with a KV cache.
 *
 * Incremental decoding feeds one token at a time; each block appends its keys/values to its cache.
 * The attention op aligns the causal mask and ALiBi distances bottom-right (query i sits at position
 * i + Nk − Nq), and RoPE rotates at offset = cache length, so cached decoding reproduces the full
 * forward pass exactly (up to float rounding).
 */
import * as tf from '@tensorflow/tfjs';
import { ParamStore } from './params.js';
import { Rng } from '@sigattn/common';
import { applyBlock, blockConfigOf, checkTransformer, createBlock, TRANSFORMER_SCHEMA, type Block, type KvCache, type TransformerConfig } from './block.js';
import { applyLinear, applyNorm, crossEntropy, embed, linear, norm, type Linear, type Norm } from './layers.js';
import { blockPositions, sincos1d, type PositionKind } from './positions.js';
import { fail, readConfig, withoutName } from './config.js';
import { need, type Batch, type ZooModel } from './model.js';

export interface LmConfig extends TransformerConfig {
  vocab: number;
  /** Training context length: n of b = −log n, and the size of learned position tables. */
  contextLength: number;
  positions: PositionKind;
  /** Output layer = embedding transposed (default true). */
  tieEmbeddings: boolean;
  linearBias: boolean;
}

/** Per-call options of `Lm.loss`. */
export interface LmLossOptions {
  /** Weights [B, T − 1] of the targets tokens[:, 1:]; the loss is Σ w·nll / Σ w (default: the plain mean). */
  mask?: tf.Tensor2D;
  /** Sigmoid bias length for this call (b = −log biasLength; default contextLength). See BlockContext.biasLength. */
  biasLength?: number;
}

export function resolveLmConfig(raw: unknown, where = 'lm config'): LmConfig {
  const c = readConfig<LmConfig>(where, withoutName(where, raw, 'lm'), {
    vocab: { type: 'int', min: 2 },
    contextLength: { type: 'int' },
    ...TRANSFORMER_SCHEMA,
    normKind: { type: 'enum', values: ['layernorm', 'rmsnorm'], default: 'rmsnorm' },
    mlp: { type: 'enum', values: ['gelu', 'swiglu'], default: 'swiglu' },
    positions: { type: 'enum', values: ['learned', 'sincos', 'rope', 'alibi', 'none'], default: 'alibi' },
    tieEmbeddings: { type: 'bool', default: true },
    linearBias: { type: 'bool', default: false },
  });
  checkTransformer(where, c);
  if (!c.attention.causal) fail(`${where}.attention.causal`, 'true (a language model must not see future tokens)', false, 'set causal: true');
  return c;
}

export class Lm implements ZooModel {
  readonly modelName = 'lm';
  readonly params: ParamStore;
  readonly config: LmConfig;
  private readonly tokEmbed: tf.Variable;
  private readonly pos: tf.Variable | null;
  private readonly blocks: Block[];
  private readonly normOut: Norm;
  private readonly head: Linear | null;
  private readonly rng: Rng;

  constructor(cfg: unknown, seed: number) {
    const c = (this.config = resolveLmConfig(cfg));
    const p = (this.params = new ParamStore(seed));
    this.rng = new Rng(seed + 1);
    this.tokEmbed = p.add('embed.w', [c.vocab, c.dim], { kind: 'normal', std: 0.02 });
    this.pos = c.positions === 'learned' ? p.add('pos', [1, c.contextLength, c.dim], { kind: 'normal', std: 0.02 }) : null;
    const bc = blockConfigOf(c, c.contextLength, blockPositions(c.positions), c.linearBias);
    this.blocks = Array.from({ length: c.depth }, (_, i) => createBlock(p, `blocks.${i}`, bc));
    this.normOut = norm(p, 'norm', c.dim, c.normKind);
    this.head = c.tieEmbeddings ? null : linear(p, 'head', c.dim, c.vocab, false);
  }

  /** Additive positions for positions offset..offset+T−1 (learned or 1-D sin-cos), or null. */
  private positionsAt(offset: number, T: number): tf.Tensor | null {
    const { positions, dim, contextLength } = this.config;
    if (positions === 'learned') {
      if (offset + T > contextLength) {
        throw new Error(`lm: position ${offset + T - 1} is beyond the learned table (contextLength ${contextLength}); use rope/alibi or a shorter sequence`);
      }
      return (this.pos as tf.Variable).slice([0, offset, 0], [1, T, dim]);
    }
    if (positions === 'sincos') return tf.tensor2d(sincos1d(Array.from({ length: T }, (_, i) => offset + i), dim), [T, dim]);
    return null;
  }

  /**
   * tokens [B, T] → logits [B, T, vocab]. With `caches` (one per block), the tokens continue the cached
   * sequence: positions start at the cache length and the caches are extended in place. `biasLength`
   * replaces contextLength in the sigmoid bias b = −log n for this call (evaluation at another length).
   */
  forward(tokens: tf.Tensor2D, training = false, caches?: KvCache[], biasLength?: number): tf.Tensor3D {
    const [B, T] = tokens.shape;
    const c = this.config;
    const offset = caches?.[0]?.k?.shape[2] ?? 0;
    let x = embed(this.tokEmbed as tf.Tensor2D, tokens) as tf.Tensor3D;
    const pos = this.positionsAt(offset, T);
    if (pos !== null) x = tf.add(x, pos) as tf.Tensor3D;
    this.blocks.forEach((blk, i) => {
      x = applyBlock(blk, x, { training, rng: this.rng, cache: caches?.[i], biasLength });
    });
    const h = applyNorm(this.normOut, x).reshape([B * T, c.dim]);
    const logits = this.head === null ? tf.matMul(h, this.tokEmbed, false, true) : applyLinear(this.head, h);
    return logits.reshape([B, T, c.vocab]);
  }

  /**
   * Next-token cross-entropy (nats/token) of tokens [B, T]: predict tokens[:, 1:] from tokens[:, :-1].
   * With `mask`, the weighted mean over the targets it keeps (the synthetic tasks score answers only).
   */
  loss(tokens: tf.Tensor2D, training = false, opts: LmLossOptions = {}): tf.Scalar {
    const [B, T] = tokens.shape;
    if (T < 2) throw new Error(`lm: need sequences of at least 2 tokens for a next-token loss, found ${T}`);
    const logits = this.forward(tokens.slice([0, 0], [B, T - 1]), training, undefined, opts.biasLength);
    const targets = tokens.slice([0, 1], [B, T - 1]).reshape([-1]) as tf.Tensor1D;
    const flat = logits.reshape([B * (T - 1), this.config.vocab]) as tf.Tensor2D;
    const { mask } = opts;
    if (mask === undefined) return crossEntropy(flat, targets);
    if (mask.shape[0] !== B || mask.shape[1] !== T - 1) {
      throw new Error(`lm: mask has shape [${mask.shape.join(', ')}] but the targets tokens[:, 1:] are [${B}, ${T - 1}]`);
    }
    const nll = tf.neg(tf.sum(tf.mul(tf.oneHot(targets.toInt(), this.config.vocab), tf.logSoftmax(flat)), -1));
    const w = mask.reshape([-1]).toFloat();
    // max(Σw, 1): an all-zero mask gives loss 0 rather than 0/0.
    return tf.div(tf.sum(tf.mul(nll, w)), tf.maximum(tf.sum(w), 1)) as tf.Scalar;
  }

  /** exp(mean next-token cross-entropy). */
  perplexity(tokens: tf.Tensor2D): number {
    return Math.exp(tf.tidy(() => this.loss(tokens).dataSync()[0]));
  }

  newCaches(): KvCache[] {
    return this.blocks.map(() => ({ k: null, v: null }));
  }

  static disposeCaches(caches: KvCache[]): void {
    for (const c of caches) {
      c.k?.dispose();
      c.v?.dispose();
    }
  }

  /** Logits [B, T, vocab] computed one token at a time through the KV cache (for checking the cache). */
  forwardIncremental(tokens: tf.Tensor2D): tf.Tensor3D {
    const [B, T] = tokens.shape;
    const caches = this.newCaches();
    const steps: tf.Tensor3D[] = [];
    for (let t = 0; t < T; t++) steps.push(tf.tidy(() => this.forward(tokens.slice([0, t], [B, 1]), false, caches)));
    Lm.disposeCaches(caches);
    const out = tf.concat(steps, 1) as tf.Tensor3D;
    steps.forEach((s) => s.dispose());
    return out;
  }

  /**
   * Greedy continuation of `prompt` (one id list per sequence, equal lengths) by `steps` tokens.
   * With `useCache` (default) each new token costs one single-token pass; without it the whole prefix
   * is recomputed every step (the reference the cache must match).
   */
  generate(prompt: number[][], steps: number, useCache = true): number[][] {
    const B = prompt.length;
    const seqs = prompt.map((p) => [...p]);
    const caches = useCache ? this.newCaches() : undefined;
    let next: tf.Tensor2D = tf.tensor2d(seqs, [B, seqs[0].length], 'int32');
    for (let s = 0; s < steps; s++) {
      const ids = tf.tidy(() => {
        const input = useCache ? next : tf.tensor2d(seqs, [B, seqs[0].length], 'int32');
        const logits = this.forward(input, false, caches);
        const T = logits.shape[1];
        return tf.argMax(logits.slice([0, T - 1, 0], [B, 1, this.config.vocab]).reshape([B, this.config.vocab]), -1).dataSync();
      });
      next.dispose();
      seqs.forEach((seq, b) => seq.push(ids[b]));
      next = tf.tensor2d(Array.from(ids), [B, 1], 'int32');
    }
    next.dispose();
    if (caches !== undefined) Lm.disposeCaches(caches);
    return seqs;
  }

  batchLoss(batch: Batch, training = false): tf.Scalar {
    return this.loss(need('lm', batch, 'tokens'), training, { mask: batch.lossMask });
  }

  trainableEntries(): [string, tf.Variable][] {
    return this.params.entries();
  }

  dispose(): void {
    this.params.dispose();
  }
}
