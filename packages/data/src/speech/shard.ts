/**
 * One shard of the speech corpus: a run of utterances of one duration bucket, synthesized, resampled to 16 kHz and
 * turned into int16-quantised log-mel frames. espeak-ng's output depends on what the process synthesized before
 * (it keeps generator state between sentences), so each shard runs in a fresh process (shard-worker.ts): the
 * shard's output then depends only on its spec, whatever the worker count or the order shards finish in.
 */
import { DataError, deriveSeed, Rng } from '@sigattn/common';
import { createSynthesizer, type SynthOptions, type Voice } from './espeak.js';
import { frameCount, LogMel } from './logmel.js';
import { Resampler } from './resample.js';
import { normalizeTranscript, synthText } from './transcripts.js';

export const FEATURE_SCALE = 1000;

export interface ShardSpec {
  seed: number;
  bucketIndex: number;
  minSeconds: number;
  maxSeconds: number;
  /** Utterance numbers [start, end) within the bucket. */
  start: number;
  end: number;
  speakers: (Voice & { id: string })[];
  /** The text split, one sentence a line. */
  text: string;
  sampleRate: number;
  nMels: number;
  winLength: number;
  hopLength: number;
  keepAudio: boolean;
  synth?: SynthOptions;
}

export interface ShardUtterance {
  speaker: string;
  text: string;
  samples: number;
  frames: number;
  feats: Int16Array;
  audio?: Int16Array;
}

export interface ShardResult {
  utterances: ShardUtterance[];
  rejected: number;
  synthesizer: string;
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

const toInt16 = (x: Float32Array, scale: number): Int16Array => Int16Array.from(x, (v) => Math.max(-32768, Math.min(32767, Math.round(v * scale))));

export function runShard(spec: ShardSpec, onUtterance?: () => void): ShardResult {
  const lines = spec.text
    .split('\n')
    .map((l) => synthText(l).split(' ').filter((w) => /[A-Za-z]/.test(w)))
    .filter((l) => l.length > 0);
  if (lines.length === 0) throw new DataError('speech corpus: the text split has no words; pass a text corpus with sentences');
  const synth = createSynthesizer(spec.synth);
  const resampler = new Resampler(synth.sampleRate, spec.sampleRate);
  const logmel = new LogMel({ sampleRate: spec.sampleRate, nMels: spec.nMels, winLength: spec.winLength, hopLength: spec.hopLength });
  // seconds per word, learned per speaker from what espeak actually produced (starts at the nominal rate)
  const secPerWord = spec.speakers.map((s) => 60 / s.rate);
  const utterances: ShardUtterance[] = [];
  let rejected = 0;
  for (let u = spec.start; u < spec.end; u++) {
    const rng = new Rng(deriveSeed(spec.seed, 2, spec.bucketIndex, u));
    const si = u % spec.speakers.length;
    const spk = spec.speakers[si];
    let accepted: { text: string; samples: Float32Array } | undefined;
    for (let attempt = 0; attempt < 20 && !accepted; attempt++) {
      const target = spec.minSeconds + (spec.maxSeconds - spec.minSeconds) * (0.1 + 0.8 * rng.next());
      const count = Math.max(1, Math.round(target / secPerWord[si]));
      // consecutive words from a seeded starting line
      let line = rng.int(lines.length);
      const words: string[] = [];
      while (words.length < count) {
        words.push(...lines[line].slice(0, count - words.length));
        line = (line + 1) % lines.length;
      }
      const text = words.join(' ');
      const raw = trimSilence(synth.synth(text, spk), synth.sampleRate);
      const secs = raw.length / synth.sampleRate;
      secPerWord[si] = 0.5 * secPerWord[si] + 0.5 * (secs / count);
      if (secs >= spec.minSeconds && secs <= spec.maxSeconds) accepted = { text, samples: resampler.process(raw) };
      else rejected++;
    }
    if (!accepted) {
      throw new DataError(`speech corpus: could not make a ${spec.minSeconds}–${spec.maxSeconds} s utterance for ${spk.name} after 20 tries; widen the bucket`);
    }
    const f = logmel.compute(accepted.samples);
    utterances.push({
      speaker: spk.id,
      text: normalizeTranscript(accepted.text),
      samples: accepted.samples.length,
      frames: frameCount(accepted.samples.length, spec),
      feats: toInt16(f, FEATURE_SCALE),
      audio: spec.keepAudio ? toInt16(accepted.samples, 32768) : undefined,
    });
    onUtterance?.();
  }
  synth.close();
  return { utterances, rejected, synthesizer: `espeak-ng via ${synth.kind}` };
}
