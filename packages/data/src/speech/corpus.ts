/**
 * A synthetic speech-recognition corpus: KJV (or user) sentences read by espeak-ng with several voices, rates and
 * pitches; speakers are disjoint between train and test, and test utterances come from the text's test split.
 * Splits are by duration so a model trained on short utterances can be tested on longer ones:
 *   train (≤ 4 s, train speakers), test-short (≤ 4 s, test speakers), test-4-8 and test-8-16 (test speakers).
 * Audio is resampled to 16 kHz in TypeScript and turned into 80-bin log-mel frames (25 ms / 10 ms). Features are
 * stored as int16 (value × 1000, i.e. 0.001 resolution) to halve the cache. Everything is seeded: the same options
 * and espeak-ng version give byte-identical files (the manifest records a checksum to compare): shards of
 * utterances are synthesized in fresh child processes, because espeak-ng carries state from one sentence to the next.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildDirAtomic, DataError, deriveSeed, Rng } from '@sigattn/common';
import { readJsonFile } from '../fsutil.js';
import { CacheWriter, cacheMatches, readCacheManifest, type CacheManifest } from '../manifest.js';
import type { SynthOptions, Voice } from './espeak.js';
import { LOGMEL_DEFAULTS } from './logmel.js';
import { FEATURE_SCALE, type ShardResult, type ShardSpec } from './shard.js';

// 2: shards in fresh processes (1 synthesized everything in one process, so output depended on history)
export const SPEECH_GENERATOR_VERSION = 2;
const SPEECH_GENERATOR = 'sigattn-speech';

export interface DurationBucket {
  name: string;
  minSeconds: number;
  maxSeconds: number;
  count: number;
  speakers: 'train' | 'test';
  text: 'train' | 'test';
}

export interface SpeechCorpusParams {
  seed: number;
  trainSpeakers: number;
  testSpeakers: number;
  buckets: DurationBucket[];
  sampleRate: number;
  nMels: number;
  winLength: number;
  hopLength: number;
}

const buckets = (train: number, short: number, mid: number, long: number): DurationBucket[] => [
  { name: 'train', minSeconds: 1, maxSeconds: 4, count: train, speakers: 'train', text: 'train' },
  { name: 'test-short', minSeconds: 1, maxSeconds: 4, count: short, speakers: 'test', text: 'test' },
  { name: 'test-4-8', minSeconds: 4, maxSeconds: 8, count: mid, speakers: 'test', text: 'test' },
  { name: 'test-8-16', minSeconds: 8, maxSeconds: 16, count: long, speakers: 'test', text: 'test' },
];

/** Size presets; 'default' (about 2 h of audio) builds in a few minutes on 2 cores (measured numbers in datasets/README.md). */
export const SPEECH_SIZES = {
  tiny: buckets(6, 2, 2, 1),
  small: buckets(500, 50, 50, 25),
  default: buckets(2000, 200, 200, 100),
  large: buckets(20000, 1000, 1000, 500),
} as const;
export type SpeechSize = keyof typeof SPEECH_SIZES;

export function speechParams(size: SpeechSize | DurationBucket[], seed = 0): SpeechCorpusParams {
  const b = typeof size === 'string' ? SPEECH_SIZES[size] : size;
  if (!b) throw new DataError(`unknown speech corpus size ${JSON.stringify(size)}: expected one of ${Object.keys(SPEECH_SIZES).join(', ')}`);
  return {
    seed,
    trainSpeakers: 16,
    testSpeakers: 6,
    buckets: b.map((x) => ({ ...x })),
    sampleRate: LOGMEL_DEFAULTS.sampleRate,
    nMels: LOGMEL_DEFAULTS.nMels,
    winLength: LOGMEL_DEFAULTS.winLength,
    hopLength: LOGMEL_DEFAULTS.hopLength,
  };
}

// English voices × espeak variants; a "speaker" is one (voice, variant, rate, pitch).
const VOICES = ['en-us', 'en', 'en-gb-scotland', 'en-gb-x-rp', 'en-029', 'en-gb-x-gbclan'];
const VARIANTS = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'f1', 'f2', 'f3', 'f4', 'f5', 'klatt', 'klatt2', 'klatt3', 'croak'];

export interface Speaker extends Voice {
  id: string;
}

