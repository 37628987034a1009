/**
 * Random attention test cases shared by every back end's tests (TypeScript, WGSL, CUDA), following
 * kernel-notes.md §7: fresh random normal inputs (never zeros), ragged N, D ∈ {32, 64, 128}, scale ≠ 1,
 * sigmoid bias from U[−10, 2], and random causal / ALiBi / GQA / padding / Nq ≠ Nk.
 */
import { alibiSlopes, resolveAttention, type AttentionKind, type AttentionSpec, type ResolvedAttention } from '../spec.js';
import { randomNormalF32, type Rng } from './rng.js';

export interface AttentionCase {
  /** Human-readable summary with the seed, for failure messages. */
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
  /** Fix the kind; random otherwise. */
  kind?: AttentionKind;
  /** Head dims to draw from (default 32, 64, 128). */
  headDims?: readonly number[];
  /** Largest sequence length (default 80; lengths are ragged, mostly not multiples of 16). */
  maxN?: number;
  /** Largest batch (default 2). */
  maxBatch?: number;
  /** Largest number of key/value heads (default 2); query heads are 1–3× that (GQA). */
  maxKvHeads?: number;
}

function randomLength(rng: Rng, maxN: number): number {
  // A third of the time just past a power-of-two tile edge (17, 33, 65, …), where ragged tiles break.
  if (rng.next() < 0.33) {
    const edges = [1, 2, 16, 32, 64, 128, 256].filter((e) => e < maxN);
    return Math.min(maxN, rng.pick(edges) + rng.int(1, 3));
  }
  return rng.int(1, maxN);
}

export function randomAttentionCase(rng: Rng, options: RandomCaseOptions = {}): AttentionCase {
  const kind = options.kind ?? rng.pick(['sigmoid', 'softmax'] as const);
  const D = rng.pick(options.headDims ?? [32, 64, 128]);
  const maxN = options.maxN ?? 80;
  const B = rng.int(1, options.maxBatch ?? 2);
  const Hkv = rng.int(1, options.maxKvHeads ?? 2);
  const H = Hkv * rng.pick([1, 1, 2, 3]);
  const Nk = randomLength(rng, maxN);
  // Mostly self-attention; sometimes fewer queries than keys (decode / chunked prefill), or more.
  const Nq = rng.next() < 0.7 ? Nk : randomLength(rng, maxN);

  // scale·(q·k) has std scale·√D; draw it in [0.3, 3] so σ/exp see both the linear and saturated range.
  const spec: AttentionSpec = { kind, scale: rng.uniform(0.3, 3) / Math.sqrt(D) };
  if (kind === 'sigmoid') spec.bias = rng.next() < 0.8 ? rng.uniform(-10, 2) : { negLogN: rng.int(1, 4096) };
  if (rng.next() < 0.4) spec.causal = true;
  if (rng.next() < 0.3) {
    spec.alibiSlopes = rng.next() < 0.5 ? alibiSlopes(H) : Float64Array.from({ length: H }, () => rng.uniform(0.01, 0.5));
  }
  if (rng.next() < 0.3) spec.keyLengths = Int32Array.from({ length: B }, () => (rng.next() < 0.15 ? 0 : rng.int(1, Nk)));

  const qShape: [number, number, number, number] = [B, H, Nq, D];
  const kvShape: [number, number, number, number] = [B, Hkv, Nk, D];
  const resolved = resolveAttention(qShape, kvShape, kvShape, spec);
  const flags = [
    spec.causal === true ? 'causal' : '',
    spec.alibiSlopes !== undefined ? 'alibi' : '',
    H !== Hkv ? `gqa${H / Hkv}` : '',
    spec.keyLengths !== undefined ? `keyLengths=[${Array.from(spec.keyLengths).join(',')}]` : '',
  ].filter((s) => s !== '');
  const label = `${kind} q[${qShape}] kv[${kvShape}] scale=${resolved.scale.toPrecision(3)} bias=${resolved.bias.toPrecision(3)} ${flags.join(' ')} (seed ${rng.seed})`;
  return {
    label,
    spec,
    resolved,
    qShape,
    kvShape,
    q: randomNormalF32(rng, B * H * Nq * D),
    k: randomNormalF32(rng, B * Hkv * Nk * D),
    v: randomNormalF32(rng, B * Hkv * Nk * D),
    dO: randomNormalF32(rng, B * H * Nq * D),
  };
}
