/**
 * BYOL (Grill et al. 2020): an online network (ViT backbone → projector → predictor) regresses the
 * projection that a target network (backbone → projector, same shapes) gives for the other view. The
 * target gets no gradient; after each step it moves toward the online weights by EMA with
 * τ rising from τ_base to 1 on a cosine schedule. The loss is symmetric over the two views:
 *   L = (2 − 2 cos(q₁, z₂')) + (2 − 2 cos(q₂, z₁')), averaged over the batch.
 */
import * as tf from '@tensorflow/tfjs';
import { ParamStore } from './params.js';
import { Rng } from '@sigattn/common';
import { applyMlpHead, l2normalize, mlpHead, type MlpHead } from './layers.js';
import { checkEncoder, ENCODER_SCHEMA, PatchEncoder, type EncoderConfig } from './encoder.js';
import { readConfig, withoutName } from './config.js';
import { cosineEmaDecay, emaUpdate } from './optim/ema.js';
import { need, type Batch, type ZooModel } from './model.js';

export interface ByolConfig extends EncoderConfig {
  projHidden: number;
  projDim: number;
  predHidden: number;
  /** EMA decay at step 0 (BYOL: 0.996), rising to 1 by the last step. */
  tauBase: number;
}

export function resolveByolConfig(raw: unknown, where = 'byol config'): ByolConfig {
  const c = readConfig<ByolConfig>(where, withoutName(where, raw, 'byol'), {
    ...ENCODER_SCHEMA,
    projHidden: { type: 'int' },
    projDim: { type: 'int' },
    predHidden: { type: 'int' },
    tauBase: { type: 'number', min: 0, max: 1, default: 0.996 },
  });
  checkEncoder(where, c);
  return c;
}

/** 2 − 2·cos(p, z) per row, averaged. */
function regression(p: tf.Tensor, z: tf.Tensor): tf.Scalar {
  return tf.mean(tf.sub(2, tf.mul(2, tf.sum(tf.mul(l2normalize(p), l2normalize(z)), -1)))) as tf.Scalar;
}

export class Byol implements ZooModel {
  readonly modelName = 'byol';
  readonly params: ParamStore;
  readonly config: ByolConfig;
  readonly online: PatchEncoder;
  private readonly onlineProj: MlpHead;
  private readonly predictor: MlpHead;
  private readonly target: PatchEncoder;
  private readonly targetProj: MlpHead;
  private readonly rng: Rng;

  constructor(cfg: unknown, seed: number) {
    const c = (this.config = resolveByolConfig(cfg));
    const p = (this.params = new ParamStore(seed));
    this.rng = new Rng(seed + 1);
    this.online = new PatchEncoder(p, 'online.backbone.', c);
    this.onlineProj = mlpHead(p, 'online.projector', c.dim, c.projHidden, c.projDim);
    this.predictor = mlpHead(p, 'predictor', c.projDim, c.predHidden, c.projDim);
    this.target = new PatchEncoder(p, 'target.backbone.', c);
    this.targetProj = mlpHead(p, 'target.projector', c.dim, c.projHidden, c.projDim);
    // The target starts as an exact copy of the online network.
    const [t, o] = this.targetPairs();
    emaUpdate(t, o, 0);
  }

  /** [target variables, matching online variables], paired by name. */
  private targetPairs(): [tf.Variable[], tf.Variable[]] {
    const targets = this.params.entries().filter(([n]) => n.startsWith('target.'));
    return [targets.map(([, v]) => v), targets.map(([n]) => this.params.get(`online.${n.slice('target.'.length)}`))];
  }

  features(images: tf.Tensor4D, training = false): tf.Tensor2D {
    return this.online.features(images, { training, rng: this.rng });
  }

  private predict(images: tf.Tensor4D, training: boolean): tf.Tensor {
    return applyMlpHead(this.predictor, applyMlpHead(this.onlineProj, this.features(images, training)));
  }

  private targetProject(images: tf.Tensor4D): tf.Tensor {
    return applyMlpHead(this.targetProj, this.target.features(images));
  }

  loss(view1: tf.Tensor4D, view2: tf.Tensor4D, training = false): tf.Scalar {
    const q1 = this.predict(view1, training);
    const q2 = this.predict(view2, training);
    return tf.add(regression(q1, this.targetProject(view2)), regression(q2, this.targetProject(view1))) as tf.Scalar;
  }

  /** EMA target update with τ(step) = 1 − (1 − τ_base)(cos(π·step/total) + 1)/2. */
  afterStep(step: number, totalSteps: number): void {
    const [t, o] = this.targetPairs();
    emaUpdate(t, o, cosineEmaDecay(this.config.tauBase, step, totalSteps));
  }

  get featureDim(): number {
    return this.config.dim;
  }

  featureEntries(): [string, tf.Variable][] {
    return this.params.entries().filter(([n]) => n.startsWith('online.backbone.'));
  }

  batchLoss(batch: Batch, training = false): tf.Scalar {
    const [v1, v2] = need('byol', batch, 'views');
    return this.loss(v1, v2, training);
  }

  /** Online network and predictor; the target only moves by EMA. */
  trainableEntries(): [string, tf.Variable][] {
    return this.params.entries().filter(([n]) => !n.startsWith('target.'));
  }

  dispose(): void {
    this.online.dispose();
    this.target.dispose();
    this.params.dispose();
  }
}
