/**
 * Speech recogniser: log-mel frames [B, T, mels] → two 3×3 stride-2 convolutions with ReLU (time and
 * frequency subsampled ×4) → linear to `dim` → positions → transformer encoder (padding-masked through
 * the attention op's keyLengths) → norm → per-frame logits over the vocabulary (id 0 = CTC blank)
 * → CTC loss; greedy CTC decoding for inference.
 *
 * The convolutions are im2col matmuls over strided taps (slices + rank-4 reshapes): tfjs-wasm lacks
 * Conv2DBackpropFilter, so tf.conv2d cannot be trained there.
 */
import * as tf from '@tensorflow/tfjs';
import { ParamStore } from './params.js';
import { Rng } from '@sigattn/common';
import { applyBlock, blockConfigOf, checkTransformer, createBlock, TRANSFORMER_SCHEMA, type Block, type TransformerConfig } from './block.js';
import { applyLinear, applyNorm, linear, norm, type Linear, type Norm } from './layers.js';
import { blockPositions, sincos1d } from './positions.js';
import { ctcGreedyDecode, ctcLoss } from './ctc.js';
import { readConfig, withoutName } from './config.js';
import { need, type Batch, type ZooModel } from './model.js';

export interface AsrConfig extends TransformerConfig {
  /** Mel bins per frame. */
  mels: number;
  /** Output classes including the CTC blank at id 0. */
  vocab: number;
  /** Channels of both subsampling convolutions. */
  convChannels: number;
  /** Encoder frames per utterance in training (after ×4 subsampling): n of b = −log n. */
  trainFrames: number;
  positions: 'sincos' | 'rope' | 'alibi' | 'none';
}

export function resolveAsrConfig(raw: unknown, where = 'asr config'): AsrConfig {
  const c = readConfig<AsrConfig>(where, withoutName(where, raw, 'asr'), {
    mels: { type: 'int' },
    vocab: { type: 'int', min: 2 },
    convChannels: { type: 'int', default: 16 },
    trainFrames: { type: 'int' },
    ...TRANSFORMER_SCHEMA,
    positions: { type: 'enum', values: ['sincos', 'rope', 'alibi', 'none'], default: 'rope' },
  });
  checkTransformer(where, c);
  return c;
}

/** Output length of one 3×3, stride-2, padding-1 convolution. */
export const subsampled = (n: number): number => Math.ceil(n / 2);

/**
 * Constant 0/1 matrix [F, 3·Fo]: column df·Fo + j picks input frequency 2j + df − 1. Frequencies outside
 * 0..F−1 are the zero padding, so they are simply absent.
 */
function frequencyTaps(F: number): tf.Tensor2D {
  const Fo = subsampled(F);
  const sel = new Float32Array(F * 3 * Fo);
  for (let df = 0; df < 3; df++) {
    for (let j = 0; j < Fo; j++) {
      const f = 2 * j + df - 1;
      if (f >= 0 && f < F) sel[f * 3 * Fo + df * Fo + j] = 1;
    }
  }
  return tf.tensor2d(sel, [F, 3 * Fo]);
}

/**
 * 3×3 stride-2 padding-1 convolution of x [B, T, F, C] with weights w [9·C, Cout] (rows ordered
 * (dt, df, c), i.e. tf.conv2d's filter [3, 3, C, Cout] flattened) → [B, ⌈T/2⌉, ⌈F/2⌉, Cout].
 *
 * Written as matmuls because tfjs-wasm lacks Conv2DBackpropFilter. Only rank-4 transposes and slices
 * of long contiguous rows are used (wasm's Slice copies one innermost run at a time, so a strided
 * slice over channels is ~100× slower): frequency taps are one matmul with a constant selection
 * matrix; time taps are row-phase slices of [B, To+1, 2, ·].
 */
export function conv3x3s2(x: tf.Tensor4D, l: Linear): tf.Tensor4D {
  const [B, T, F, C] = x.shape;
  const To = subsampled(T);
  const Fo = subsampled(F);
  const cout = l.w.shape[1] as number;
  // Frequency taps: [B·T·C, F] · [F, 3·Fo] → [B, T, 3·Fo, C], i.e. (t, df, j, c) per batch element.
  const cols = tf.matMul(x.transpose([0, 1, 3, 2]).reshape([B * T * C, F]), frequencyTaps(F));
  const fx = cols.reshape([B, T, C, 3 * Fo]).transpose([0, 1, 3, 2]).reshape([B, T, 3 * Fo * C]);
  // Pad time so that padded rows 2i, 2i+1, 2i+2 are input rows 2i−1, 2i, 2i+1 for every output row i.
  const rows = tf.pad(fx, [[0, 0], [1, 2 * To + 1 - T], [0, 0]]).reshape([B, To + 1, 2, 3 * Fo * C]);
  let out: tf.Tensor | null = null;
  for (let dt = 0; dt < 3; dt++) {
    const r = rows.slice([0, dt >> 1, dt % 2, 0], [B, To, 1, 3 * Fo * C]).reshape([B * To, 3, Fo, C]);
    // (df, j, c) → (j, df, c), then contract (df, c) with this time tap's 3·C weight rows.
    const patches = r.transpose([0, 2, 1, 3]).reshape([B * To * Fo, 3 * C]);
    const y = tf.matMul(patches, l.w.slice([dt * 3 * C, 0], [3 * C, cout]));
    out = out === null ? y : tf.add(out, y);
  }
  if (l.b !== null) out = tf.add(out as tf.Tensor, l.b);
  return (out as tf.Tensor).reshape([B, To, Fo, cout]);
}

