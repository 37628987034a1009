/**
 * `asr`: CTC speech recognition on the espeak-ng corpus (the data package's speech cache). Trained on
 * 1–4 s utterances, scored with greedy CTC decoding on held-out speakers at 1–4, 4–8 and 8–16 s:
 * CTC loss, CER and WER per duration bucket (length generalisation).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ConfigError, DataError, deriveSeed, Rng } from '@sigattn/common';
import {
  decodeTranscript,
  encodeTranscript,
  loadKjv,
  loadSpeechCorpus,
  prepareSpeechCorpus,
  speechCacheMatches,
  speechParams,
  splitDocuments,
  SPEECH_CHARS,
  SPEECH_SIZES,
  type SpeechManifest,
  type SpeechSize,
  type SpeechSplit,
} from '@sigattn/data';
import { cer, ctcGreedyDecode, ctcLoss, wer, type Asr } from '@sigattn/model-zoo';
import { bool, int, obj, oneOf, withDefault, type Infer } from '../config/schema.js';
import type { RunConfig } from '../config/run-config.js';
import type { MetricSpec, Task, TaskContext } from './task.js';
import { buildProgress, cachePath, cappedSteps, corpusPresent, evalBiasLength } from './lengths.js';

export const asrDataSchema = obj({
  /** Corpus size preset (`prepare-speech --size`): tiny (tests), small, default, large. */
  size: withDefault(oneOf(Object.keys(SPEECH_SIZES) as SpeechSize[]), 'small' as SpeechSize),
  /** Seed of the corpus (speakers, sentences), not the run's seed. */
  seed: withDefault(int({ min: 0 }), 0),
  /** The cache directory; default datasets/cache/speech/<size>-seed<seed> (where prepare-speech writes). */
  path: cachePath(),
  /** Build a missing corpus on the first run (espeak-ng; minutes for small/default) instead of failing. */
  build: withDefault(bool(), false),
  /** Keep the first N training utterances / the first N of each test bucket; 0 = all. */
  trainLimit: withDefault(int({ min: 0 }), 0),
  testLimit: withDefault(int({ min: 0 }), 0),
});
export type AsrDataConfig = Infer<typeof asrDataSchema>;

/** Utterances of one split in use, with their CTC targets (label ids 1..28). */
interface Utterances {
  split: SpeechSplit;
  /** Indices into split.utterances. */
  indices: number[];
  targets: number[][];
}

interface TestBucket extends Utterances {
  /** Metric suffix, e.g. `4_8s`. */
  suffix: string;
  maxSeconds: number;
}

/** Model-independent (shared by every unit with the same data keys). */
export interface AsrData {
  train: Utterances;
  tests: TestBucket[];
  /** Per-mel mean and 1/std of the training features: every batch is normalised with them. */
  mean: Float32Array;
  invStd: Float32Array;
}

// Every size preset has the same buckets; the metric columns are theirs.
const TRAIN_BUCKET = SPEECH_SIZES.small.find((b) => b.speakers === 'train')!;
const TEST_BUCKETS = SPEECH_SIZES.small.filter((b) => b.speakers === 'test');
const suffixOf = (b: { minSeconds: number; maxSeconds: number }): string => `${b.minSeconds}_${b.maxSeconds}s`;

function cacheDir(d: AsrDataConfig): string {
  return d.path !== '' ? d.path : join('datasets', 'cache', 'speech', `${d.size}-seed${d.seed}`);
}

function buildCommand(d: AsrDataConfig): string {
  return `npx nx run data:prepare-speech --size=${d.size} --seed=${d.seed}${d.path !== '' ? ` --out=${d.path}` : ''}`;
}

function checkAsrData(data: Record<string, unknown>): void {
  const d = asrDataSchema.parse(data, 'data');
  const dir = cacheDir(d);
  if (!corpusPresent('speech corpus', dir, d.build, buildCommand(d))) return;
  if (!speechCacheMatches(dir, speechParams(d.size, d.seed))) {
    throw new DataError(
      `data.path: ${dir} holds a speech corpus of another generator version or parameters than data.size ${d.size}, data.seed ${d.seed}; rebuild it with \`${buildCommand(d)} --force\``,
    );
  }
}

function utterances(split: SpeechSplit, limit: number): Utterances {
  const n = limit > 0 ? Math.min(limit, split.utterances.length) : split.utterances.length;
  const indices = Array.from({ length: n }, (_, i) => i);
  return { split, indices, targets: indices.map((i) => Array.from(encodeTranscript(split.utterances[i].text))) };
}

