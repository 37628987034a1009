/** The interface every zoo model implements, so one training loop can drive any of them. */
import type * as tf from '@tensorflow/tfjs';
import type { ParamStore } from './params.js';

/** A training batch; each model reads the fields it needs and names any missing one. */
export interface Batch {
  /** Images [B, H, W, C] (ViT, MAE, probes). */
  images?: tf.Tensor4D;
  /** MAE: the visible patch indices of each image (default: a fresh mask from the model's RNG). */
  visibleIdx?: Int32Array[];
  /** Two augmented views of the same images (SimCLR, BYOL). */
  views?: [tf.Tensor4D, tf.Tensor4D];
  /** Integer class labels [B]. */
  labels?: tf.Tensor1D;
  /** Log-mel features [B, T, mels] (ASR). */
  features?: tf.Tensor3D;
  /** Valid frames per utterance (ASR; default all T). */
  featureLengths?: number[];
  /** Label ids per utterance, without blanks (ASR). */
  targets?: number[][];
  /** Token ids [B, T] int32 (LM). */
  tokens?: tf.Tensor2D;
  /** Weights [B, T − 1] of the next-token targets tokens[:, 1:] (LM; default all 1): 0 leaves a target unscored. */
  lossMask?: tf.Tensor2D;
}

export interface ZooModel {
  /** Registry name ('vit', 'mae', …). */
  readonly modelName: string;
  /** The resolved config (every default filled in); saved with checkpoints. */
  readonly config: object;
  readonly params: ParamStore;
  /** What the optimiser updates (BYOL's target network and a probe's frozen backbone are excluded). */
  trainableEntries(): [string, tf.Variable][];
  /** Scalar training loss. `training` enables dropout (and the model's own random draws). */
  batchLoss(batch: Batch, training?: boolean): tf.Scalar;
  /** Hook after each optimiser step (BYOL's EMA target update). */
  afterStep?(step: number, totalSteps: number): void;
  dispose(): void;
}

export function need<K extends keyof Batch>(model: string, batch: Batch, key: K): NonNullable<Batch[K]> {
  const v = batch[key];
  if (v === undefined || v === null) {
    throw new Error(`${model}: batch.${String(key)} is missing; this model needs it (see Batch in model.ts)`);
  }
  return v as NonNullable<Batch[K]>;
}
