/**
 * A synthetic speech-recognition corpus: KJV (or user) sentences read by espeak-ng with several voices, rates and
 * pitches; speakers are disjoint between train and test, and test utterances come from the text's test split.
 * Splits are by duration so a model trained on short utterances can be tested on longer ones:
 *   train (≤ 4 s, train speakers), test-short (≤ 4 s, test speakers), test-4-8 and test-8-16 (test speakers).
 * Audio is resampled to 16 kHz in TypeScript and turned into 80-bin log-mel frames (25 ms / 10 ms). Features are
 * stored as int16 (value × 1000, i.e. 0.001 resolution) to halve the cache. Everything is seeded: the same options
 * and espeak-ng version give byte-identical files (the manifest records a checksum to compare).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { buildDirAtomic, readJsonFile, sha256, sha256File, writeFileAtomic } from '../fsutil.js';
import { deriveSeed, Rng } from '../random.js';
import { createSynthesizer, type SynthOptions, type Voice } from './espeak.js';
import { frameCount, LogMel, LOGMEL_DEFAULTS } from './logmel.js';
import { Resampler } from './resample.js';
import { normalizeTranscript, synthText } from './transcripts.js';

export const SPEECH_GENERATOR_VERSION = 1;
export const FEATURE_SCALE = 1000;

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

export interface SpeechManifest {
  generator: 'sigattn-speech';
  version: number;
  params: SpeechCorpusParams;
  synthesizer: string;
  speakers: { train: Speaker[]; test: Speaker[] };
  counts: Record<string, { utterances: number; frames: number; seconds: number; rejected: number }>;
  files: { name: string; bytes: number; sha256: string }[];
  /** sha256 over the files' hashes: equal checksums mean identical corpora. */
  checksum: string;
  buildSeconds: number;
}

/** Trim leading/trailing silence (espeak pads both ends), keeping 50 ms around the speech. */
function trimSilence(x: Float32Array, rate: number): Float32Array {
  let peak = 0;
  for (let i = 0; i < x.length; i++) peak = Math.max(peak, Math.abs(x[i]));
  const thr = peak * 0.01;
  let s = 0;
  while (s < x.length && Math.abs(x[s]) <= thr) s++;
  let e = x.length;
  while (e > s && Math.abs(x[e - 1]) <= thr) e--;
  const pad = Math.round(0.05 * rate);
  return x.subarray(Math.max(0, s - pad), Math.min(x.length, e + pad));
}

/** A sentence stream: `words` drawn from consecutive lines of the text starting at a seeded position. */
function takeWords(lines: string[][], rng: Rng, count: number): string {
  let line = rng.int(lines.length);
  const out: string[] = [];
  while (out.length < count) {
    out.push(...lines[line].slice(0, count - out.length));
    line = (line + 1) % lines.length;
  }
  return out.join(' ');
}

export interface PrepareSpeechOptions {
  params: SpeechCorpusParams;
  /** Sentences per text split (e.g. from splitDocuments of loadKjv()); lines are sentences. */
  text: { train: string; test: string };
  outDir: string;
  synth?: SynthOptions;
  /** Also store 16 kHz int16 audio per split (doubles the cache). */
  keepAudio?: boolean;
  onProgress?: (done: number, total: number, bucket: string) => void;
}