export function makeSpeakers(p: Pick<SpeechCorpusParams, 'seed' | 'trainSpeakers' | 'testSpeakers'>): { train: Speaker[]; test: Speaker[] } {
  const combos = VOICES.flatMap((v) => VARIANTS.map((x) => `${v}+${x}`));
  const n = p.trainSpeakers + p.testSpeakers;
  if (n > combos.length) throw new DataError(`speech corpus: ${n} speakers requested, at most ${combos.length} voice/variant pairs exist`);
  const rng = new Rng(deriveSeed(p.seed, 1));
  rng.shuffle(combos);
  const speakers = combos.slice(0, n).map((name, i) => ({
    id: `spk${String(i).padStart(2, '0')}`,
    name,
    rate: 140 + rng.int(61), // 140–200 words per minute
    pitch: 30 + rng.int(41), // 30–70
  }));
  return { train: speakers.slice(0, p.trainSpeakers), test: speakers.slice(p.trainSpeakers) };
}

export interface Utterance {
  id: string;
  speaker: string;
  /** Normalised character transcript (see SPEECH_CHARS). */
  text: string;
  seconds: number;
  frames: number;
  /** First frame in the split's feature file. */
  offset: number;
}

export interface SpeechManifest extends CacheManifest<SpeechCorpusParams> {
  generator: typeof SPEECH_GENERATOR;
  synthesizer: string;
  speakers: { train: Speaker[]; test: Speaker[] };
  counts: Record<string, { utterances: number; frames: number; seconds: number; rejected: number }>;
  buildSeconds: number;
}

export interface PrepareSpeechOptions {
  params: SpeechCorpusParams;
  /** Sentences per text split (e.g. from splitDocuments of loadKjv()); lines are sentences. */
  text: { train: string; test: string };
  outDir: string;
  synth?: SynthOptions;
  /** Also store 16 kHz int16 audio per split (doubles the cache). */
  keepAudio?: boolean;
  /** Child processes synthesizing shards in parallel (default: CPU count, at most 4). Does not change the output. */
  workers?: number;
  onProgress?: (done: number, total: number, bucket: string) => void;
}

/** Utterances per shard: each shard costs one process start (about 0.5 s), so shards are large. */
export const SHARD_SIZE = 250;

const WORKER = fileURLToPath(new URL('./shard-worker.ts', import.meta.url));
/**
 * The worker is TypeScript: load it through tsx, resolved from this package so any cwd works. Resolved
 * lazily, so that code which imports this package without building a corpus (e.g. the GPU bundle's
 * training entry, which ships no tsx) still loads.
 */
const tsxLoader = (): string => pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Run one shard in a fresh child process (espeak keeps state between sentences; see shard.ts). */
function runShardProcess(spec: ShardSpec, onUtterance: () => void, children: Set<ChildProcess>): Promise<ShardResult> {
  return new Promise((resolve, reject) => {
    const child = fork(WORKER, [], { execArgv: ['--import', tsxLoader()], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.add(child);
    let settled = false;
    child.on('message', (m: { type: string; result?: ShardResult; name?: string; message?: string }) => {
      if (m.type === 'progress') onUtterance();
      else if (m.type === 'done') {
        settled = true;
        resolve(m.result!);
      } else if (m.type === 'error') {
        settled = true;
        reject(m.name === 'DataError' ? new DataError(m.message!) : new Error(m.message));
      }
    });
    child.on('error', (err) => {
      if (!settled) reject(new DataError(`speech worker ${WORKER} could not start (${err.message})`));
      settled = true;
    });
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (!settled) reject(new DataError(`speech worker ${WORKER} exited with ${signal ?? `code ${code}`} before finishing its shard`));
      settled = true;
    });
    child.send(spec);
  });
}

