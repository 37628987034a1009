/**
 * Image data shared by the vision tasks (classify, mae, simclr, byol, probe, finetune): the `data:`
 * keys, the cheap presence check, the loader, batches as tensors and a k-NN evaluator of features.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { DataError, permutation } from '@sigattn/common';
import { FASHION_MNIST_DEFAULT_PATH, imageBatches, loadFashionMnist, normalizeImages, type ImageSplit } from '@sigattn/data';
import type { TrainConfig } from '../config/run-config.js';
import { int, obj, oneOf, str, withDefault, type Infer } from '../config/schema.js';
import type { TaskContext } from './task.js';

/** Fashion-MNIST's training-set pixel statistics on the [0, 1] scale (imageBatches' defaults). */
export const FASHION_MNIST_MEAN = 0.286;
export const FASHION_MNIST_STD = 0.353;

const SETUP_HINT = 'install it with `tools/setup.sh` (or `apt-get install dataset-fashion-mnist` as root), or set data.path to a directory holding the four IDX files';

const IDX_FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];

/** The `data:` keys every image task has; tasks with more keys spread this into their own obj(). */
export const imageDataKeys = {
  dataset: withDefault(oneOf(['fashion-mnist'] as const), 'fashion-mnist' as const),
  /** Directory with the four gzipped IDX files (Debian's dataset-fashion-mnist puts them here). */
  path: withDefault(str(), FASHION_MNIST_DEFAULT_PATH),
  /** Keep the first N training / test images; 0 = the whole split. */
  trainLimit: withDefault(int({ min: 0 }), 0),
  testLimit: withDefault(int({ min: 0 }), 0),
};

export const imageDataSchema = obj(imageDataKeys);
export type ImageDataConfig = Infer<typeof imageDataSchema>;

export interface ImageSplits {
  train: ImageSplit;
  test: ImageSplit;
}

/** Cheap: the directory and its four files exist (loadImageData checks sizes and checksums). */
export function checkImageData(data: Record<string, unknown>): void {
  const dir = typeof data.path === 'string' ? data.path : FASHION_MNIST_DEFAULT_PATH;
  if (!existsSync(dir)) throw new DataError(`data.path: Fashion-MNIST not found at ${dir}; ${SETUP_HINT}`);
  const missing = IDX_FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) throw new DataError(`data.path: ${dir} lacks ${missing.join(', ')}; ${SETUP_HINT}`);
}

/** Both splits, each cut to its limit (0 = whole split). */
export async function loadImageData(ctx: TaskContext): Promise<ImageSplits> {
  const { path, trainLimit, testLimit } = ctx.cfg.data as ImageDataConfig;
  checkImageData(ctx.cfg.data);
  // The data package throws common's DataError, which the CLI already prints as one line.
  return {
    train: loadFashionMnist('train', path, trainLimit || undefined),
    test: loadFashionMnist('test', path, testLimit || undefined),
  };
}

/** One batch of normalised images as a tensor [size, H, W, C]. */
export function imageTensor(batch: { x: Float32Array; size: number }, split: ImageSplit): tf.Tensor4D {
  return tf.tensor4d(batch.x, [batch.size, split.height, split.width, split.channels ?? 1]);
}

/** A training batch that knows which images it holds (their indices in the split). */
export interface IndexedImageBatch {
  /** Normalised pixels [size, H, W, C] row-major. */
  x: Float32Array;
  /** uint8 pixels of the same images (what augmentations start from). */
  raw: Uint8Array;
  y: Int32Array;
  ids: Int32Array;
  size: number;
}

/** The images `ids` of a split, as uint8 pixels, normalised pixels and labels. */
export function gatherImages(split: ImageSplit, ids: ArrayLike<number>): Omit<IndexedImageBatch, 'ids' | 'size'> {
  const channels = split.channels ?? 1;
  const pixels = split.height * split.width * channels;
  const raw = new Uint8Array(ids.length * pixels);
  const y = new Int32Array(ids.length);
  for (let b = 0; b < ids.length; b++) {
    raw.set(split.images.subarray(ids[b] * pixels, (ids[b] + 1) * pixels), b * pixels);
    y[b] = split.labels[ids[b]];
  }
  return { raw, y, x: normalizeImages(raw, channels, FASHION_MNIST_MEAN, FASHION_MNIST_STD) };
}

