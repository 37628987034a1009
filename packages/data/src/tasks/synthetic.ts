/**
 * Synthetic sequence tasks for length generalisation: copy, reverse, sort, associative recall and counting.
 * Each example is one token sequence [BOS, items…, SEP, (query, SEP,) answer…, EOS] for a causal model; targets are the
 * next tokens, scored only on the answer (IGNORE elsewhere). Train on short lengths, test on longer ones: the
 * vocabulary is fixed by `symbols` and `maxLength`, so both ranges share it.
 */
import { DataError, deriveSeed, Rng } from '@sigattn/common';

export type TaskName = 'copy' | 'reverse' | 'sort' | 'recall' | 'count';
export const TASKS: readonly TaskName[] = ['copy', 'reverse', 'sort', 'recall', 'count'];
export const IGNORE = -1;

export interface TaskVocab {
  PAD: 0;
  BOS: 1;
  SEP: 2;
  EOS: 3;
  /** Symbol i is token symbolBase + i. */
  symbolBase: number;
  /** The number k (for counting) is token numberBase + k, 0 ≤ k ≤ maxLength. */
  numberBase: number;
  size: number;
}

export function taskVocab(symbols: number, maxLength: number): TaskVocab {
  return { PAD: 0, BOS: 1, SEP: 2, EOS: 3, symbolBase: 4, numberBase: 4 + symbols, size: 4 + symbols + maxLength + 1 };
}

export interface TaskConfig {
  task: TaskName;
  /** Alphabet size (default 16). */
  symbols?: number;
  /** Longest length any split will use; fixes the vocabulary (default 256). */
  maxLength?: number;
}

export interface TaskExample {
  tokens: Int32Array;
  /** Index of the first answer token. */
  answerStart: number;
}

/** One example with `length` content items (pairs for recall). */
export function makeExample(cfg: TaskConfig, length: number, rng: Rng): TaskExample {
  const symbols = cfg.symbols ?? 16;
  const maxLength = cfg.maxLength ?? 256;
  const v = taskVocab(symbols, maxLength);
  if (!Number.isInteger(length) || length < 1 || length > maxLength) throw new RangeError(`${cfg.task}: length must be in [1, maxLength=${maxLength}], found ${length}`);
  const sym = (): number => v.symbolBase + rng.int(symbols);
  const seq = Array.from({ length }, sym);
  let prompt: number[];
  let answer: number[];
  switch (cfg.task) {
    case 'copy':
      prompt = seq;
      answer = seq;
      break;
    case 'reverse':
      prompt = seq;
      answer = [...seq].reverse();
      break;
    case 'sort':
      prompt = seq;
      answer = [...seq].sort((a, b) => a - b);
      break;
    case 'recall': {
      if (length > symbols) throw new RangeError(`recall: ${length} pairs need ${length} distinct keys but symbols = ${symbols}; raise symbols or lower the length`);
      const keys = Array.from({ length: symbols }, (_, i) => v.symbolBase + i);
      rng.shuffle(keys);
      const pairs = keys.slice(0, length).map((k) => [k, sym()]);
      const q = pairs[rng.int(length)];
      prompt = [...pairs.flat(), v.SEP, q[0]];
      answer = [q[1]];
      break;
    }
    case 'count': {
      const q = seq[rng.int(length)];
      prompt = [...seq, v.SEP, q];
      answer = [v.numberBase + seq.filter((s) => s === q).length];
      break;
    }
    default:
      throw new DataError(`unknown task ${JSON.stringify(cfg.task)}: expected one of ${TASKS.join(', ')}`);
  }
  const tokens = [v.BOS, ...prompt, v.SEP, ...answer, v.EOS];
  return { tokens: Int32Array.from(tokens), answerStart: tokens.length - answer.length - 1 };
}

export interface TaskBatch {
  /** Inputs [size, seqLen] (PAD-padded) and next-token targets [size, seqLen] (IGNORE outside answers). */
  x: Int32Array;
  y: Int32Array;
  size: number;
  seqLen: number;
  /** Content length of each example. */
  lengths: Int32Array;
}

/** Pad examples into a batch; the answer tokens (and EOS) are the only scored targets. */
export function collate(examples: readonly TaskExample[], lengths: ArrayLike<number>, padTo?: number): TaskBatch {
  const seqLen = padTo ?? Math.max(...examples.map((e) => e.tokens.length - 1));
  const x = new Int32Array(examples.length * seqLen);
  const y = new Int32Array(examples.length * seqLen).fill(IGNORE);
  examples.forEach((e, b) => {
    const n = e.tokens.length - 1;
    if (n > seqLen) throw new RangeError(`collate: example of ${n + 1} tokens does not fit padTo = ${seqLen}`);
    x.set(e.tokens.subarray(0, n), b * seqLen);
    for (let t = e.answerStart - 1; t < n; t++) y[b * seqLen + t] = e.tokens[t + 1];
  });
  return { x, y, size: examples.length, seqLen, lengths: Int32Array.from(lengths) };
}

export interface TaskSetOptions extends TaskConfig {
  /** Inclusive content-length range, e.g. train [1, 16], test [17, 64]. */
  lengths: [number, number];
  batchSize: number;
  seed: number;
  padTo?: number;
}

/** Batch `index` of a seeded stream: the same (seed, index) gives the same batch, whatever was drawn before. */
export function taskBatch(o: TaskSetOptions, index: number): TaskBatch {
  const [lo, hi] = o.lengths;
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && 1 <= lo && lo <= hi)) throw new RangeError(`${o.task}: lengths must be integers 1 ≤ min ≤ max, found [${lo}, ${hi}]`);
  const rng = new Rng(deriveSeed(o.seed, index));
  const lengths = Array.from({ length: o.batchSize }, () => lo + rng.int(hi - lo + 1));
  return collate(lengths.map((l) => makeExample(o, l, rng)), lengths, o.padTo);
}

/** The usual pair: endless training batches on `train` lengths and a fixed test set on longer `test` lengths. */
export function lengthGeneralizationSplits(
  cfg: TaskConfig & { train: [number, number]; test: [number, number]; batchSize: number; seed: number; testBatches: number },
): { train: (step: number) => TaskBatch; test: TaskBatch[] } {
  if (cfg.test[0] <= cfg.train[1]) throw new RangeError(`${cfg.task}: test lengths [${cfg.test.join(', ')}] should start above the train maximum ${cfg.train[1]}`);
  return {
    train: (step) => taskBatch({ ...cfg, lengths: cfg.train, seed: deriveSeed(cfg.seed, 1) }, step),
    test: Array.from({ length: cfg.testBatches }, (_, i) => taskBatch({ ...cfg, lengths: cfg.test, seed: deriveSeed(cfg.seed, 2) }, i)),
  };
}
