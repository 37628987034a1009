import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError, Rng } from '@sigattn/common';
import {
  createSynthesizer,
  decodeTranscript,
  encodeTranscript,
  encodeWav,
  frameCount,
  LogMel,
  loadSpeechCorpus,
  normalizeTranscript,
  parseWav,
  prepareSpeechCorpus,
  RealFft,
  Resampler,
  speechParams,
} from '../src/index.js';
import { naiveDft } from '../src/speech/fft.js';
import { tempDirs } from './helpers.js';

const tempDir = tempDirs('speech');

const WORDS = ['the', 'light', 'water', 'spoke', 'unto', 'people', 'morning', 'city', 'gold', 'river', 'and', 'great', 'house', 'seven', 'stone'];
/** Random sentences, one a line, from a seeded word list: the text fixture for corpus tests. */
function sentences(n: number, seed: number): string {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: 4 + r.int(10) }, () => WORDS[r.int(WORDS.length)]).join(' ') + '.').join('\n');
}

describe('real FFT', () => {
  it('matches an O(n²) DFT on random input', () => {
    for (const n of [8, 64, 512]) {
      const r = new Rng(n);
      const x = Float64Array.from({ length: n }, () => r.normal());
      const re = new Float64Array(n / 2 + 1);
      const im = new Float64Array(n / 2 + 1);
      new RealFft(n).forward(x, re, im);
      const ref = naiveDft(x);
      for (let k = 0; k <= n / 2; k++) {
        expect(re[k]).toBeCloseTo(ref.re[k], 8);
        expect(im[k]).toBeCloseTo(ref.im[k], 8);
      }
    }
    expect(() => new RealFft(100)).toThrow(/power of two/);
  });
});

describe('resampling and log-mel', () => {
  it('22,050 → 16,000 Hz keeps a 1 kHz sine (amplitude and phase) and the length ratio', () => {
    const r = new Resampler(22050, 16000);
    expect([r.up, r.down]).toEqual([320, 441]);
    const n = 22050;
    const phase = new Rng(3).next() * 6;
    const x = Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 22050 + phase));
    const y = r.process(x);
    expect(y.length).toBe(16000);
    for (let i = 200; i < 15800; i += 37) expect(Math.abs(y[i] - 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 16000 + phase))).toBeLessThan(5e-3);
    // 10 kHz is above the new Nyquist: it must be filtered out
    const hi = r.process(Float32Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * 10000 * i) / 22050)));
    expect(Math.max(...hi.subarray(200, 15800).map(Math.abs))).toBeLessThan(0.01);
  });
  it('a tone peaks in the mel bin around its frequency', () => {
    const x = Float32Array.from({ length: 8000 }, (_, i) => Math.sin((2 * Math.PI * 440 * i) / 16000));
    const lm = new LogMel();
    const f = lm.compute(x);
    expect(f.length).toBe(frameCount(8000) * 80);
    const frame = Array.from(f.subarray(10 * 80, 11 * 80));
    const peak = frame.indexOf(Math.max(...frame));
    const mel = (hz: number): number => 2595 * Math.log10(1 + hz / 700);
    expect(Math.abs(peak + 1 - (mel(440) / mel(8000)) * 81)).toBeLessThanOrEqual(1);
  });
  it('WAV round-trips and a truncated header is a clear error', () => {
    const r = new Rng(5);
    const samples = Float32Array.from({ length: 300 }, () => r.next() - 0.5);
    const back = parseWav(encodeWav({ sampleRate: 16000, samples }), 'mem');
    expect(back.sampleRate).toBe(16000);
    for (let i = 0; i < 300; i++) expect(Math.abs(back.samples[i] - samples[i])).toBeLessThan(1 / 32768 + 1e-9);
    expect(() => parseWav(new Uint8Array(8), 'x.wav')).toThrow(/x\.wav: expected a RIFF\/WAVE header/);
  });
  it('transcripts normalise and encode/decode', () => {
    const t = normalizeTranscript("And GOD said, Let there be light: and there was light. Don't!");
    expect(t).toBe("and god said let there be light and there was light don't");
    expect(decodeTranscript(encodeTranscript(t))).toBe(t);
  });
});