export async function prepareSpeechCorpus(o: PrepareSpeechOptions): Promise<SpeechManifest> {
  const t0 = performance.now();
  const p = o.params;
  const speakers = makeSpeakers(p);
  const shards: { bucket: number; spec: ShardSpec }[] = [];
  p.buckets.forEach((b, bi) => {
    for (let start = 0; start < b.count; start += SHARD_SIZE) {
      shards.push({
        bucket: bi,
        spec: {
          seed: p.seed,
          bucketIndex: bi,
          minSeconds: b.minSeconds,
          maxSeconds: b.maxSeconds,
          start,
          end: Math.min(b.count, start + SHARD_SIZE),
          speakers: speakers[b.speakers],
          text: o.text[b.text],
          sampleRate: p.sampleRate,
          nMels: p.nMels,
          winLength: p.winLength,
          hopLength: p.hopLength,
          keepAudio: o.keepAudio ?? false,
          synth: o.synth,
        },
      });
    }
  });
  const total = p.buckets.reduce((a, b) => a + b.count, 0);
  let done = 0;
  const results: ShardResult[] = new Array(shards.length);
  const children = new Set<ChildProcess>();
  // schedule the longest shards (utterances × seconds) first so no long shard runs alone at the end;
  // results are stored by shard index, so the order does not change the output
  const order = shards.map((_, i) => i);
  const cost = (i: number): number => (shards[i].spec.end - shards[i].spec.start) * (shards[i].spec.minSeconds + shards[i].spec.maxSeconds);
  order.sort((x, y) => cost(y) - cost(x) || x - y);
  let next = 0;
  const workers = Math.max(1, Math.min(o.workers ?? Math.min(4, availableParallelism()), shards.length));
  try {
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (next < shards.length) {
          const i = order[next++];
          const name = p.buckets[shards[i].bucket].name;
          results[i] = await runShardProcess(shards[i].spec, () => o.onProgress?.(++done, total, name), children);
        }
      }),
    );
  } finally {
    for (const c of children) c.kill();
  }

  const counts: SpeechManifest['counts'] = {};
  let manifest: SpeechManifest | undefined;
  await buildDirAtomic(o.outDir, (tmp) => {
    const out = new CacheWriter(tmp);
    const write = (name: string, parts: (Int16Array | undefined)[] | string): void => {
      if (typeof parts === 'string') return out.write(name, parts);
      const all = new Int16Array(parts.reduce((a, x) => a + x!.length, 0));
      let at = 0;
      for (const x of parts) {
        all.set(x!, at);
        at += x!.length;
      }
      out.write(name, new Uint8Array(all.buffer));
    };
    p.buckets.forEach((b, bi) => {
      const mine = results.filter((_, i) => shards[i].bucket === bi);
      const shardUtts = mine.flatMap((r) => r.utterances);
      const utts: Utterance[] = [];
      let frames = 0;
      let seconds = 0;
      shardUtts.forEach((u, i) => {
        const secs = u.samples / p.sampleRate;
        utts.push({ id: `${b.name}-${String(i).padStart(6, '0')}`, speaker: u.speaker, text: u.text, seconds: Math.round(secs * 1000) / 1000, frames: u.frames, offset: frames });
        frames += u.frames;
        seconds += secs;
      });
      write(`${b.name}.feats.i16`, shardUtts.map((u) => u.feats));
      write(`${b.name}.utterances.json`, JSON.stringify(utts));
      if (o.keepAudio) write(`${b.name}.audio.i16`, shardUtts.map((u) => u.audio));
      counts[b.name] = { utterances: utts.length, frames, seconds: Math.round(seconds * 10) / 10, rejected: mine.reduce((a, r) => a + r.rejected, 0) };
    });
    manifest = out.finish<SpeechManifest>({
      generator: SPEECH_GENERATOR,
      version: SPEECH_GENERATOR_VERSION,
      params: p,
      synthesizer: results[0]?.synthesizer ?? 'none',
      speakers,
      counts,
      files: out.files,
      checksum: out.checksum(),
      buildSeconds: Math.round((performance.now() - t0) / 100) / 10,
    });
  });
  return manifest!;
}

export interface SpeechSplit {
  name: string;
  utterances: Utterance[];
  nMels: number;
  /** Log-mel features [frames, nMels] of utterance i. */
  features(i: number): Float32Array;
}

export interface SpeechCorpus {
  manifest: SpeechManifest;
  splits: Record<string, SpeechSplit>;
}

const SPEECH_HINT = 'rebuild it with: npx nx run data:prepare-speech';

/** Is a complete corpus with exactly these params at dir? */
export function speechCacheMatches(dir: string, params: SpeechCorpusParams): boolean {
  return cacheMatches(dir, SPEECH_GENERATOR, SPEECH_GENERATOR_VERSION, params);
}

/** Load a prepared corpus; `verify` checks sizes (always) and sha256 (default true) against its manifest. */
export function loadSpeechCorpus(dir: string, opts: { verify?: boolean } = {}): SpeechCorpus {
  const manifest = readCacheManifest<SpeechManifest>(dir, SPEECH_GENERATOR, SPEECH_GENERATOR_VERSION, SPEECH_HINT, opts.verify);
  const nMels = manifest.params.nMels;
  const splits: Record<string, SpeechSplit> = {};
  for (const b of manifest.params.buckets) {
    const utterances = readJsonFile<Utterance[]>(join(dir, `${b.name}.utterances.json`), SPEECH_HINT);
    const raw = readFileSync(join(dir, `${b.name}.feats.i16`));
    // copy: a pooled Buffer may start at an odd byte offset, which Int16Array cannot view
    const q = new Int16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    splits[b.name] = {
      name: b.name,
      utterances,
      nMels,
      features(i: number): Float32Array {
        const u = utterances[i];
        const out = new Float32Array(u.frames * nMels);
        const base = u.offset * nMels;
        for (let k = 0; k < out.length; k++) out[k] = q[base + k] / FEATURE_SCALE;
        return out;
      },
    };
  }
  return { manifest, splits };
}
