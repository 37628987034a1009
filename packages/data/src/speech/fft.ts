/**
 * Real FFT in TypeScript: a radix-2 complex FFT of size n/2 on the even/odd-packed signal, then the standard
 * split step to recover the n/2 + 1 bins of the real input. Plans (twiddles, bit reversal) are cached per size.
 */
export class RealFft {
  readonly n: number;
  private readonly half: number;
  private readonly rev: Uint32Array;
  private readonly cosH: Float64Array; // twiddles of the half-size complex FFT
  private readonly sinH: Float64Array;
  private readonly cosN: Float64Array; // twiddles of the split step
  private readonly sinN: Float64Array;
  private readonly re: Float64Array;
  private readonly im: Float64Array;

  constructor(n: number) {
    if (n < 4 || (n & (n - 1)) !== 0) throw new RangeError(`RealFft size must be a power of two ≥ 4, found ${n}`);
    this.n = n;
    const h = (this.half = n / 2);
    const bits = Math.log2(h);
    this.rev = new Uint32Array(h);
    for (let i = 0; i < h; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.rev[i] = r;
    }
    this.cosH = new Float64Array(h / 2);
    this.sinH = new Float64Array(h / 2);
    for (let i = 0; i < h / 2; i++) {
      this.cosH[i] = Math.cos((-2 * Math.PI * i) / h);
      this.sinH[i] = Math.sin((-2 * Math.PI * i) / h);
    }
    this.cosN = new Float64Array(h + 1);
    this.sinN = new Float64Array(h + 1);
    for (let k = 0; k <= h; k++) {
      this.cosN[k] = Math.cos((-2 * Math.PI * k) / n);
      this.sinN[k] = Math.sin((-2 * Math.PI * k) / n);
    }
    this.re = new Float64Array(h);
    this.im = new Float64Array(h);
  }

  /** Spectrum of a real signal of length n: writes bins 0..n/2 into outRe/outIm (length ≥ n/2 + 1). */
  forward(x: ArrayLike<number>, outRe: Float64Array | Float32Array, outIm: Float64Array | Float32Array): void {
    const { half: h, re, im, rev } = this;
    for (let i = 0; i < h; i++) {
      const j = rev[i];
      re[j] = x[2 * i];
      im[j] = x[2 * i + 1];
    }
    for (let size = 2; size <= h; size *= 2) {
      const halfSize = size / 2;
      const step = h / size;
      for (let start = 0; start < h; start += size) {
        for (let k = 0; k < halfSize; k++) {
          const wr = this.cosH[k * step];
          const wi = this.sinH[k * step];
          const a = start + k;
          const b = a + halfSize;
          const tr = re[b] * wr - im[b] * wi;
          const ti = re[b] * wi + im[b] * wr;
          re[b] = re[a] - tr;
          im[b] = im[a] - ti;
          re[a] += tr;
          im[a] += ti;
        }
      }
    }
    // Split: X[k] = E[k] + W^k O[k], with E/O the spectra of the even/odd samples recovered from Z = FFT(even + i·odd).
    for (let k = 0; k <= h; k++) {
      const zr = re[k % h];
      const zi = im[k % h];
      const cr = re[(h - k) % h];
      const ci = -im[(h - k) % h];
      const er = (zr + cr) / 2;
      const ei = (zi + ci) / 2;
      const or = (zi - ci) / 2; // (Z − conj)/(2i)
      const oi = -(zr - cr) / 2;
      const wr = this.cosN[k];
      const wi = this.sinN[k];
      outRe[k] = er + or * wr - oi * wi;
      outIm[k] = ei + or * wi + oi * wr;
    }
  }
}

/** O(n²) DFT of a real signal, the reference the tests compare RealFft against. */
export function naiveDft(x: ArrayLike<number>): { re: Float64Array; im: Float64Array } {
  const n = x.length;
  const re = new Float64Array(n / 2 + 1);
  const im = new Float64Array(n / 2 + 1);
  for (let k = 0; k <= n / 2; k++) {
    for (let t = 0; t < n; t++) {
      re[k] += x[t] * Math.cos((-2 * Math.PI * k * t) / n);
      im[k] += x[t] * Math.sin((-2 * Math.PI * k * t) / n);
    }
  }
  return { re, im };
}
