/**
 * Reader for the CIFAR-10 binary format (cifar-10-binary.tar.gz, unpacked: data_batch_1..5.bin, test_batch.bin).
 * Each record is 3073 bytes: one label byte, then 1024 red, 1024 green and 1024 blue bytes (32×32, row-major).
 * Images are returned channel-last (HWC) like the rest of this package.
 */
import { join } from 'node:path';
import { DataError } from '@sigattn/common';
import type { ImageSplit } from '../fashion-mnist.js';
import { readFileOrThrow } from '../fsutil.js';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;
export const CIFAR10_RECORD_BYTES = 1 + 32 * 32 * 3;
export const CIFAR10_HINT =
  'CIFAR-10 is not shipped by Debian: bring the binary version (cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html), unpack it and pass its cifar-10-batches-bin directory';

const SPLIT_FILES = {
  train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
  test: ['test_batch.bin'],
} as const;

/** Parse one CIFAR-10 binary batch. `source` names the file in error messages. */
export function parseCifar10(buf: Uint8Array, source: string): ImageSplit {
  if (buf.length === 0 || buf.length % CIFAR10_RECORD_BYTES !== 0) {
    throw new DataError(
      `${source}: expected a whole number of ${CIFAR10_RECORD_BYTES}-byte CIFAR-10 records, found ${buf.length} bytes` +
        ` (${Math.floor(buf.length / CIFAR10_RECORD_BYTES)} records + ${buf.length % CIFAR10_RECORD_BYTES}); the file is truncated or not CIFAR-10 binary; ${CIFAR10_HINT}`,
    );
  }
  const count = buf.length / CIFAR10_RECORD_BYTES;
  const images = new Uint8Array(count * 3072);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const rec = n * CIFAR10_RECORD_BYTES;
    const label = buf[rec];
    if (label > 9) throw new DataError(`${source}: record ${n} has label ${label}, expected 0..9; the file is corrupt or not CIFAR-10 (CIFAR-100 has 2 label bytes); ${CIFAR10_HINT}`);
    labels[n] = label;
    // planar RGB → interleaved HWC
    for (let p = 0; p < 1024; p++) {
      for (let c = 0; c < 3; c++) images[n * 3072 + p * 3 + c] = buf[rec + 1 + c * 1024 + p];
    }
  }
  return { images, labels, count, height: 32, width: 32, channels: 3 };
}

/** Encode images (HWC uint8, 32×32×3) and labels back into CIFAR-10 binary (for fixtures and subsets). */
export function encodeCifar10(split: ImageSplit): Uint8Array {
  const out = new Uint8Array(split.count * CIFAR10_RECORD_BYTES);
  for (let n = 0; n < split.count; n++) {
    const rec = n * CIFAR10_RECORD_BYTES;
    out[rec] = split.labels[n];
    for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) out[rec + 1 + c * 1024 + p] = split.images[n * 3072 + p * 3 + c];
  }
  return out;
}

/** Load the train (5 batches) or test split from a cifar-10-batches-bin directory. */
export function loadCifar10(split: 'train' | 'test', dir: string, limit?: number): ImageSplit {
  const parts = SPLIT_FILES[split].map((f) => parseCifar10(readFileOrThrow(join(dir, f), CIFAR10_HINT), join(dir, f)));
  const total = parts.reduce((a, p) => a + p.count, 0);
  const count = limit === undefined ? total : Math.min(limit, total);
  const images = new Uint8Array(count * 3072);
  const labels = new Uint8Array(count);
  let at = 0;
  for (const p of parts) {
    const take = Math.min(p.count, count - at);
    if (take <= 0) break;
    images.set(p.images.subarray(0, take * 3072), at * 3072);
    labels.set(p.labels.subarray(0, take), at);
    at += take;
  }
  return { images, labels, count, height: 32, width: 32, channels: 3 };
}
