/**
 * Band-limited resampling by a rational factor (e.g. espeak's 22,050 Hz → 16,000 Hz = 320/441) with a polyphase
 * Kaiser-windowed sinc filter, so no sox process is needed. The cutoff sits at 95 % of the lower Nyquist.
 */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < 1e-12 * sum) break;
  }
  return sum;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

export class Resampler {
  readonly up: number;
  readonly down: number;
  private readonly taps: number; // per phase, two-sided: 2·halfTaps
  private readonly halfTaps: number;
  private readonly table: Float32Array; // [up phases][taps]

  constructor(fromRate: number, toRate: number, halfTaps = 16, beta = 8.6) {
    const g = gcd(fromRate, toRate);
    this.up = toRate / g;
    this.down = fromRate / g;
    this.halfTaps = halfTaps;
    this.taps = 2 * halfTaps;
    // cutoff relative to the input rate's Nyquist (1.0 = fromRate/2)
    const cutoff = 0.95 * Math.min(1, toRate / fromRate);
    this.table = new Float32Array(this.up * this.taps);
    const i0b = besselI0(beta);
    for (let p = 0; p < this.up; p++) {
      const frac = p / this.up; // output position's fractional offset in input samples
      for (let j = 0; j < this.taps; j++) {
        const d = j - halfTaps + 1 - frac; // distance from the input sample to the output position
        const x = Math.PI * cutoff * d;
        const sinc = d === 0 ? 1 : Math.sin(x) / x;
        const r = d / (halfTaps + 1);
        const win = Math.abs(r) >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - r * r)) / i0b;
        this.table[p * this.taps + j] = cutoff * sinc * win;
      }
    }
  }

  /** Output length for n input samples. */
  outputLength(n: number): number {
    return Math.ceil((n * this.up) / this.down);
  }

  process(input: Float32Array, scale = 1): Float32Array {
    const n = input.length;
    const out = new Float32Array(this.outputLength(n));
    const { up, down, taps, table } = this;
    for (let m = 0; m < out.length; m++) {
      const num = m * down; // output position in input samples = num / up
      const base = Math.floor(num / up);
      const row = (num - base * up) * taps;
      const first = base - this.halfTaps + 1;
      let acc = 0;
      if (first >= 0 && first + taps <= n) {
        for (let j = 0; j < taps; j++) acc += input[first + j] * table[row + j];
      } else {
        for (let j = 0; j < taps; j++) {
          const k = first + j;
          if (k >= 0 && k < n) acc += input[k] * table[row + j];
        }
      }
      out[m] = acc * scale;
    }
    return out;
  }
}
