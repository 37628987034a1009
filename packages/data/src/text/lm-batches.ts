/** Fixed-length next-token batches for training, and longer evaluation windows (2×, 4×, 8× …) for length generalisation. */
import { permutation } from '@sigattn/common';

export interface LmBatch {
  /** Inputs [size, seqLen] and next-token targets [size, seqLen]. */
  x: Int32Array;
  y: Int32Array;
  size: number;
  seqLen: number;
}

export interface LmBatchOptions {
  seqLen: number;
  batchSize: number;
  /** Shuffle seed for the window order (use seed + epoch); undefined keeps text order. */
  seed?: number;
  dropLast?: boolean;
}

function window(tokens: ArrayLike<number>, start: number, len: number, x: Int32Array, y: Int32Array, at: number): void {
  for (let t = 0; t < len; t++) {
    x[at + t] = tokens[start + t];
    y[at + t] = tokens[start + t + 1];
  }
}

/** Non-overlapping windows of seqLen + 1 tokens (stride seqLen), in seeded order. */
export function* lmBatches(tokens: ArrayLike<number>, opts: LmBatchOptions): Generator<LmBatch> {
  const { seqLen, batchSize, dropLast = true } = opts;
  const windows = Math.floor((tokens.length - 1) / seqLen);
  if (windows < 1) throw new RangeError(`lmBatches: ${tokens.length} tokens hold no window of ${seqLen + 1}; use a shorter seqLen or more text`);
  const order = opts.seed === undefined ? Int32Array.from({ length: windows }, (_, i) => i) : permutation(windows, opts.seed);
  for (let b = 0; b < windows; b += batchSize) {
    const size = Math.min(batchSize, windows - b);
    if (dropLast && size < batchSize) break;
    const x = new Int32Array(size * seqLen);
    const y = new Int32Array(size * seqLen);
    for (let i = 0; i < size; i++) window(tokens, order[b + i] * seqLen, seqLen, x, y, i * seqLen);
    yield { x, y, size, seqLen };
  }
}

export interface EvalSet extends LmBatch {
  /** Multiple of the training length. */
  multiple: number;
}

/**
 * Evaluation windows at trainLen × each multiple, all cut from the same first `spanTokens` tokens (default: as many
 * as the longest multiple fits `minWindows` times), so every length is scored on the same text.
 */
export function lmEvalSets(
  tokens: ArrayLike<number>,
  opts: { trainLen: number; multiples?: readonly number[]; minWindows?: number; spanTokens?: number },
): EvalSet[] {
  const { trainLen, multiples = [1, 2, 4, 8], minWindows = 4 } = opts;
  const longest = trainLen * Math.max(...multiples);
  const span = Math.min(tokens.length, opts.spanTokens ?? longest * minWindows + 1);
  if (span < longest + 1) throw new RangeError(`lmEvalSets: ${tokens.length} tokens cannot hold one window of ${longest + 1} (trainLen ${trainLen} × ${Math.max(...multiples)}); use fewer/smaller multiples or more text`);
  return multiples.map((m) => {
    const seqLen = trainLen * m;
    const size = Math.floor((span - 1) / seqLen);
    const x = new Int32Array(size * seqLen);
    const y = new Int32Array(size * seqLen);
    for (let i = 0; i < size; i++) window(tokens, i * seqLen, seqLen, x, y, i * seqLen);
    return { x, y, size, seqLen, multiple: m };
  });
}
