/** Shared pieces of the cuda kernels: the backend cast, row-major strides and broadcasting. */
import type * as tf from '@tensorflow/tfjs';
import type { CudaBackend } from '../backend.js';

/** Highest rank the strided kernels index (tfjs ops in the zoo use at most 5). */
export const MAX_RANK = 6;

export function cuda(backend: unknown): CudaBackend {
  return backend as CudaBackend;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Row-major element strides of `shape`. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/**
 * Strides that read `inShape` broadcast to `outShape` (numpy rules, right-aligned): 0 along the
 * dimensions the input repeats.
 */
export function broadcastStrides(inShape: readonly number[], outShape: readonly number[]): number[] {
  const own = stridesOf(inShape);
  const offset = outShape.length - inShape.length;
  return outShape.map((d, i) => {
    const j = i - offset;
    if (j < 0) return 0;
    if (inShape[j] === d) return own[j];
    if (inShape[j] === 1) return 0;
    throw new Error(`cuda backend: shape [${inShape.join(', ')}] does not broadcast to [${outShape.join(', ')}]`);
  });
}

export function checkRank(shape: readonly number[], op: string): void {
  if (shape.length > MAX_RANK) throw new Error(`cuda backend: ${op} on a rank-${shape.length} tensor; the cuda kernels index up to rank ${MAX_RANK}`);
}

export type Info = tf.TensorInfo;
