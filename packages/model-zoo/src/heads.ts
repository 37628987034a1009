/**
 * Evaluation heads for the self-supervised models (and ViT): a linear classifier on the backbone's
 * pooled features.
 *   linear-probe: the backbone is frozen (only the head trains); each feature is first standardised
 *                 across the batch without affine parameters, MAE's probe (BatchNorm, affine=False):
 *                 SSL features have arbitrary per-dimension scales.
 *   finetune:     the backbone's feature path trains together with the head (MAE's decoder, BYOL's
 *                 target and SimCLR/BYOL projectors are left out).
 */
import * as tf from '@tensorflow/tfjs';
import { ParamStore } from './params.js';
import { applyLinear, crossEntropy, linear, type Linear } from './layers.js';
import { fail, readConfig, withoutName } from './config.js';
import { need, type Batch, type ZooModel } from './model.js';

/** A model whose pooled features a head can classify. */
export interface FeatureBackbone extends ZooModel {
  features(images: tf.Tensor4D, training?: boolean): tf.Tensor2D;
  readonly featureDim: number;
  /** The parameters `features` depends on (names within the backbone's own store). */
  featureEntries(): [string, tf.Variable][];
}

export interface HeadConfig {
  /** The backbone's model spec: { name: 'mae' | 'simclr' | 'byol' | 'vit', ...its config }. */
  backbone: { name: string } & Record<string, unknown>;
  classes: number;
  /**
   * Standardise each feature across the batch before the linear layer, without affine parameters
   * (BatchNorm, affine=False); default true for probes, false for fine-tuning.
   */
  featureNorm: boolean;
}

export function resolveHeadConfig(raw: unknown, where: string, probe: boolean): HeadConfig {
  return readConfig<HeadConfig>(where, withoutName(where, raw, probe ? 'linear-probe' : 'finetune'), {
    backbone: {
      type: 'custom',
      describe: "a model spec such as { name: 'mae', ... }",
      parse: (v, path) => {
        if (v === null || typeof v !== 'object' || typeof (v as { name?: unknown }).name !== 'string') {
          fail(path, "a mapping with a 'name' key naming the backbone", v, 'write backbone: { name: mae, ... }');
        }
        return v;
      },
    },
    classes: { type: 'int', min: 2 },
    featureNorm: { type: 'bool', default: probe },
  });
}

/** BatchNorm's epsilon in MAE's probe. */
const FEATURE_NORM_EPS = 1e-6;
/** Floor of the running statistics' update weight (torch BatchNorm's momentum 0.1). */
const FEATURE_NORM_MOMENTUM = 0.1;

/**
 * Running statistics of a parameter-free BatchNorm, kept in the head's store (so checkpoints carry
 * them) but never in trainableEntries.
 */
interface FeatureNorm {
  mean: tf.Variable;
  variance: tf.Variable;
  /** Training batches seen so far (a scalar). */
  count: tf.Variable;
}

export class ClassifierHead implements ZooModel {
  readonly params: ParamStore;
  private readonly head: Linear;
  private readonly featureNorm: FeatureNorm | null;

  constructor(
    readonly modelName: 'linear-probe' | 'finetune',
    readonly config: HeadConfig,
    readonly backbone: FeatureBackbone,
    seed: number,
  ) {
    this.params = new ParamStore(seed);
    this.params.adopt('backbone.', backbone.params);
    this.head = linear(this.params, 'head', backbone.featureDim, config.classes);
    const F = backbone.featureDim;
    this.featureNorm = config.featureNorm
      ? {
          mean: this.params.add('featnorm.mean', [F], { kind: 'zeros' }),
          variance: this.params.add('featnorm.var', [F], { kind: 'ones' }),
          count: this.params.add('featnorm.count', [], { kind: 'zeros' }),
        }
      : null;
  }

  /**
   * Per-feature standardisation across the batch (axis 0), no affine parameters. Training uses the
   * batch's statistics and folds them into the running ones; evaluation uses the running ones, so a
   * test image's logits do not depend on the rest of its batch. The update weight is
   * max(1/(batches seen + 1), 0.1): an exact average over the first ten batches (a frozen backbone's
   * features are stationary, so a probe's statistics are right after a few steps), then torch's EMA.
   */
  private normalizeFeatures(f: tf.Tensor2D, fn: FeatureNorm, training: boolean): tf.Tensor2D {
    if (!training) return tf.div(tf.sub(f, fn.mean), tf.sqrt(tf.add(fn.variance, FEATURE_NORM_EPS))) as tf.Tensor2D;
    const { mean, variance } = tf.moments(f, 0);
    const B = f.shape[0];
    // The running variance is unbiased (as torch's), the batch's own normalisation is not. The weight
    // stays on the device: webgpu cannot read a tensor synchronously.
    const unbiased = tf.mul(variance, B > 1 ? B / (B - 1) : 1);
    const w = tf.maximum(tf.div(1, tf.add(fn.count, 1)), FEATURE_NORM_MOMENTUM);
    fn.mean.assign(tf.add(fn.mean, tf.mul(tf.sub(mean, fn.mean), w)));
    fn.variance.assign(tf.add(fn.variance, tf.mul(tf.sub(unbiased, fn.variance), w)));
    fn.count.assign(tf.add(fn.count, 1));
    return tf.div(tf.sub(f, mean), tf.sqrt(tf.add(variance, FEATURE_NORM_EPS))) as tf.Tensor2D;
  }

  forward(images: tf.Tensor4D, training = false): tf.Tensor2D {
    // A frozen backbone runs in eval mode (no dropout) even while the head trains.
    let f = this.backbone.features(images, this.modelName === 'finetune' && training);
    if (this.featureNorm !== null) f = this.normalizeFeatures(f, this.featureNorm, training);
    return applyLinear(this.head, f) as tf.Tensor2D;
  }

  loss(images: tf.Tensor4D, labels: tf.Tensor1D, training = false): tf.Scalar {
    return crossEntropy(this.forward(images, training), labels);
  }

  batchLoss(batch: Batch, training = false): tf.Scalar {
    return this.loss(need(this.modelName, batch, 'images'), need(this.modelName, batch, 'labels'), training);
  }

  trainableEntries(): [string, tf.Variable][] {
    const head = this.params.entries().filter(([n]) => n.startsWith('head.'));
    if (this.modelName === 'linear-probe') return head;
    return [...this.backbone.featureEntries().map(([n, v]): [string, tf.Variable] => [`backbone.${n}`, v]), ...head];
  }

  dispose(): void {
    this.backbone.dispose();
    this.head.w.dispose();
    this.head.b?.dispose();
    if (this.featureNorm !== null) tf.dispose([this.featureNorm.mean, this.featureNorm.variance, this.featureNorm.count]);
  }
}
