/**
 * What `simclr` and `byol` share: two augmented views per image (data package augmentations; each
 * view's seed comes from (unit seed, epoch, image index, view), so batches and resumed runs are
 * deterministic), a held-out loss on fixed test views, and k-NN accuracy of the backbone's pooled
 * features. The optimiser (AdamW or LARS) is `train.optimizer`; BYOL's EMA target moves in the
 * model's afterStep, which the loop calls after every step.
 */
import * as tf from '@tensorflow/tfjs';
import { deriveSeed } from '@sigattn/common';
import { twoViews, type AugmentConfig, type ImageSplit } from '@sigattn/data';
import type { FeatureBackbone, ZooModel } from '@sigattn/model-zoo';
import { int, obj, withDefault, type Infer } from '../config/schema.js';
import type { Task } from './task.js';
import {
  checkImageData,
  FASHION_MNIST_MEAN,
  FASHION_MNIST_STD,
  gatherImages,
  headOf,
  imageDataKeys,
  knnAccuracy,
  loadImageData,
  splitFeatures,
  trainImageBatches,
  trainSteps,
  type ImageSplits,
} from './image-data.js';

/** Fashion-MNIST's classes (the k-NN vote's label range). */
const CLASSES = 10;
/** Stream tag of the held-out views: every unit is scored on the same test views. */
const EVAL_VIEW_STREAM = 0x5353_4c31;

export const contrastiveDataSchema = obj({
  ...imageDataKeys,
  /** k-NN memory bank: the first N training images (0 = all); the test split is the query set. */
  knnTrainLimit: withDefault(int({ min: 0 }), 2000),
  /** Neighbours voting in the k-NN evaluation (cosine similarity, majority vote). */
  knnK: withDefault(int({ min: 1 }), 20),
});
export type ContrastiveData = Infer<typeof contrastiveDataSchema>;

/** Two normalised views [B, H, W, C] of the images `ids`, each image's views seeded by (seed, id, view). */
function viewTensors(split: ImageSplit, ids: ArrayLike<number>, seed: number, augment: [AugmentConfig, AugmentConfig]): [tf.Tensor4D, tf.Tensor4D] {
  const channels = split.channels ?? 1;
  const shape = { height: split.height, width: split.width, channels };
  const { raw } = gatherImages(split, ids);
  const { view1, view2 } = twoViews(raw, ids.length, shape, seed, augment, ids);
  const toTensor = (v: Float32Array) => {
    // The views are in [0, 1]; normalise them as every other vision task's inputs (the probe's too).
    for (let i = 0; i < v.length; i++) v[i] = (v[i] - FASHION_MNIST_MEAN) / FASHION_MNIST_STD;
    return tf.tensor4d(v, [ids.length, split.height, split.width, channels]);
  };
  return [toTensor(view1), toTensor(view2)];
}

/**
 * Mean loss on the test split's fixed views, in batches of train.batchSize (the contrastive loss
 * depends on how many negatives a batch holds, so it matches training); a ragged last batch is left
 * out unless it is the only one.
 */
async function heldOutLoss(model: ZooModel, test: ImageSplit, batchSize: number, augment: [AugmentConfig, AugmentConfig]): Promise<number> {
  const size = Math.min(batchSize, test.count);
  const batches = Math.floor(test.count / size);
  let sum = 0;
  for (let b = 0; b < batches; b++) {
    const ids = Int32Array.from({ length: size }, (_, i) => b * size + i);
    const views = viewTensors(test, ids, EVAL_VIEW_STREAM, augment);
    const loss = tf.tidy(() => model.batchLoss({ views }, false));
    sum += (await loss.data())[0];
    tf.dispose([...views, loss]);
  }
  return sum / batches;
}

/** k-NN accuracy of the backbone's pooled features: training images as the memory bank, test images as queries. */
export async function knnEvaluate(backbone: FeatureBackbone, data: ImageSplits, knnTrainLimit: number, k: number, batchSize: number): Promise<number> {
  const memorySplit = headOf(data.train, knnTrainLimit);
  const features = (x: tf.Tensor4D) => backbone.features(x, false);
  const memory = await splitFeatures(memorySplit, batchSize, features);
  const queries = await splitFeatures(data.test, batchSize, features);
  return knnAccuracy({ values: memory.values, labels: memorySplit.labels }, { values: queries.values, labels: data.test.labels }, memory.dim, k, CLASSES);
}

/** A two-view self-supervised task over one zoo model (`simclr` or `byol`). */
export function contrastiveTask(name: 'simclr' | 'byol', description: string, augment: [AugmentConfig, AugmentConfig]): Task<ImageSplits> {
  return {
    name,
    description,
    models: [name],
    dataSchema: contrastiveDataSchema,
    metrics: [
      { name: 'knn_accuracy', label: 'k-NN accuracy', higherIsBetter: true, percent: true },
      { name: 'test_loss', label: 'test loss', higherIsBetter: false },
    ],
    checkData: checkImageData,
    load: loadImageData,
    stepsPerEpoch: (data, { cfg }) => trainSteps(data.train, cfg.train),
    *trainBatches(data, ctx, epoch) {
      const { cfg, seed } = ctx;
      for (const batch of trainImageBatches(data.train, cfg.train.batchSize, seed, epoch, this.stepsPerEpoch(data, ctx))) {
        yield { views: viewTensors(data.train, batch.ids, deriveSeed(seed, epoch), augment) };
      }
    },
    async evaluate(model, data, { cfg }) {
      const d = cfg.data as ContrastiveData;
      const test_loss = await heldOutLoss(model, data.test, cfg.train.batchSize, augment);
      const knn_accuracy = await knnEvaluate(model as unknown as FeatureBackbone, data, d.knnTrainLimit, d.knnK, cfg.train.evalBatchSize);
      return { knn_accuracy, test_loss };
    },
  };
}
