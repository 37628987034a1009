/**
 * Evaluation heads for the self-supervised models (and ViT): a linear classifier on the backbone's
 * pooled features.
 *   linear-probe: the backbone is frozen (only the head trains); features are standardised without
 *                 parameters first (MAE probes with a parameter-free BatchNorm for the same reason:
 *                 SSL features have arbitrary scale).
 *   finetune:     the backbone's feature path trains together with the head (MAE's decoder, BYOL's
 *                 target and SimCLR/BYOL projectors are left out).
 */
import type * as tf from '@tensorflow/tfjs';
import { ParamStore } from './params.js';
import { applyLinear, crossEntropy, linear, standardize, type Linear } from './layers.js';
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
  /** Standardise features before the linear layer (default: true for probes, false for fine-tuning). */
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

export class ClassifierHead implements ZooModel {
  readonly params: ParamStore;
  private readonly head: Linear;

  constructor(
    readonly modelName: 'linear-probe' | 'finetune',
    readonly config: HeadConfig,
    readonly backbone: FeatureBackbone,
    seed: number,
  ) {
    this.params = new ParamStore(seed);
    this.params.adopt('backbone.', backbone.params);
    this.head = linear(this.params, 'head', backbone.featureDim, config.classes);
  }

  forward(images: tf.Tensor4D, training = false): tf.Tensor2D {
    // A frozen backbone runs in eval mode (no dropout) even while the head trains.
    let f = this.backbone.features(images, this.modelName === 'finetune' && training);
    if (this.config.featureNorm) f = standardize(f) as tf.Tensor2D;
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
  }
}
