/**
 * `lm`: next-token language modelling on the KJV with a BPE vocabulary (the data package's text
 * cache), trained on windows of model.contextLength tokens and scored on the test split at ×1, ×2, ×4
 * and ×8 that length, every length on the same span of text (length generalisation).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ConfigError, DataError, deriveSeed } from '@sigattn/common';
import { lmBatches, lmEvalSets, loadTextCorpus, prepareTextCorpus, textCacheMatches, type EvalSet, type TextCorpusParams, type TextManifest } from '@sigattn/data';
import type { Lm } from '@sigattn/model-zoo';
import { bool, int, obj, withDefault, type Infer } from '../config/schema.js';
import type { RunConfig } from '../config/run-config.js';
import type { MetricSpec, Task, TaskContext } from './task.js';
import { cachePath, cappedSteps, corpusPresent, evalBiasLength, requireExtrapolatingPositions } from './lengths.js';

/** Evaluation lengths, as multiples of the training length. */
export const LM_MULTIPLES = [1, 2, 4, 8] as const;

export const lmDataSchema = obj({
  /** BPE vocabulary size of the corpus (`prepare-text --vocab`); model.vocab must be at least this. */
  vocab: withDefault(int({ min: 256 }), 512),
  /** Seed of the corpus's train/valid/test document split (not the run's seed). */
  seed: withDefault(int({ min: 0 }), 0),
  /** The cache directory; default datasets/cache/text/kjv-bpe<vocab>-seed<seed> (where prepare-text writes). */
  path: cachePath(),
  /** Build a missing cache on the first run instead of failing. */
  build: withDefault(bool(), false),
  /** Windows of the longest evaluation length (×8) scored per epoch; every length is cut from the same span. */
  evalWindows: withDefault(int({ min: 1 }), 4),
});
export type LmDataConfig = Infer<typeof lmDataSchema>;

/** Model-independent (shared by every unit with the same data keys): the token streams. */
export interface LmData {
  train: Int32Array;
  test: Int32Array;
  /** Test windows at contextLength × each of LM_MULTIPLES, per contextLength (built on first use). */
  evalSets: Map<number, EvalSet[]>;
}

/** The KJV corpus parameters prepare-text uses for (vocab, seed). */
function kjvParams(d: LmDataConfig): TextCorpusParams {
  return { source: 'kjv', seed: d.seed, valid: 0.05, test: 0.05, vocabSize: d.vocab };
}

function cacheDir(d: LmDataConfig): string {
  return d.path !== '' ? d.path : join('datasets', 'cache', 'text', `kjv-bpe${d.vocab}-seed${d.seed}`);
}

function buildCommand(d: LmDataConfig): string {
  return `npx nx run data:prepare-text --vocab=${d.vocab} --seed=${d.seed}${d.path !== '' ? ` --out=${d.path}` : ''}`;
}

function checkLmData(data: Record<string, unknown>): void {
  const d = lmDataSchema.parse(data, 'data');
  const dir = cacheDir(d);
  if (!corpusPresent('tokenised text corpus', dir, d.build, buildCommand(d))) return;
  // The default directory's name promises these parameters; a stale cache (older generator) must not pass.
  if (d.path === '' && !textCacheMatches(dir, kjvParams(d))) {
    throw new DataError(`data.path: ${dir} holds a text corpus of another generator version or parameters; rebuild it with \`${buildCommand(d)} --force\``);
  }
}

/** Scored test tokens: windows at ×8 contextLength, evalWindows of them, plus the last target. */
function evalSpan(cfg: RunConfig): number {
  const d = lmDataSchema.parse(cfg.data, 'data');
  return (cfg.model.contextLength as number) * Math.max(...LM_MULTIPLES) * d.evalWindows + 1;
}

function checkEvalSpan(cfg: RunConfig, testTokens: number): void {
  const d = lmDataSchema.parse(cfg.data, 'data');
  const span = evalSpan(cfg);
  if (testTokens < span) {
    throw new ConfigError(
      `config key data.evalWindows: ${d.evalWindows} windows of ${(span - 1) / d.evalWindows} tokens (×8 model.contextLength) need ${span} test tokens, but ${cacheDir(d)} has ${testTokens}; lower data.evalWindows or model.contextLength`,
    );
  }
}

/**
 * The unit's model and evaluation against the corpus, from its manifest (cheap); before the corpus is
 * built (data.build) the vocabulary is data.vocab and the test span is checked when it is first used.
 */
function checkLmConfig(cfg: RunConfig): void {
  const d = lmDataSchema.parse(cfg.data, 'data');
  const contextLength = cfg.model.contextLength as number;
  requireExtrapolatingPositions(cfg, 'lm', contextLength, contextLength * Math.max(...LM_MULTIPLES));
  const path = join(cacheDir(d), 'manifest.json');
  const manifest = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as TextManifest) : null;
  const vocab = manifest?.params.vocabSize ?? d.vocab;
  if ((cfg.model.vocab as number) < vocab) {
    throw new ConfigError(`config key model.vocab: expected at least ${vocab} (the BPE vocabulary of ${cacheDir(d)}), found ${String(cfg.model.vocab)}; set model.vocab: ${vocab}`);
  }
  if (manifest !== null) checkEvalSpan(cfg, manifest.counts.test.tokens);
}