/** Per-mel mean and 1/std over every training frame (float64 sums). */
function featureStats(train: Utterances): { mean: Float32Array; invStd: Float32Array } {
  const mels = train.split.nMels;
  const sum = new Float64Array(mels);
  const sq = new Float64Array(mels);
  let frames = 0;
  for (const i of train.indices) {
    const f = train.split.features(i);
    for (let k = 0; k < f.length; k++) {
      sum[k % mels] += f[k];
      sq[k % mels] += f[k] * f[k];
    }
    frames += f.length / mels;
  }
  const mean = Float32Array.from(sum, (s) => s / frames);
  const invStd = Float32Array.from(sq, (s, m) => 1 / Math.sqrt(Math.max(s / frames - mean[m] ** 2, 1e-6)));
  return { mean, invStd };
}

/** The unit's backend and model against the corpus (its manifest, or the preset's parameters before it is built). */
function checkAsrConfig(cfg: RunConfig): void {
  if (cfg.backend === 'webgpu') {
    throw new ConfigError('config key backend: the asr task needs cpu or wasm (CTC reads the logits synchronously, which webgpu cannot); set backend: wasm');
  }
  const d = asrDataSchema.parse(cfg.data, 'data');
  const path = join(cacheDir(d), 'manifest.json');
  const { nMels } = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as SpeechManifest).params : speechParams(d.size, d.seed);
  if (cfg.model.mels !== nMels) {
    throw new ConfigError(`config key model.mels: expected ${nMels} (the corpus at ${cacheDir(d)} has ${nMels}-bin log-mel frames), found ${String(cfg.model.mels)}`);
  }
  if ((cfg.model.vocab as number) < SPEECH_CHARS.length + 1) {
    throw new ConfigError(`config key model.vocab: expected at least ${SPEECH_CHARS.length + 1} (the CTC blank and ${SPEECH_CHARS.length} characters), found ${String(cfg.model.vocab)}`);
  }
}

async function loadAsrData(ctx: TaskContext): Promise<AsrData> {
  const { cfg, log } = ctx;
  const d = asrDataSchema.parse(cfg.data, 'data');
  const dir = cacheDir(d);
  checkAsrData(cfg.data);
  if (!existsSync(join(dir, 'manifest.json'))) {
    const params = speechParams(d.size, d.seed);
    log(`asr: building the ${d.size} speech corpus at ${dir} with espeak-ng (${params.buckets.reduce((a, b) => a + b.count, 0)} utterances)`);
    const progress = buildProgress(log, 'speech corpus');
    await prepareSpeechCorpus({ params, text: splitDocuments(loadKjv(), { seed: d.seed }), outDir: dir, onProgress: (done, total, bucket) => progress(done, total, bucket) });
  }
  const corpus = loadSpeechCorpus(dir);
  const train = utterances(corpus.splits[TRAIN_BUCKET.name], d.trainLimit);
  const tests = TEST_BUCKETS.map((b) => ({ ...utterances(corpus.splits[b.name], d.testLimit), suffix: suffixOf(b), maxSeconds: b.maxSeconds }));
  return { train, tests, ...featureStats(train) };
}

/** Normalised, zero-padded features [B, maxFrames, mels] of some utterances, and their frame counts. */
function featureBatch(data: AsrData, split: SpeechSplit, indices: readonly number[]): { features: tf.Tensor3D; featureLengths: number[] } {
  const mels = split.nMels;
  const featureLengths = indices.map((i) => split.utterances[i].frames);
  const T = Math.max(...featureLengths);
  const x = new Float32Array(indices.length * T * mels);
  indices.forEach((i, b) => {
    const f = split.features(i);
    for (let k = 0; k < f.length; k++) x[b * T * mels + k] = (f[k] - data.mean[k % mels]) * data.invStd[k % mels];
  });
  return { features: tf.tensor3d(x, [indices.length, T, mels]), featureLengths };
}

/**
 * The positions (into `u.indices`) of each training batch of an epoch: a seeded permutation, sorted by
 * length within windows of 8 batches so a batch pads little, then the batches in a seeded order.
 * Full batches only.
 */
function epochBatches(u: Utterances, batchSize: number, seed: number): number[][] {
  const rng = new Rng(seed);
  const perm = Array.from(rng.permutation(u.indices.length));
  const frames = (p: number) => u.split.utterances[u.indices[p]].frames;
  const batches: number[][] = [];
  const window = 8 * batchSize;
  for (let start = 0; start < perm.length; start += window) {
    const chunk = perm.slice(start, start + window).sort((a, b) => frames(a) - frames(b) || a - b);
    for (let b = 0; b + batchSize <= chunk.length; b += batchSize) batches.push(chunk.slice(b, b + batchSize));
  }
  return rng.shuffle(batches);
}