/** Training batches of one epoch: seeded order per (seed, epoch), full batches only, at most `steps`. */
export function* trainImageBatches(split: ImageSplit, batchSize: number, seed: number, epoch: number, steps: number): Generator<IndexedImageBatch> {
  const order = permutation(split.count, seed * 1000 + epoch);
  const full = Math.floor(split.count / batchSize);
  for (let s = 0; s < Math.min(steps, full); s++) {
    const ids = order.subarray(s * batchSize, (s + 1) * batchSize);
    yield { ...gatherImages(split, ids), ids, size: batchSize };
  }
}

/** Optimiser steps per epoch: full batches of the training split, capped by train.stepsPerEpoch (0 = no cap). */
export function trainSteps(split: ImageSplit, train: TrainConfig): number {
  const full = fullBatches(split, train.batchSize);
  return train.stepsPerEpoch > 0 ? Math.min(full, train.stepsPerEpoch) : full;
}

/** Full training batches in one pass; a config with fewer images than one batch is an error naming the keys. */
export function fullBatches(split: ImageSplit, batchSize: number): number {
  const steps = Math.floor(split.count / batchSize);
  if (steps === 0) {
    throw new DataError(`train.batchSize ${batchSize} is larger than the ${split.count} training images; lower it or raise data.trainLimit`);
  }
  return steps;
}

/** The first `limit` images of a split (0 = all), sharing its buffers. */
export function headOf(split: ImageSplit, limit: number): ImageSplit {
  if (limit === 0 || limit >= split.count) return split;
  const pixels = split.height * split.width * (split.channels ?? 1);
  return { ...split, images: split.images.subarray(0, limit * pixels), labels: split.labels.subarray(0, limit), count: limit };
}

/**
 * Features of every image of a split, in file order: `features` maps normalised images [B, H, W, C]
 * to [B, F]. Returns [count, F] row-major and F.
 */
export async function splitFeatures(
  split: ImageSplit,
  batchSize: number,
  features: (images: tf.Tensor4D) => tf.Tensor2D,
): Promise<{ values: Float32Array; dim: number }> {
  let values = new Float32Array(0);
  let dim = 0;
  let offset = 0;
  for (const batch of imageBatches(split, { batchSize })) {
    const x = imageTensor(batch, split);
    const f = tf.tidy(() => features(x));
    const data = (await f.data()) as Float32Array;
    if (dim === 0) {
      dim = f.shape[1];
      values = new Float32Array(split.count * dim);
    }
    values.set(data, offset);
    offset += data.length;
    tf.dispose([x, f]);
  }
  return { values, dim };
}

/**
 * k-NN accuracy of features by cosine similarity (the SSL literature's monitor, e.g. DINO's): each
 * query takes the majority label of its k most similar memory rows, ties to the most similar neighbour's
 * label. Plain majority vote rather than DINO's temperature-weighted vote keeps it parameter-free.
 */
export function knnAccuracy(
  memory: { values: Float32Array; labels: ArrayLike<number> },
  queries: { values: Float32Array; labels: ArrayLike<number> },
  dim: number,
  k: number,
  classes: number,
): number {
  const unit = (v: Float32Array): Float32Array => {
    const out = new Float32Array(v.length);
    for (let r = 0; r < v.length / dim; r++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += v[r * dim + j] ** 2;
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (let j = 0; j < dim; j++) out[r * dim + j] = v[r * dim + j] * inv;
    }
    return out;
  };
  const m = unit(memory.values);
  const q = unit(queries.values);
  const nm = m.length / dim;
  const nq = q.length / dim;
  const kk = Math.min(k, nm);
  const sims = new Float32Array(nm);
  let correct = 0;
  for (let i = 0; i < nq; i++) {
    for (let r = 0; r < nm; r++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += q[i * dim + j] * m[r * dim + j];
      sims[r] = s;
    }
    const top = Array.from({ length: nm }, (_, r) => r)
      .sort((a, b) => sims[b] - sims[a] || a - b)
      .slice(0, kk);
    const votes = new Int32Array(classes);
    for (const r of top) votes[memory.labels[r]]++;
    let best = memory.labels[top[0]];
    for (let c = 0; c < classes; c++) if (votes[c] > votes[best]) best = c;
    if (best === queries.labels[i]) correct++;
  }
  return nq === 0 ? 0 : correct / nq;
}