describe('espeak-ng', () => {
  it('a synthesized utterance has the expected frame count (library and CLI agree)', () => {
    const lib = createSynthesizer({ backend: 'library' });
    const voice = { name: 'en-us+f3', rate: 170, pitch: 60 };
    const raw = lib.synth('The morning light came over the river.', voice);
    expect(lib.sampleRate).toBe(22050);
    expect(raw.length / 22050).toBeGreaterThan(1);
    const pcm16 = new Resampler(22050, 16000).process(raw);
    const f = new LogMel().compute(pcm16);
    const frames = 1 + Math.floor((pcm16.length - 400) / 160);
    expect(f.length).toBe(frames * 80);
    expect(f.every(Number.isFinite)).toBe(true);
    // the CLI pads more silence and times speech slightly differently: compare the voiced span
    const cli = createSynthesizer({ backend: 'cli' }).synth('The morning light came over the river.', voice);
    const voiced = (x: Float32Array): number => x.findLastIndex((v) => Math.abs(v) > 1e-3) - x.findIndex((v) => Math.abs(v) > 1e-3);
    expect(Math.abs(voiced(cli) - voiced(raw))).toBeLessThan(0.1 * voiced(raw));
  });
  it('an unknown voice is a clear error', () => {
    expect(() => createSynthesizer().synth('hi', { name: 'xx-nonexistent', rate: 150, pitch: 50 })).toThrow(/unknown voice 'xx-nonexistent'/);
  });
});

describe('speech corpus', () => {
  const dir = tempDir('speech');
  const text = { train: sentences(60, 1), test: sentences(30, 2) };
  const params = speechParams('tiny', 3);

  it('builds duration-split, speaker-split splits; the same seed gives the same corpus (any worker count), another seed another', async () => {
    const a = await prepareSpeechCorpus({ params, text, outDir: join(dir, 'a'), workers: 1 });
    const b = await prepareSpeechCorpus({ params, text, outDir: join(dir, 'b'), workers: 3 });
    const c = await prepareSpeechCorpus({ params: speechParams('tiny', 4), text, outDir: join(dir, 'c') });
    expect(b.checksum).toBe(a.checksum);
    expect(c.checksum).not.toBe(a.checksum);
    const trainSpk = new Set(a.speakers.train.map((s) => s.id));
    const corpus = loadSpeechCorpus(join(dir, 'a'));
    for (const bucket of params.buckets) {
      const split = corpus.splits[bucket.name];
      expect(split.utterances).toHaveLength(bucket.count);
      for (const [i, u] of split.utterances.entries()) {
        expect(u.seconds).toBeGreaterThanOrEqual(bucket.minSeconds - 0.01);
        expect(u.seconds).toBeLessThanOrEqual(bucket.maxSeconds + 0.01);
        expect(trainSpk.has(u.speaker)).toBe(bucket.speakers === 'train');
        expect(u.frames).toBe(frameCount(Math.round(u.seconds * 16000)));
        expect(split.features(i).length).toBe(u.frames * 80);
        expect(u.text).toMatch(/^[a-z' ]+$/);
      }
    }
    expect(readdirSync(dir).sort()).toEqual(['a', 'b', 'c']); // no temp directories left
  });
  it('detects truncated and corrupt cache files, naming the file and the fix', () => {
    const d = join(dir, 'a');
    const f = join(d, 'train.feats.i16');
    const bytes = readFileSync(f);
    bytes[10] ^= 0xff;
    writeFileSync(f, bytes);
    expect(() => loadSpeechCorpus(d)).toThrow(/train\.feats\.i16: expected sha256 .* \(sigattn-speech cache manifest\), found .*corrupt or a different version; rebuild it with: npx nx run data:prepare-speech/);
    writeFileSync(f, bytes.subarray(0, 100));
    expect(() => loadSpeechCorpus(d, { verify: false })).toThrow(/train\.feats\.i16: expected \d+ bytes .* found 100/);
    expect(() => loadSpeechCorpus(join(dir, 'nope'))).toThrow(/nope\/manifest\.json: file not found/);
  });
  it('a failed build leaves the previous corpus untouched and no temp directory', async () => {
    const before = loadSpeechCorpus(join(dir, 'b')).manifest.checksum;
    const impossible = speechParams([{ name: 'train', minSeconds: 0.01, maxSeconds: 0.02, count: 1, speakers: 'train', text: 'train' }], 3);
    await expect(prepareSpeechCorpus({ params: impossible, text, outDir: join(dir, 'b') })).rejects.toThrow(/could not make a 0\.01–0\.02 s utterance/);
    expect(loadSpeechCorpus(join(dir, 'b')).manifest.checksum).toBe(before);
    expect(readdirSync(dir).filter((n) => n.includes('tmp'))).toEqual([]);
    await expect(prepareSpeechCorpus({ params, text: { train: '1 2 3', test: '4' }, outDir: join(dir, 'd') })).rejects.toThrow(DataError);
  });
});