/**
 * A bucket's nominal encoder length, n_eval of eval.bias: eval-length: model.trainFrames (the encoder
 * length of the longest training utterance) scaled by the bucket's longest duration. Nominal, so a
 * batch's composition never changes the bias; 1–4 s gives exactly trainFrames.
 */
export function nEvalOf(cfg: RunConfig, bucket: { maxSeconds: number }): number {
  return Math.round(((cfg.model.trainFrames as number) * bucket.maxSeconds) / TRAIN_BUCKET.maxSeconds);
}

const metrics: MetricSpec[] = [
  ...TEST_BUCKETS.map((b) => ({ name: `cer_${suffixOf(b)}`, label: `CER ${b.minSeconds}–${b.maxSeconds} s`, higherIsBetter: false, percent: true })),
  ...TEST_BUCKETS.map((b) => ({ name: `wer_${suffixOf(b)}`, label: `WER ${b.minSeconds}–${b.maxSeconds} s`, higherIsBetter: false, percent: true })),
  ...TEST_BUCKETS.map((b) => ({ name: `ctc_loss_${suffixOf(b)}`, label: `CTC loss ${b.minSeconds}–${b.maxSeconds} s`, higherIsBetter: false })),
];

export const asrTask: Task<AsrData> = {
  name: 'asr',
  description: 'CTC speech recognition on the espeak-ng corpus (1–4 s training); CTC loss, CER and WER at 1–4, 4–8 and 8–16 s',
  models: ['asr'],
  dataSchema: asrDataSchema,
  metrics,
  checkData: checkAsrData,
  checkConfig: checkAsrConfig,
  load: loadAsrData,
  stepsPerEpoch(data, { cfg }) {
    const full = Math.floor(data.train.indices.length / cfg.train.batchSize);
    if (full === 0) {
      throw new DataError(`train.batchSize ${cfg.train.batchSize} is larger than the ${data.train.indices.length} training utterances; lower it, raise data.trainLimit or use a larger data.size`);
    }
    return cappedSteps(full, cfg);
  },
  *trainBatches(data, ctx, epoch) {
    const { train } = data;
    const batches = epochBatches(train, ctx.cfg.train.batchSize, deriveSeed(ctx.seed, epoch)).slice(0, this.stepsPerEpoch(data, ctx));
    for (const batch of batches) {
      yield { ...featureBatch(data, train.split, batch.map((p) => train.indices[p])), targets: batch.map((p) => train.targets[p]) };
    }
  },
  async evaluate(model, data, { cfg }) {
    const asr = model as Asr;
    const out: Record<string, number> = {};
    for (const bucket of data.tests) {
      const biasLength = evalBiasLength(cfg, nEvalOf(cfg, bucket));
      const { split } = bucket;
      // In length order, so a batch pads little.
      const order = bucket.indices.map((_, p) => p).sort((a, b) => split.utterances[bucket.indices[a]].frames - split.utterances[bucket.indices[b]].frames || a - b);
      const refs: string[] = [];
      const hyps: string[] = [];
      let lossSum = 0;
      for (let start = 0; start < order.length; start += cfg.train.evalBatchSize) {
        const batch = order.slice(start, start + cfg.train.evalBatchSize);
        const { features, featureLengths } = featureBatch(data, split, batch.map((p) => bucket.indices[p]));
        const targets = batch.map((p) => bucket.targets[p]);
        const lens = featureLengths.map((n) => asr.outputLength(n));
        const [loss, decoded] = tf.tidy(() => {
          const logits = asr.forward(features, featureLengths, false, biasLength);
          return [ctcLoss(logits, targets, lens), ctcGreedyDecode(logits, lens)] as const;
        });
        lossSum += (await loss.data())[0] * batch.length;
        tf.dispose([features, loss]);
        batch.forEach((p, b) => {
          refs.push(split.utterances[bucket.indices[p]].text);
          hyps.push(decodeTranscript(decoded[b]));
        });
      }
      out[`ctc_loss_${bucket.suffix}`] = lossSum / order.length;
      out[`cer_${bucket.suffix}`] = cer(refs, hyps);
      out[`wer_${bucket.suffix}`] = wer(refs, hyps);
    }
    return out;
  },
};
