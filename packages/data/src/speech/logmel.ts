/**
 * Log-mel filterbank features: 25 ms Hann windows every 10 ms, 512-point real FFT, power spectrum, 80 triangular
 * mel filters (HTK mel scale, 0 Hz to Nyquist), natural log with a floor. Frames are only taken where the window
 * fits (Kaldi's snip-edges), so an utterance of N samples has 1 + floor((N − win) / hop) frames.
 */
import { RealFft } from './fft.js';

export interface LogMelOptions {
  sampleRate: number;
  winLength: number;
  hopLength: number;
  nFft: number;
  nMels: number;
  fMin: number;
  fMax: number;
  /** Power floor before the log. */
  floor: number;
}

export const LOGMEL_DEFAULTS: LogMelOptions = {
  sampleRate: 16000,
  winLength: 400,
  hopLength: 160,
  nFft: 512,
  nMels: 80,
  fMin: 0,
  fMax: 8000,
  floor: 1e-10,
};

const hzToMel = (f: number): number => 2595 * Math.log10(1 + f / 700);
const melToHz = (m: number): number => 700 * (10 ** (m / 2595) - 1);

/** Triangular mel filters as [nMels][nFft/2 + 1] weights. */
export function melFilterbank(o: LogMelOptions): Float32Array[] {
  const bins = o.nFft / 2 + 1;
  const lo = hzToMel(o.fMin);
  const hi = hzToMel(o.fMax);
  const centers = Array.from({ length: o.nMels + 2 }, (_, i) => melToHz(lo + ((hi - lo) * i) / (o.nMels + 1)));
  return Array.from({ length: o.nMels }, (_, m) => {
    const w = new Float32Array(bins);
    const [l, c, r] = [centers[m], centers[m + 1], centers[m + 2]];
    for (let b = 0; b < bins; b++) {
      const f = (b * o.sampleRate) / o.nFft;
      w[b] = Math.max(0, Math.min((f - l) / (c - l), (r - f) / (r - c)));
    }
    return w;
  });
}

export function frameCount(samples: number, o: Pick<LogMelOptions, 'winLength' | 'hopLength'> = LOGMEL_DEFAULTS): number {
  return samples < o.winLength ? 0 : 1 + Math.floor((samples - o.winLength) / o.hopLength);
}

/** Computes log-mel features with one reusable plan (FFT, window, filters). */
export class LogMel {
  readonly opts: LogMelOptions;
  private readonly fft: RealFft;
  private readonly window: Float64Array;
  private readonly filters: { start: number; weights: Float32Array }[];
  private readonly frame: Float64Array;
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  private readonly power: Float64Array;

  constructor(opts: Partial<LogMelOptions> = {}) {
    const o = (this.opts = { ...LOGMEL_DEFAULTS, ...opts });
    if (o.winLength > o.nFft) throw new RangeError(`winLength ${o.winLength} must be ≤ nFft ${o.nFft}`);
    this.fft = new RealFft(o.nFft);
    // periodic Hann, as torch.hann_window
    this.window = Float64Array.from({ length: o.winLength }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / o.winLength));
    // keep only each filter's non-zero span: 80 filters × ~10 bins instead of 80 × 257
    this.filters = melFilterbank(o).map((w) => {
      let s = 0;
      while (s < w.length && w[s] === 0) s++;
      let e = w.length;
      while (e > s && w[e - 1] === 0) e--;
      return { start: s, weights: w.slice(s, e) };
    });
    this.frame = new Float64Array(o.nFft);
    this.re = new Float64Array(o.nFft / 2 + 1);
    this.im = new Float64Array(o.nFft / 2 + 1);
    this.power = new Float64Array(o.nFft / 2 + 1);
  }

  /** Features [frames, nMels] (row-major) of mono samples at opts.sampleRate. */
  compute(samples: Float32Array): Float32Array {
    const o = this.opts;
    const frames = frameCount(samples.length, o);
    const out = new Float32Array(frames * o.nMels);
    for (let t = 0; t < frames; t++) {
      const off = t * o.hopLength;
      for (let i = 0; i < o.winLength; i++) this.frame[i] = samples[off + i] * this.window[i];
      this.frame.fill(0, o.winLength);
      this.fft.forward(this.frame, this.re, this.im);
      for (let b = 0; b < this.power.length; b++) this.power[b] = this.re[b] * this.re[b] + this.im[b] * this.im[b];
      for (let m = 0; m < o.nMels; m++) {
        const { start, weights } = this.filters[m];
        let acc = 0;
        for (let j = 0; j < weights.length; j++) acc += weights[j] * this.power[start + j];
        out[t * o.nMels + m] = Math.log(Math.max(acc, o.floor));
      }
    }
    return out;
  }
}
