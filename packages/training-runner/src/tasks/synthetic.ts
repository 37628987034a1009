/**
 * `synthetic`: one of the data package's five length-generalisation tasks (copy, reverse, sort,
 * associative recall, counting) for the causal `lm` model. Each example is
 * [BOS, items…, SEP, (query, SEP,) answer…, EOS]; the loss is masked to the answer tokens (and EOS).
 * Trained on content lengths in data.trainLengths, scored at each data.testLengths (all longer) by
 * exact match (an example counts when every answer token and the EOS is the argmax next token given
 * the true prefix: teacher forcing) and by the share of answer tokens right.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, deriveSeed, Rng } from '@sigattn/common';
import { IGNORE, makeExample, taskBatch, taskVocab, TASKS, type TaskBatch, type TaskName } from '@sigattn/data';
import type { Batch, Lm } from '@sigattn/model-zoo';
import { int, obj, oneOf, withDefault, type Infer } from '../config/schema.js';
import type { RunConfig } from '../config/run-config.js';
import type { MetricSpec, Task, TaskContext } from './task.js';
import { evalBiasLength, lengthList, lengthRange, requireExtrapolatingPositions } from './lengths.js';

export const syntheticDataSchema = obj({
  task: withDefault(oneOf(TASKS), 'copy' as TaskName),
  /** Alphabet size; recall needs at least as many symbols as its longest length (distinct keys). */
  symbols: withDefault(int({ min: 2 }), 16),
  /** Content lengths of training examples, [min, max] (drawn uniformly per example). */
  trainLengths: withDefault(lengthRange(), [1, 16] as [number, number]),
  /** Content lengths scored after each epoch, each on its own; all above trainLengths' max. */
  testLengths: withDefault(lengthList(), [24, 32]),
  /** Examples per test length. */
  testExamples: withDefault(int({ min: 1 }), 128),
  /** Seed of the test examples (the same for every unit, so variants are scored on the same set). */
  seed: withDefault(int({ min: 0 }), 0),
});
export type SyntheticDataConfig = Infer<typeof syntheticDataSchema>;

/** One scored set: examples of one content length, padded to `seqLen` input tokens. */
interface ScoredSet {
  length: number;
  batch: TaskBatch;
  /** n of the sigmoid bias under eval.bias: eval-length. */
  nEval: number;
}

/** Model-independent (shared by every unit with the same data keys). */
export interface SyntheticData {
  cfg: SyntheticDataConfig;
  /** The longest length anywhere: fixes the vocabulary (count's numbers go up to it). */
  maxLength: number;
  /** One set per test length, each unpadded (all its examples have the same length). */
  tests: ScoredSet[];
  /**
   * At the longest training length (in distribution), padded like training to model.contextLength,
   * per contextLength (built on first use).
   */
  trainLength: Map<number, ScoredSet>;
}

/** Input tokens of an example with `length` content items (its sequence minus the last token). */
export function inputLength(task: TaskName, symbols: number, maxLength: number, length: number): number {
  return makeExample({ task, symbols, maxLength }, length, new Rng(0)).tokens.length - 1;
}

function checkSyntheticData(data: Record<string, unknown>): void {
  const d = syntheticDataSchema.parse(data, 'data');
  const trainMax = d.trainLengths[1];
  const short = d.testLengths.filter((l) => l <= trainMax);
  if (short.length > 0) {
    throw new ConfigError(`config key data.testLengths: every test length must exceed the longest training length ${trainMax} (data.trainLengths), found ${short.join(', ')}`);
  }
  const longest = Math.max(...d.testLengths);
  if (d.task === 'recall' && longest > d.symbols) {
    throw new ConfigError(`config key data.symbols: recall with ${longest} pairs needs ${longest} distinct keys, found symbols ${d.symbols}; raise data.symbols to ${longest} or lower data.testLengths`);
  }
}

/** Rows of next-token inputs x [size, seqLen] with targets y (IGNORE outside answers) → tokens [size, seqLen + 1] and the answer mask [size, seqLen]. */
export function answerBatch(b: TaskBatch): Batch {
  const { size, seqLen, x, y } = b;
  const tokens = new Int32Array(size * (seqLen + 1));
  const mask = new Float32Array(size * seqLen);
  for (let r = 0; r < size; r++) {
    tokens.set(x.subarray(r * seqLen, (r + 1) * seqLen), r * (seqLen + 1));
    for (let t = 0; t < seqLen; t++) {
      const target = y[r * seqLen + t];
      if (target === IGNORE) continue;
      tokens[r * (seqLen + 1) + t + 1] = target;
      mask[r * seqLen + t] = 1;
    }
  }
  return { tokens: tf.tensor2d(tokens, [size, seqLen + 1], 'int32'), lossMask: tf.tensor2d(mask, [size, seqLen]) };
}

function scoredSet(d: SyntheticDataConfig, maxLength: number, length: number, seqLen: number, nEval: number): ScoredSet {
  const batch = taskBatch({ task: d.task, symbols: d.symbols, maxLength, lengths: [length, length], batchSize: d.testExamples, seed: deriveSeed(d.seed, 2, length), padTo: seqLen }, 0);
  return { length, batch, nEval };
}

const maxLengthOf = (d: SyntheticDataConfig): number => Math.max(d.trainLengths[1], ...d.testLengths);

