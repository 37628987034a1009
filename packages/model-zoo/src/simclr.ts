/**
 * SimCLR (Chen et al. 2020): a ViT backbone and a projection MLP map two augmented views of each image
 * to unit vectors; the NT-Xent loss makes each view pick its partner among the other 2B − 1 embeddings
 * at temperature τ. The backbone's pooled features (before the projector) are what probes use.
 * (SimCLR's projector uses BatchNorm; here LayerNorm, so tiny batches behave.)
 */
import * as tf from '@tensorflow/tfjs';
import { ParamStore } from './params.js';
import { Rng } from '@sigattn/common';
import { applyMlpHead, l2normalize, mlpHead, type MlpHead } from './layers.js';
import { checkEncoder, ENCODER_SCHEMA, PatchEncoder, type EncoderConfig } from './encoder.js';
import { readConfig, withoutName } from './config.js';
import { need, type Batch, type ZooModel } from './model.js';

export interface SimclrConfig extends EncoderConfig {
  projHidden: number;
  projDim: number;
  /** NT-Xent temperature τ (SimCLR: 0.1–0.2). */
  temperature: number;
}

export function resolveSimclrConfig(raw: unknown, where = 'simclr config'): SimclrConfig {
  const c = readConfig<SimclrConfig>(where, withoutName(where, raw, 'simclr'), {
    ...ENCODER_SCHEMA,
    projHidden: { type: 'int' },
    projDim: { type: 'int' },
    temperature: { type: 'number', min: 1e-3, max: 10, default: 0.2 },
  });
  checkEncoder(where, c);
  return c;
}

/**
 * NT-Xent over z1, z2 [B, p]: with z = normalise([z1; z2]) and s = z zᵀ/τ (self-similarity masked),
 * loss = mean over the 2B rows of −log softmax(s)[i, partner(i)], partner(i) = i ± B.
 */
export function ntXent(z1: tf.Tensor2D, z2: tf.Tensor2D, temperature: number): tf.Scalar {
  const B = z1.shape[0];
  const z = l2normalize(tf.concat([z1, z2], 0));
  const eye = tf.eye(2 * B);
  const logits = tf.sub(tf.div(tf.matMul(z, z, false, true), temperature), tf.mul(eye, 1e9));
  const partner = tf.concat([tf.range(B, 2 * B, 1, 'int32'), tf.range(0, B, 1, 'int32')]);
  const onehot = tf.oneHot(partner, 2 * B).toFloat();
  return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), -1))) as tf.Scalar;
}

export class Simclr implements ZooModel {
  readonly modelName = 'simclr';
  readonly params: ParamStore;
  readonly config: SimclrConfig;
  readonly backbone: PatchEncoder;
  private readonly projector: MlpHead;
  private readonly rng: Rng;

  constructor(cfg: unknown, seed: number) {
    const c = (this.config = resolveSimclrConfig(cfg));
    this.params = new ParamStore(seed);
    this.rng = new Rng(seed + 1);
    this.backbone = new PatchEncoder(this.params, 'backbone.', c);
    this.projector = mlpHead(this.params, 'projector', c.dim, c.projHidden, c.projDim);
  }

  features(images: tf.Tensor4D, training = false): tf.Tensor2D {
    return this.backbone.features(images, { training, rng: this.rng });
  }

  project(images: tf.Tensor4D, training = false): tf.Tensor2D {
    return applyMlpHead(this.projector, this.features(images, training)) as tf.Tensor2D;
  }

  loss(view1: tf.Tensor4D, view2: tf.Tensor4D, training = false): tf.Scalar {
    return ntXent(this.project(view1, training), this.project(view2, training), this.config.temperature);
  }

  get featureDim(): number {
    return this.config.dim;
  }

  featureEntries(): [string, tf.Variable][] {
    return this.params.entries().filter(([n]) => n.startsWith('backbone.'));
  }

  batchLoss(batch: Batch, training = false): tf.Scalar {
    const [v1, v2] = need('simclr', batch, 'views');
    return this.loss(v1, v2, training);
  }

  trainableEntries(): [string, tf.Variable][] {
    return this.params.entries();
  }

  dispose(): void {
    this.backbone.dispose();
    this.params.dispose();
  }
}