export class Asr implements ZooModel {
  readonly modelName = 'asr';
  readonly params: ParamStore;
  readonly config: AsrConfig;
  private readonly conv1: Linear;
  private readonly conv2: Linear;
  private readonly inProj: Linear;
  private readonly blocks: Block[];
  private readonly normOut: Norm;
  private readonly head: Linear;
  private readonly rng: Rng;

  constructor(cfg: unknown, seed: number) {
    const c = (this.config = resolveAsrConfig(cfg));
    const p = (this.params = new ParamStore(seed));
    this.rng = new Rng(seed + 1);
    const ch = c.convChannels;
    // He-style init for the ReLU convolutions: std = √(2 / fan-in).
    this.conv1 = linear(p, 'subsample.conv1', 9, ch, true, Math.sqrt(2 / 9));
    this.conv2 = linear(p, 'subsample.conv2', 9 * ch, ch, true, Math.sqrt(2 / (9 * ch)));
    this.inProj = linear(p, 'subsample.proj', ch * subsampled(subsampled(c.mels)), c.dim);
    const bc = blockConfigOf(c, c.trainFrames, blockPositions(c.positions));
    this.blocks = Array.from({ length: c.depth }, (_, i) => createBlock(p, `blocks.${i}`, bc));
    this.normOut = norm(p, 'norm', c.dim, c.normKind);
    this.head = linear(p, 'head', c.dim, c.vocab);
  }

  /** Encoder frames for `frames` input frames. */
  outputLength(frames: number): number {
    return subsampled(subsampled(frames));
  }

  /**
   * features [B, T, mels] → logits [B, ⌈⌈T/2⌉/2⌉, vocab]. `biasLength` replaces trainFrames in the
   * sigmoid bias b = −log n for this call (evaluation at another length; see BlockContext.biasLength).
   */
  forward(features: tf.Tensor3D, featureLengths?: number[], training = false, biasLength?: number): tf.Tensor3D {
    const [B, T, F] = features.shape;
    if (F !== this.config.mels) {
      throw new Error(`asr: features have ${F} mel bins but the config says mels: ${this.config.mels}; recompute features or change the config`);
    }
    const c = this.config;
    let x = tf.relu(conv3x3s2(features.reshape([B, T, F, 1]), this.conv1)) as tf.Tensor4D;
    x = tf.relu(conv3x3s2(x, this.conv2)) as tf.Tensor4D;
    const [, T4, F4, C] = x.shape;
    let h = applyLinear(this.inProj, x.reshape([B, T4, F4 * C])) as tf.Tensor3D;
    if (c.positions === 'sincos') {
      h = tf.add(h, tf.tensor2d(sincos1d(Array.from({ length: T4 }, (_, i) => i), c.dim), [T4, c.dim])) as tf.Tensor3D;
    }
    const lens = featureLengths?.map((n) => this.outputLength(n));
    const keyLengths = lens !== undefined && lens.some((n) => n < T4) ? lens : undefined;
    for (const blk of this.blocks) h = applyBlock(blk, h, { training, rng: this.rng, keyLengths, biasLength });
    return applyLinear(this.head, applyNorm(this.normOut, h)) as tf.Tensor3D;
  }

  /** Mean CTC loss; `targets` are label ids 1..vocab−1 per utterance. */
  loss(features: tf.Tensor3D, targets: number[][], featureLengths?: number[], training = false, biasLength?: number): tf.Scalar {
    const logits = this.forward(features, featureLengths, training, biasLength);
    const lens = featureLengths?.map((n) => this.outputLength(n));
    return ctcLoss(logits, targets, lens, 0);
  }

  /** Greedy CTC transcription (label ids) per utterance. */
  decode(features: tf.Tensor3D, featureLengths?: number[], biasLength?: number): number[][] {
    return tf.tidy(() => {
      const logits = this.forward(features, featureLengths, false, biasLength);
      return ctcGreedyDecode(logits, featureLengths?.map((n) => this.outputLength(n)), 0);
    });
  }

  batchLoss(batch: Batch, training = false): tf.Scalar {
    return this.loss(need('asr', batch, 'features'), need('asr', batch, 'targets'), batch.featureLengths, training);
  }

  trainableEntries(): [string, tf.Variable][] {
    return this.params.entries();
  }

  dispose(): void {
    this.params.dispose();
  }
}