export async function prepareSpeechCorpus(o: PrepareSpeechOptions): Promise<SpeechManifest> {
  const t0 = performance.now();
  const p = o.params;
  const synth = createSynthesizer(o.synth);
  const resampler = new Resampler(synth.sampleRate, p.sampleRate);
  const logmel = new LogMel({ sampleRate: p.sampleRate, nMels: p.nMels, winLength: p.winLength, hopLength: p.hopLength });
  const speakers = makeSpeakers(p);
  const toLines = (t: string): string[][] => {
    const lines = t.split('\n').map((l) => synthText(l).split(' ').filter((w) => /[A-Za-z]/.test(w))).filter((l) => l.length > 0);
    if (lines.length === 0) throw new DataError('speech corpus: the text split has no words; pass a text corpus with sentences');
    return lines;
  };
  const lines = { train: toLines(o.text.train), test: toLines(o.text.test) };
  const total = p.buckets.reduce((a, b) => a + b.count, 0);
  let done = 0;
  const counts: SpeechManifest['counts'] = {};
  let manifest: SpeechManifest | undefined;
  await buildDirAtomic(o.outDir, (tmp) => {
    const files: SpeechManifest['files'] = [];
    const write = (name: string, data: Uint8Array | string): void => {
      writeFileSync(join(tmp, name), data);
      files.push({ name, bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength, sha256: sha256(data) });
    };
    p.buckets.forEach((b, bi) => {
      const pool = speakers[b.speakers];
      const utts: Utterance[] = [];
      const feats: Int16Array[] = [];
      const audio: Int16Array[] = [];
      let frames = 0;
      let seconds = 0;
      let rejected = 0;
      // seconds per word, learned per speaker from what espeak actually produced (starts at the nominal rate)
      const secPerWord = pool.map((s) => 60 / s.rate);
      for (let u = 0; u < b.count; u++) {
        const rng = new Rng(deriveSeed(p.seed, 2, bi, u));
        const si = u % pool.length;
        const spk = pool[si];
        let accepted: { text: string; samples: Float32Array } | undefined;
        for (let attempt = 0; attempt < 20 && !accepted; attempt++) {
          const target = b.minSeconds + (b.maxSeconds - b.minSeconds) * (0.1 + 0.8 * rng.next());
          const words = Math.max(1, Math.round(target / secPerWord[si]));
          const text = takeWords(lines[b.text], rng, words);
          const raw = trimSilence(synth.synth(text, spk), synth.sampleRate);
          const secs = raw.length / synth.sampleRate;
          secPerWord[si] = 0.5 * secPerWord[si] + 0.5 * (secs / words);
          if (secs >= b.minSeconds && secs <= b.maxSeconds) accepted = { text, samples: resampler.process(raw) };
          else rejected++;
        }
        if (!accepted) throw new DataError(`speech corpus: could not make a ${b.minSeconds}–${b.maxSeconds} s utterance for ${spk.name} after 20 tries; widen the bucket`);
        const f = logmel.compute(accepted.samples);
        const q = new Int16Array(f.length);
        for (let i = 0; i < f.length; i++) q[i] = Math.max(-32768, Math.min(32767, Math.round(f[i] * FEATURE_SCALE)));
        const nf = frameCount(accepted.samples.length, p);
        const secs = accepted.samples.length / p.sampleRate;
        utts.push({ id: `${b.name}-${String(u).padStart(6, '0')}`, speaker: spk.id, text: normalizeTranscript(accepted.text), seconds: Math.round(secs * 1000) / 1000, frames: nf, offset: frames });
        feats.push(q);
        if (o.keepAudio) audio.push(Int16Array.from(accepted.samples, (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32768)))));
        frames += nf;
        seconds += secs;
        o.onProgress?.(++done, total, b.name);
      }
      const cat = (parts: Int16Array[]): Uint8Array => {
        const all = new Int16Array(parts.reduce((a, x) => a + x.length, 0));
        let at = 0;
        for (const x of parts) {
          all.set(x, at);
          at += x.length;
        }
        return new Uint8Array(all.buffer);
      };
      write(`${b.name}.feats.i16`, cat(feats));
      write(`${b.name}.utterances.json`, JSON.stringify(utts));
      if (o.keepAudio) write(`${b.name}.audio.i16`, cat(audio));
      counts[b.name] = { utterances: utts.length, frames, seconds: Math.round(seconds * 10) / 10, rejected };
    });
    manifest = {
      generator: 'sigattn-speech',
      version: SPEECH_GENERATOR_VERSION,
      params: p,
      synthesizer: `espeak-ng via ${synth.kind}`,
      speakers,
      counts,
      files,
      checksum: sha256(files.map((f) => `${f.name}:${f.sha256}`).join('\n')),
      buildSeconds: Math.round((performance.now() - t0) / 100) / 10,
    };
    // written last: a directory with manifest.json is complete
    writeFileAtomic(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2));
  });
  synth.close();
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
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) return false;
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as SpeechManifest;
    return m.version === SPEECH_GENERATOR_VERSION && JSON.stringify(m.params) === JSON.stringify(params);
  } catch {
    return false;
  }
}

/** Load a prepared corpus; `verify` checks sizes (always) and sha256 (default true) against its manifest. */
export function loadSpeechCorpus(dir: string, opts: { verify?: boolean } = {}): SpeechCorpus {
  const manifest = readJsonFile<SpeechManifest>(join(dir, 'manifest.json'), SPEECH_HINT);
  if (manifest.generator !== 'sigattn-speech' || manifest.version !== SPEECH_GENERATOR_VERSION) {
    throw new DataError(`${join(dir, 'manifest.json')}: expected generator sigattn-speech version ${SPEECH_GENERATOR_VERSION}, found ${manifest.generator} version ${manifest.version}; ${SPEECH_HINT}`);
  }
  for (const f of manifest.files) {
    const path = join(dir, f.name);
    if (!existsSync(path)) throw new DataError(`${path}: file not found (listed in the manifest); ${SPEECH_HINT}`);
    const bytes = readFileSync(path).byteLength;
    if (bytes !== f.bytes) throw new DataError(`${path}: expected ${f.bytes} bytes (manifest), found ${bytes}; the cache is truncated; ${SPEECH_HINT}`);
    if (opts.verify !== false) {
      const sum = sha256File(path);
      if (sum !== f.sha256) throw new DataError(`${path}: expected sha256 ${f.sha256} (manifest), found ${sum}; the cache is corrupt; ${SPEECH_HINT}`);
    }
  }
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
