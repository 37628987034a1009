/**
 * Vision Transformer (Dosovitskiy et al. 2021), small enough to train on a CPU.
 * image [B, H, W, C] → P×P patches → linear embedding (+ CLS) + positions → blocks → norm
 * → pooled (CLS or mean) → linear classifier.
 */
import * as tf from '@tensorflow/tfjs';
import { ParamStore } from './params.js';
import { Rng } from '@sigattn/common';
import type { AttentionConfig, MlpKind, NormPlacement } from './block.js';
import { applyLinear, crossEntropy, linear, type Linear, type NormKind } from './layers.js';
import { checkEncoder, ENCODER_SCHEMA, PatchEncoder, type EncoderConfig } from './encoder.js';
import type { PositionKind } from './positions.js';
import { readConfig, withoutName } from './config.js';
import { need, type Batch, type ZooModel } from './model.js';

export interface VitConfig {
  /** Registry name; accepted so a runner's `model:` section can be passed as is. */
  name?: 'vit';
  imageSize: number;
  channels: number;
  patchSize: number;
  dim: number;
  depth: number;
  heads: number;
  mlpRatio: number;
  classes: number;
  attention: AttentionConfig;
  norm?: NormPlacement;
  normKind?: NormKind;
  layerScale?: number | null;
  mlp?: MlpKind;
  dropout?: number;
  positions?: PositionKind;
  pool?: 'cls' | 'mean';
}

export type ResolvedVitConfig = Required<Omit<VitConfig, 'name'>> & EncoderConfig;

export function resolveVitConfig(raw: unknown, where = 'vit config'): ResolvedVitConfig {
  const c = readConfig<ResolvedVitConfig>(where, withoutName(where, raw, 'vit'), { ...ENCODER_SCHEMA, classes: { type: 'int' } });
  checkEncoder(where, c);
  return c;
}

export class Vit implements ZooModel {
  readonly modelName = 'vit';
  readonly params: ParamStore;
  readonly cfg: ResolvedVitConfig;
  /** Sequence length seen by attention (patches + CLS). */
  readonly tokens: number;
  readonly encoder: PatchEncoder;
  private readonly head: Linear;
  private readonly rng: Rng;

  constructor(cfg: VitConfig, seed: number) {
    this.cfg = resolveVitConfig(cfg);
    this.params = new ParamStore(seed);
    this.rng = new Rng(seed);
    this.encoder = new PatchEncoder(this.params, '', this.cfg);
    this.tokens = this.encoder.patches + (this.cfg.pool === 'cls' ? 1 : 0);
    this.head = linear(this.params, 'head', this.cfg.dim, this.cfg.classes);
  }

  get config(): ResolvedVitConfig {
    return this.cfg;
  }

  /** images [B, H, W, C] → logits [B, classes] */
  forward(images: tf.Tensor4D, training = false): tf.Tensor2D {
    return applyLinear(this.head, this.features(images, training)) as tf.Tensor2D;
  }

  /** Pooled encoder features [B, dim] (what a probe or fine-tune head classifies). */
  features(images: tf.Tensor4D, training = false): tf.Tensor2D {
    return this.encoder.features(images, { training, rng: this.rng });
  }

  get featureDim(): number {
    return this.cfg.dim;
  }

  /** Everything but the classifier: the parameters `features` depends on. */
  featureEntries(): [string, tf.Variable][] {
    return this.params.entries().filter(([n]) => !n.startsWith('head.'));
  }

  /** Mean cross-entropy of the logits against integer labels. */
  loss(images: tf.Tensor4D, labels: tf.Tensor1D, training = false): tf.Scalar {
    return crossEntropy(this.forward(images, training), labels);
  }

  batchLoss(batch: Batch, training = false): tf.Scalar {
    return this.loss(need('vit', batch, 'images'), need('vit', batch, 'labels'), training);
  }

  trainableEntries(): [string, tf.Variable][] {
    return this.params.entries();
  }

  dispose(): void {
    this.encoder.dispose();
    this.params.dispose();
  }
}
