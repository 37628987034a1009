/** Fashion-MNIST from Debian's `dataset-fashion-mnist` (or any directory with the four gzipped IDX files). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '@sigattn/common';
import { readIdxFile } from './idx.js';
import { FASHION_MNIST_MANIFEST, verifyFiles } from './manifest.js';

export const FASHION_MNIST_DEFAULT_PATH = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_SETUP_HINT = 'install it with: tools/setup.sh (Debian package dataset-fashion-mnist)';
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

export interface ImageSplit {
  /** uint8 pixels, [count, height, width(, channels)] row-major. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
  /** Interleaved channels per pixel (HWC); absent means 1 (grayscale). */
  channels?: number;
}

const FILES = {
  train: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'],
  test: ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'],
} as const;

export interface FashionMnistOptions {
  /**
   * Check the split's files against datasets/manifests/fashion-mnist.json: `true` checks sizes and sha256 (well under
   * a second), `'sizes'` only sizes, `false` nothing. Default: `true` for the Debian path, which the manifest
   * describes, and `false` for any other directory (your own or generated IDX files with the same names).
   */
  verify?: boolean | 'sizes';
}

/** Load one split; `limit` keeps the first `limit` examples. */
export function loadFashionMnist(
  split: 'train' | 'test',
  dir = FASHION_MNIST_DEFAULT_PATH,
  limit?: number,
  opts: FashionMnistOptions = {},
): ImageSplit {
  if (!existsSync(dir)) {
    throw new DataError(`Fashion-MNIST not found at ${dir}: ${FASHION_MNIST_SETUP_HINT}, or set data.path to a directory holding the IDX files`);
  }
  const [imgFile, lblFile] = FILES[split];
  const verify = opts.verify ?? dir === FASHION_MNIST_DEFAULT_PATH;
  if (verify !== false) {
    verifyFiles(dir, FASHION_MNIST_MANIFEST, {
      only: [imgFile, lblFile],
      sizesOnly: verify === 'sizes',
      hint: `${FASHION_MNIST_SETUP_HINT}; if these are your own IDX files, load with { verify: false }`,
    });
  }
  const img = readIdxFile(join(dir, imgFile), FASHION_MNIST_SETUP_HINT);
  const lbl = readIdxFile(join(dir, lblFile), FASHION_MNIST_SETUP_HINT);
  if (img.shape.length !== 3) {
    throw new DataError(`${join(dir, imgFile)}: expected rank-3 images [N, H, W], found shape [${img.shape.join(', ')}]`);
  }
  if (lbl.shape.length !== 1 || lbl.shape[0] !== img.shape[0]) {
    throw new DataError(`${join(dir, lblFile)}: expected ${img.shape[0]} labels to match ${imgFile}, found shape [${lbl.shape.join(', ')}]`);
  }
  const [n, h, w] = img.shape;
  const count = limit === undefined ? n : Math.min(limit, n);
  return { images: img.data.subarray(0, count * h * w), labels: lbl.data.subarray(0, count), count, height: h, width: w };
}
