/**
 * Random attention test cases shared by every back end's tests (TypeScript, WGSL, CUDA), as the
 * accuracy rule in the package README asks for: fresh random normal inputs (never zeros), ragged N,
 * D ∈ {32, 64, 128}, scale ≠ 1, a bias from U[−10, 2] for the element-wise kinds, and random causal /
 * ALiBi / GQA / padding / Nq ≠ Nk.
 */
import { Rng } from '@sigattn/common';
import {
  ATTENTION_KINDS, alibiSlopes, isElementwise, resolveAttention, type AttentionKind, type AttentionSpec, type ResolvedAttention,
} from '../spec.js';

export interface AttentionCase {
  /** Human-readable summary with the seed and case number that replay it, for failure messages. */
  label: string;
  spec: AttentionSpec;
  resolved: ResolvedAttention;
  qShape: [number, number, number, number];
  kvShape: [number, number, number, number];
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  /** Upstream gradient of O, for backward checks. */
  dO: Float32Array;
}

export interface RandomCaseOptions {
  /** Fix the kind; otherwise drawn from `kinds`. */
  kind?: AttentionKind;
  /** Kinds to draw from when `kind` is not given (default: every kind). */
  kinds?: readonly AttentionKind[];
  /** Head dims to draw from (default 32, 64, 128). */
  headDims?: readonly number[];
  /** Largest sequence length (default 80; lengths are ragged, mostly not multiples of 16). */
  maxN?: number;
  /** Smallest sequence length (default 1): long cases that must span many key tiles. */
  minN?: number;
  /** Largest batch (default 2). */
  maxBatch?: number;
  /** Largest number of key/value heads (default 2); query heads are 1–3× that (GQA). */
  maxKvHeads?: number;
}

/** Integer uniform in lo..hi (both included). */
function between(rng: Rng, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)];
}

function randomLength(rng: Rng, maxN: number, minN = 1): number {
  // A third of the time just past a power-of-two tile edge (17, 33, 65, …), where ragged tiles break.
  if (rng.next() < 0.33) {
    const edges = [1, 2, 16, 32, 64, 128, 256].filter((e) => e < maxN && e + 1 >= minN);
    if (edges.length > 0) return Math.min(maxN, pick(rng, edges) + between(rng, 1, 3));
  }
  return between(rng, minN, maxN);
}

function drawCase(rng: Rng, options: RandomCaseOptions, source: string): AttentionCase {
  const kind = options.kind ?? pick(rng, options.kinds ?? ATTENTION_KINDS);
  const D = pick(rng, options.headDims ?? [32, 64, 128]);
  const maxN = options.maxN ?? 80;
  const B = between(rng, 1, options.maxBatch ?? 2);
  const Hkv = between(rng, 1, options.maxKvHeads ?? 2);
  const H = Hkv * pick(rng, [1, 1, 2, 3]);
  const minN = Math.min(options.minN ?? 1, maxN);
  const Nk = randomLength(rng, maxN, minN);
  // Mostly self-attention; sometimes fewer queries than keys (decode / chunked prefill), or more.
  const Nq = rng.next() < 0.7 ? Nk : randomLength(rng, maxN, minN);

  // scale·(q·k) has std scale·√D; draw it in [0.3, 3] so σ/exp see both the linear and saturated range.
  const spec: AttentionSpec = { kind, scale: rng.uniform(0.3, 3) / Math.sqrt(D) };
  if (isElementwise(kind)) spec.bias = rng.next() < 0.8 ? rng.uniform(-10, 2) : { negLogN: between(rng, 1, 4096) };
  if (rng.next() < 0.4) spec.causal = true;
  if (rng.next() < 0.3) {
    spec.alibiSlopes = rng.next() < 0.5 ? alibiSlopes(H) : Float64Array.from({ length: H }, () => rng.uniform(0.01, 0.5));
  }
  if (rng.next() < 0.3) spec.keyLengths = Int32Array.from({ length: B }, () => (rng.next() < 0.15 ? 0 : between(rng, 1, Nk)));

  const qShape: [number, number, number, number] = [B, H, Nq, D];
  const kvShape: [number, number, number, number] = [B, Hkv, Nk, D];
  const resolved = resolveAttention(qShape, kvShape, kvShape, spec);
  const flags = [
    spec.causal === true ? 'causal' : '',
    spec.alibiSlopes !== undefined ? 'alibi' : '',
    H !== Hkv ? `gqa${H / Hkv}` : '',
    spec.keyLengths !== undefined ? `keyLengths=[${Array.from(spec.keyLengths).join(',')}]` : '',
  ].filter((s) => s !== '');
  const label = `${kind} q[${qShape}] kv[${kvShape}] scale=${resolved.scale.toPrecision(3)} bias=${resolved.bias.toPrecision(3)} ${flags.join(' ')} (${source})`;
  return {
    label,
    spec,
    resolved,
    qShape,
    kvShape,
    q: rng.normalF32(B * H * Nq * D),
    k: rng.normalF32(B * Hkv * Nk * D),
    v: rng.normalF32(B * Hkv * Nk * D),
    dO: rng.normalF32(B * H * Nq * D),
  };
}

/**
 * `count` cases drawn one after another from one stream seeded with `seed`; case n's label says
 * `seed S, case n`, and `randomAttentionCases(S, n + 1, options)[n]` replays it.
 */
export function randomAttentionCases(seed: number, count: number, options: RandomCaseOptions = {}): AttentionCase[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, n) => drawCase(rng, options, `seed ${seed}, case ${n}`));
}

/** One case from its own seed (the label says `seed S`). */
export function randomAttentionCase(seed: number, options: RandomCaseOptions = {}): AttentionCase {
  return drawCase(new Rng(seed), options, `seed ${seed}`);
}

/** The case with every input rounded by `round` (e.g. to bf16), so a kernel and the references see the same values. */
export function roundedAttentionCase(c: AttentionCase, round: (x: number) => number, name: string): AttentionCase {
  const r = (x: Float32Array) => Float32Array.from(x, round);
  return { ...c, label: `${c.label} ${name}`, q: r(c.q), k: r(c.k), v: r(c.v), dO: r(c.dO) };
}
