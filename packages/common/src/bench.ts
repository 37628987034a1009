/**
 * The one benchmark timing harness: warm-up runs, then timed repeats; reports the median (what tables
 * show) with min and max. `run` may be sync or async (GPU work must be fenced inside it, e.g. by
 * awaiting a read-back or a stream sync, or the time measures only the launch).
 */
export interface Timing {
  medianMs: number;
  minMs: number;
  maxMs: number;
  repeats: number;
}

export interface TimingOptions {
  warmup?: number;
  repeats?: number;
  /** Stop repeating once this much time was spent (at least one timed run always happens). */
  budgetMs?: number;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function timeIt(run: () => unknown, opts: TimingOptions = {}): Promise<Timing> {
  const { warmup = 2, repeats = 10, budgetMs = Infinity } = opts;
  for (let i = 0; i < warmup; i++) await run();
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
    if (performance.now() - start > budgetMs) break;
  }
  return { medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times), repeats: times.length };
}

/** Attention FLOPs as the benchmarks count them: forward 4·B·H·N²·D (halved when causal); backward 2.5× that. */
export function attentionTflops(shape: { batch: number; heads: number; n: number; d: number; causal: boolean }, ms: number, pass: 'fwd' | 'bwd'): number {
  const flops = 4 * shape.batch * shape.heads * shape.n * shape.n * shape.d * (shape.causal ? 0.5 : 1) * (pass === 'bwd' ? 2.5 : 1);
  return flops / (ms * 1e-3) / 1e12;
}