async function loadLmData(ctx: TaskContext): Promise<LmData> {
  const { cfg, log } = ctx;
  const d = lmDataSchema.parse(cfg.data, 'data');
  const dir = cacheDir(d);
  checkLmData(cfg.data);
  if (!existsSync(join(dir, 'manifest.json'))) {
    log(`lm: building the KJV BPE-${d.vocab} corpus at ${dir} (about 10 s on 2 cores)`);
    await prepareTextCorpus(kjvParams(d), dir, (line) => log(line));
  }
  const corpus = loadTextCorpus(dir);
  return { train: corpus.tokens.train, test: corpus.tokens.test, evalSets: new Map() };
}

/** This unit's evaluation windows, cut once per contextLength. */
function evalSetsFor(data: LmData, cfg: RunConfig): EvalSet[] {
  const contextLength = cfg.model.contextLength as number;
  let sets = data.evalSets.get(contextLength);
  if (sets === undefined) {
    checkEvalSpan(cfg, data.test.length); // a corpus this run built was not there for checkConfig
    sets = lmEvalSets(data.test, { trainLen: contextLength, multiples: LM_MULTIPLES, spanTokens: evalSpan(cfg) });
    data.evalSets.set(contextLength, sets);
  }
  return sets;
}

/** Windows [size, seqLen] inputs and targets → the model's token rows [size, seqLen + 1]. */
export function windowTokens(x: Int32Array, y: Int32Array, size: number, seqLen: number): tf.Tensor2D {
  const rows = new Int32Array(size * (seqLen + 1));
  for (let b = 0; b < size; b++) {
    rows.set(x.subarray(b * seqLen, (b + 1) * seqLen), b * (seqLen + 1));
    rows[b * (seqLen + 1) + seqLen] = y[(b + 1) * seqLen - 1];
  }
  return tf.tensor2d(rows, [size, seqLen + 1], 'int32');
}

const metrics: MetricSpec[] = [
  ...LM_MULTIPLES.map((m) => ({ name: `ppl_x${m}`, label: `test perplexity ×${m}`, higherIsBetter: false })),
  ...LM_MULTIPLES.map((m) => ({ name: `loss_x${m}`, label: `test loss ×${m} (nats/token)`, higherIsBetter: false })),
];

export const lmTask: Task<LmData> = {
  name: 'lm',
  description: 'next-token language modelling on KJV BPE windows; test loss and perplexity at ×1, ×2, ×4, ×8 the training length',
  models: ['lm'],
  dataSchema: lmDataSchema,
  metrics,
  checkData: checkLmData,
  checkConfig: (cfg) => checkLmConfig(cfg),
  load: loadLmData,
  stepsPerEpoch(data, { cfg }) {
    const windows = Math.floor((data.train.length - 1) / (cfg.model.contextLength as number));
    const full = Math.floor(windows / cfg.train.batchSize);
    if (full === 0) throw new DataError(`train.batchSize ${cfg.train.batchSize} is larger than the ${windows} training windows; lower it or model.contextLength`);
    return cappedSteps(full, cfg);
  },
  *trainBatches(data, ctx, epoch) {
    const { batchSize } = ctx.cfg.train;
    const seqLen = ctx.cfg.model.contextLength as number;
    const steps = this.stepsPerEpoch(data, ctx);
    let step = 0;
    for (const batch of lmBatches(data.train, { seqLen, batchSize, seed: deriveSeed(ctx.seed, epoch), dropLast: true })) {
      if (step++ >= steps) return;
      yield { tokens: windowTokens(batch.x, batch.y, batch.size, seqLen) };
    }
  },
  async evaluate(model, data, { cfg }) {
    const lm = model as Lm;
    const out: Record<string, number> = {};
    for (const set of evalSetsFor(data, cfg)) {
      const biasLength = evalBiasLength(cfg, set.seqLen);
      const rows = Math.max(1, Math.min(cfg.train.evalBatchSize, set.size));
      let sum = 0;
      for (let start = 0; start < set.size; start += rows) {
        const size = Math.min(rows, set.size - start);
        const span = [start * set.seqLen, (start + size) * set.seqLen] as const;
        const tokens = windowTokens(set.x.subarray(...span), set.y.subarray(...span), size, set.seqLen);
        const loss = tf.tidy(() => lm.loss(tokens, false, { biasLength }));
        // Every window has seqLen targets, so the mean over windows weighs each batch by its size.
        sum += (await loss.data())[0] * size;
        tf.dispose([tokens, loss]);
      }
      const mean = sum / set.size;
      out[`loss_x${set.multiple}`] = mean;
      out[`ppl_x${set.multiple}`] = Math.exp(mean);
    }
    return out;
  },
};
