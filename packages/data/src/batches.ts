import type { ImageSplit } from './fashion-mnist.js';
import { permutation } from './random.js';

export interface ImageBatch {
  /** float32 pixels [size, height, width, 1], normalised as (x/255 − mean) / std. */
  x: Float32Array;
  /** int labels [size]. */
  y: Int32Array;
  size: number;
}

export interface BatchOptions {
  batchSize: number;
  /** Shuffle seed; undefined keeps the file order. */
  seed?: number;
  mean?: number;
  std?: number;
  /** Drop the last partial batch (keeps every training step the same shape). */
  dropLast?: boolean;
}

/** Iterate over an image split in (optionally seeded-shuffled) batches. */
export function* imageBatches(split: ImageSplit, opts: BatchOptions): Generator<ImageBatch> {
  const { batchSize, mean = 0.2860, std = 0.3530, dropLast = false } = opts;
  const order = opts.seed === undefined ? Int32Array.from({ length: split.count }, (_, i) => i) : permutation(split.count, opts.seed);
  const pixels = split.height * split.width;
  for (let start = 0; start < split.count; start += batchSize) {
    const size = Math.min(batchSize, split.count - start);
    if (dropLast && size < batchSize) break;
    const x = new Float32Array(size * pixels);
    const y = new Int32Array(size);
    for (let b = 0; b < size; b++) {
      const src = order[start + b];
      y[b] = split.labels[src];
      const off = src * pixels;
      for (let p = 0; p < pixels; p++) x[b * pixels + p] = (split.images[off + p] / 255 - mean) / std;
    }
    yield { x, y, size };
  }
}