/** The unit's model and budget against the task: vocabulary, training length, positions, epoch size. */
function checkSyntheticConfig(cfg: RunConfig): void {
  const d = syntheticDataSchema.parse(cfg.data, 'data');
  if (cfg.train.stepsPerEpoch === 0) {
    throw new ConfigError('config key train.stepsPerEpoch: the synthetic task draws an endless stream of examples, so an epoch has no natural end; set train.stepsPerEpoch (e.g. 100)');
  }
  const maxLength = maxLengthOf(d);
  const vocab = taskVocab(d.symbols, maxLength).size;
  if ((cfg.model.vocab as number) < vocab) {
    throw new ConfigError(`config key model.vocab: the ${d.task} task with ${d.symbols} symbols and lengths up to ${maxLength} has ${vocab} tokens, found vocab ${String(cfg.model.vocab)}; set model.vocab: ${vocab}`);
  }
  const inLen = (l: number) => inputLength(d.task, d.symbols, maxLength, l);
  const contextLength = cfg.model.contextLength as number;
  const needed = inLen(d.trainLengths[1]);
  if (contextLength < needed) {
    throw new ConfigError(
      `config key model.contextLength: the ${d.task} task's longest training example (length ${d.trainLengths[1]}) has ${needed} input tokens, found contextLength ${contextLength}; set model.contextLength: ${needed}`,
    );
  }
  requireExtrapolatingPositions(cfg, 'synthetic', contextLength, Math.max(...d.testLengths.map(inLen)));
}

async function loadSyntheticData(ctx: TaskContext): Promise<SyntheticData> {
  checkSyntheticData(ctx.cfg.data);
  const d = syntheticDataSchema.parse(ctx.cfg.data, 'data');
  const maxLength = maxLengthOf(d);
  const inLen = (l: number) => inputLength(d.task, d.symbols, maxLength, l);
  return { cfg: d, maxLength, tests: d.testLengths.map((l) => scoredSet(d, maxLength, l, inLen(l), inLen(l))), trainLength: new Map() };
}

/** The in-distribution set for this unit's contextLength. */
function trainLengthSet(data: SyntheticData, contextLength: number): ScoredSet {
  let set = data.trainLength.get(contextLength);
  if (set === undefined) {
    set = scoredSet(data.cfg, data.maxLength, data.cfg.trainLengths[1], contextLength, contextLength);
    data.trainLength.set(contextLength, set);
  }
  return set;
}

/** Teacher-forced accuracy of one scored set: exact match (whole answer + EOS right) and per answer token. */
async function accuracy(model: Lm, set: ScoredSet, cfg: RunConfig): Promise<{ exact: number; token: number }> {
  const { batch } = set;
  const { seqLen, x, y } = batch;
  const biasLength = evalBiasLength(cfg, set.nEval);
  let exact = 0;
  let tokens = 0;
  let right = 0;
  for (let start = 0; start < batch.size; start += cfg.train.evalBatchSize) {
    const size = Math.min(cfg.train.evalBatchSize, batch.size - start);
    const rows = tf.tensor2d(x.subarray(start * seqLen, (start + size) * seqLen), [size, seqLen], 'int32');
    const pred = tf.tidy(() => tf.argMax(model.forward(rows, false, undefined, biasLength), -1));
    const p = await pred.data();
    tf.dispose([rows, pred]);
    for (let r = 0; r < size; r++) {
      let wrong = 0;
      for (let t = 0; t < seqLen; t++) {
        const target = y[(start + r) * seqLen + t];
        if (target === IGNORE) continue;
        tokens++;
        if (p[r * seqLen + t] === target) right++;
        else wrong++;
      }
      if (wrong === 0) exact++;
    }
  }
  return { exact: exact / batch.size, token: right / tokens };
}

const metrics: MetricSpec[] = [
  { name: 'test_token_accuracy', label: 'answer-token accuracy, mean over test lengths', higherIsBetter: true, percent: true },
  { name: 'test_exact_match', label: 'exact match, mean over test lengths', higherIsBetter: true, percent: true },
  { name: 'train_length_token_accuracy', label: 'answer-token accuracy at the longest training length', higherIsBetter: true, percent: true },
];

export const syntheticTask: Task<SyntheticData> = {
  name: 'synthetic',
  description: 'copy, reverse, sort, recall or count with an answer-masked loss; answer-token accuracy and exact match at test lengths above the training lengths',
  models: ['lm'],
  dataSchema: syntheticDataSchema,
  metrics,
  checkData: checkSyntheticData,
  checkConfig: checkSyntheticConfig,
  load: loadSyntheticData,
  stepsPerEpoch: (_data, { cfg }) => cfg.train.stepsPerEpoch,
  *trainBatches(data, ctx, epoch) {
    const d = data.cfg;
    const opts = { task: d.task, symbols: d.symbols, maxLength: data.maxLength, lengths: d.trainLengths, batchSize: ctx.cfg.train.batchSize, seed: deriveSeed(ctx.seed, 1, epoch), padTo: ctx.cfg.model.contextLength as number };
    for (let step = 0; step < ctx.cfg.train.stepsPerEpoch; step++) yield answerBatch(taskBatch(opts, step));
  },
  async evaluate(model, data, { cfg }) {
    const lm = model as Lm;
    const inDistribution = await accuracy(lm, trainLengthSet(data, cfg.model.contextLength as number), cfg);
    const perLength: Record<string, number> = {};
    let token = 0;
    let exact = 0;
    for (const set of data.tests) {
      const a = await accuracy(lm, set, cfg);
      perLength[`token_acc_len_${set.length}`] = a.token;
      perLength[`exact_len_${set.length}`] = a.exact;
      token += a.token / data.tests.length;
      exact += a.exact / data.tests.length;
    }
    return {
      test_token_accuracy: token,
      test_exact_match: exact,
      train_length_token_accuracy: inDistribution.token,
      train_length_exact_match: inDistribution.exact,
      ...perLength,
    };
  },
};
