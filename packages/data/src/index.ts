export { DataError } from './errors.js';
export { parseIdx, readIdxFile, encodeIdx, type IdxArray } from './idx.js';
export {
  loadFashionMnist,
  FASHION_MNIST_DEFAULT_PATH,
  FASHION_MNIST_SETUP_HINT,
  FASHION_MNIST_CLASSES,
  type ImageSplit,
} from './fashion-mnist.js';
export { imageBatches, type ImageBatch, type BatchOptions } from './batches.js';
export { Rng, permutation } from './random.js';
