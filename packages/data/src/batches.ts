import type { ImageSplit } from './fashion-mnist.js';
import { permutation } from '@sigattn/common';

export interface ImageBatch {
  /** float32 pixels [size, height, width, channels], normalised as (x/255 − mean) / std per channel. */
  x: Float32Array;
  /** int labels [size]. */
  y: Int32Array;
  size: number;
}

export interface BatchOptions {
  batchSize: number;
  /** Shuffle seed; undefined keeps the file order. Use a different seed per epoch (e.g. seed + epoch). */
  seed?: number;
  /** One value for all channels or one per channel (defaults: Fashion-MNIST train statistics). */
  mean?: number | readonly number[];
  std?: number | readonly number[];
  /** Drop the last partial batch (keeps every training step the same shape). */
  dropLast?: boolean;
}

/** Per-channel mean and std of uint8 HWC pixels, on the [0, 1] scale (use them as BatchOptions.mean/std). */
export function channelStats(images: Uint8Array, channels = 1): { mean: number[]; std: number[] } {
  const sum = new Float64Array(channels);
  const sq = new Float64Array(channels);
  for (let i = 0; i < images.length; i++) {
    const v = images[i] / 255;
    sum[i % channels] += v;
    sq[i % channels] += v * v;
  }
  const n = images.length / channels;
  const mean = Array.from(sum, (s) => s / n);
  const std = Array.from(sq, (s, c) => Math.sqrt(Math.max(s / n - mean[c] * mean[c], 1e-12)));
  return { mean, std };
}

/** Normalise uint8 HWC pixels to float32 (x/255 − mean) / std per channel. */
export function normalizeImages(images: Uint8Array, channels: number, mean: number | readonly number[], std: number | readonly number[]): Float32Array {
  const m = typeof mean === 'number' ? new Array<number>(channels).fill(mean) : mean;
  const s = typeof std === 'number' ? new Array<number>(channels).fill(std) : std;
  if (m.length !== channels || s.length !== channels) {
    throw new RangeError(`normalizeImages: expected ${channels} mean/std values (one per channel), found ${m.length}/${s.length}`);
  }
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) {
    const c = i % channels;
    out[i] = (images[i] / 255 - m[c]) / s[c];
  }
  return out;
}

/** Iterate over an image split in (optionally seeded-shuffled) batches. */
export function* imageBatches(split: ImageSplit, opts: BatchOptions): Generator<ImageBatch> {
  const { batchSize, mean = 0.286, std = 0.353, dropLast = false } = opts;
  const channels = split.channels ?? 1;
  const order = opts.seed === undefined ? Int32Array.from({ length: split.count }, (_, i) => i) : permutation(split.count, opts.seed);
  const pixels = split.height * split.width * channels;
  const gathered = new Uint8Array(batchSize * pixels);
  for (let start = 0; start < split.count; start += batchSize) {
    const size = Math.min(batchSize, split.count - start);
    if (dropLast && size < batchSize) break;
    const y = new Int32Array(size);
    for (let b = 0; b < size; b++) {
      const src = order[start + b];
      y[b] = split.labels[src];
      gathered.set(split.images.subarray(src * pixels, (src + 1) * pixels), b * pixels);
    }
    const x = normalizeImages(gathered.subarray(0, size * pixels), channels, mean, std);
    yield { x, y, size };
  }
}
