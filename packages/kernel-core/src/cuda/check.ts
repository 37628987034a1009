/**
 * GPU correctness check of the CUDA forward and backward kernels, shared by the vitest file
 * (test/cuda-attention.test.ts) and the bundle runner (bench/cuda-check.ts, for GPU hosts without Node
 * tooling). The cases come from the same random-case generator as every other back end's tests
 * (randomAttentionCases, restricted to the CUDA kinds and head dims, inputs rounded to bf16/fp16), and
 * every output is judged by the project's one accuracy rule (compareToReference, src/testing/accuracy.ts)
 * with the unfused computation in the kernel's 16-bit dtype as the naive yardstick. Outputs are
 * poisoned with NaN before the launch. On a Hopper device each case runs through both kernel
 * families, forward and backward (cudaCheckImplementations: the sm_90a wgmma kernels and the FA2 ones).
 */
import { referenceAttentionBackward, referenceAttentionForward } from '../reference/attention-ref64.js';
import { naiveAttentionF32Forward } from '../reference/attention-naive-f32.js';
import { alibiSlopes, alibiTerm, isVisible, resolveAttention, type AttentionSpec, type ResolvedAttention } from '../spec.js';
import { compareToReference, formatComparison, type Comparison } from '../testing/accuracy.js';
import { deriveSeed, Rng } from '@sigattn/common';
import { randomAttentionCase, roundedAttentionCase, type AttentionCase, type RandomCaseOptions } from '../testing/random-case.js';
import type { CudaDriver } from './driver.js';
import { CUDA_HEAD_DIMS, CUDA_KINDS, CudaFlashAttention, HOPPER_HEAD_DIMS, type CudaKind } from './flash.js';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from './half.js';
import { DeviceTensor } from './tensor.js';

type Round = (x: number) => number;
type HalfDtype = 'bf16' | 'fp16';
const ROUND: Record<HalfDtype, Round> = {
  bf16: (x) => bf16BitsToF32(f32ToBf16Bits(x)),
  fp16: (x) => f16BitsToF32(f32ToF16Bits(x)),
};

/**
 * Probabilities of head (b, h) as a framework computes them in a 16-bit dtype: f32-accumulated
 * QK^T rounded to the dtype, logits and probabilities rounded; masked entries are 0.
 */
function naiveProbs(
  r: ResolvedAttention, q: Float32Array, k: Float32Array, b: number, h: number, round: Round, lse?: Float64Array,
): Float64Array {
  const { H, Hkv, Nq, Nk, D } = r;
  const f = Math.fround;
  const kv0 = (b * Hkv + Math.floor(h / (H / Hkv))) * Nk * D;
  const P = new Float64Array(Nq * Nk);
  for (let i = 0; i < Nq; i++) {
    const q0 = ((b * H + h) * Nq + i) * D;
    const s = P.subarray(i * Nk, (i + 1) * Nk);
    let mx = -Infinity;
    for (let j = 0; j < Nk; j++) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot = f(dot + q[q0 + d] * k[kv0 + j * D + d]);
      const logit = round(f(round(f(round(dot) * r.scale)) + alibiTerm(r, h, i, j) + r.bias));
      s[j] = isVisible(r, b, i, j) ? logit : -Infinity;
      mx = Math.max(mx, s[j]);
    }
    let sum = 0;
    for (let j = 0; j < Nk; j++) {
      if (s[j] === -Infinity) s[j] = 0;
      else if (r.kind === 'sigmoid') s[j] = round(1 / (1 + Math.exp(-s[j])));
      else if (r.kind !== 'softmax') throw new Error(`cuda check: no CUDA kernel for kind '${r.kind}'`);
      else {
        s[j] = Math.exp(s[j] - mx);
        sum += s[j];
      }
    }
    if (r.kind === 'softmax') for (let j = 0; j < Nk; j++) s[j] = sum > 0 ? round(s[j] / sum) : 0;
    if (lse) lse[(b * r.H + h) * Nq + i] = sum > 0 ? mx + Math.log(sum) : -Infinity;
  }
  return P;
}

/** Softmax LSE [B, H, Nq] of the 16-bit naive computation: natural log over the rounded logits (−∞ for empty rows). */
export function naiveSamePrecisionLse(r: ResolvedAttention, q: Float32Array, k: Float32Array, round: Round): Float64Array {
  const lse = new Float64Array(r.B * r.H * r.Nq);
  for (let b = 0; b < r.B; b++) for (let h = 0; h < r.H; h++) naiveProbs(r, q, k, b, h, round, lse);
  return lse;
}

/** Unfused forward in a 16-bit dtype: naiveProbs, then P·V accumulated in f32 and rounded. */
export function naiveSamePrecision(r: ResolvedAttention, q: Float32Array, k: Float32Array, v: Float32Array, round: Round): Float64Array {
  const { B, H, Hkv, Nq, Nk, D } = r;
  const f = Math.fround;
  const out = new Float64Array(B * H * Nq * D);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const kv0 = (b * Hkv + Math.floor(h / (H / Hkv))) * Nk * D;
      const P = naiveProbs(r, q, k, b, h, round);
      for (let i = 0; i < Nq; i++)
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < Nk; j++) acc = f(acc + P[i * Nk + j] * v[kv0 + j * D + d]);
          out[((b * H + h) * Nq + i) * D + d] = round(acc);
        }
    }
  return out;
}

/** Unfused backward in a 16-bit dtype (autograd through naiveSamePrecision, stage by stage rounded). */
export function naiveSamePrecisionBackward(
  r: ResolvedAttention, q: Float32Array, k: Float32Array, v: Float32Array, dO: Float32Array, round: Round,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { B, H, Hkv, Nq, Nk, D } = r;
  const f = Math.fround;
  const dq = new Float64Array(B * H * Nq * D);
  const dkAcc = new Float32Array(B * Hkv * Nk * D);
  const dvAcc = new Float32Array(B * Hkv * Nk * D);
  const dS = new Float64Array(Nq * Nk);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const kv0 = (b * Hkv + Math.floor(h / (H / Hkv))) * Nk * D;
      const qh = (b * H + h) * Nq * D;
      const P = naiveProbs(r, q, k, b, h, round);
      for (let i = 0; i < Nq; i++) {
        let rowdot = 0;
        for (let j = 0; j < Nk; j++) {
          let acc = 0;
          for (let d = 0; d < D; d++) acc = f(acc + dO[qh + i * D + d] * v[kv0 + j * D + d]);
          dS[i * Nk + j] = round(acc); // dP
          rowdot = f(rowdot + P[i * Nk + j] * dS[i * Nk + j]);
        }
        for (let j = 0; j < Nk; j++) {
          const p = P[i * Nk + j], dp = dS[i * Nk + j];
          dS[i * Nk + j] = round(r.kind === 'sigmoid' ? f(f(p * (1 - p)) * dp) : f(p * f(dp - rowdot)));
        }
      }
      for (let i = 0; i < Nq; i++)
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < Nk; j++) acc = f(acc + dS[i * Nk + j] * k[kv0 + j * D + d]);
          dq[qh + i * D + d] = round(f(acc * r.scale));
        }
      for (let j = 0; j < Nk; j++)
        for (let d = 0; d < D; d++) {
          let ak = 0, av = 0;
          for (let i = 0; i < Nq; i++) {
            ak = f(ak + dS[i * Nk + j] * q[qh + i * D + d]);
            av = f(av + P[i * Nk + j] * dO[qh + i * D + d]);
          }
          dkAcc[kv0 + j * D + d] = f(dkAcc[kv0 + j * D + d] + f(ak * r.scale));
          dvAcc[kv0 + j * D + d] = f(dvAcc[kv0 + j * D + d] + av);
        }
    }
  return { dq, dk: Float64Array.from(dkAcc, round), dv: Float64Array.from(dvAcc, round) };
}

/** One GPU check: a case of the shared generator, drawn from its own seed when it runs (cheap to list). */
export interface CudaCheckCase {
  title: string;
  dtype: HalfDtype;
  seed: number;
  options: RandomCaseOptions;
}

/**
 * Per CUDA kind, `perKind` random cases of the shared generator (ragged N ≤ 80, GQA, causal with
 * Nq = Nk and Nq ≠ Nk, ALiBi, padding incl. empty batch elements, D in CUDA_HEAD_DIMS) plus one long case
 * (N ≤ 400, several tiles) per ten, whose head dim cycles through CUDA_HEAD_DIMS so that every tile
 * config sees multi-tile cases; bf16 and fp16 alternate. Then one case per head dim and dtype with N 520–1100
 * (batch 1, one K/V head: many key tiles, every pipeline stage refilled several times).
 */
export function cudaCheckCases(seed: number, perKind = 100): CudaCheckCase[] {
  const out: CudaCheckCase[] = [];
  CUDA_KINDS.forEach((kind, k) => {
    const short: RandomCaseOptions = { kind, headDims: CUDA_HEAD_DIMS };
    const count = perKind + Math.ceil(perKind / 10);
    for (let n = 0; n < count; n++) {
      const dtype: HalfDtype = n % 2 === 0 ? 'bf16' : 'fp16';
      const caseSeed = deriveSeed(seed, k, n);
      const options: RandomCaseOptions = n < perKind ? short
        : { ...short, headDims: [CUDA_HEAD_DIMS[(n - perKind) % CUDA_HEAD_DIMS.length]], maxN: 400, maxBatch: 1, maxKvHeads: 2 };
      out.push({ title: `${kind} ${dtype} ${n < perKind ? 'N ≤ 80' : 'N ≤ 400'} (seed ${caseSeed})`, dtype, seed: caseSeed, options });
    }
    // Many key tiles (N 520…1100: 5–9 tiles of 128 keys, 9–18 of 64) per head dim and dtype, so every stage of a
    // multi-buffered pipeline is refilled several times (a short case never wraps a ring of stages).
    CUDA_HEAD_DIMS.forEach((D, i) => {
      for (const dtype of ['bf16', 'fp16'] as const) {
        const caseSeed = deriveSeed(seed, k, 1000 + 2 * i + (dtype === 'fp16' ? 1 : 0));
        const options: RandomCaseOptions = { ...short, headDims: [D], minN: 520, maxN: 1100, maxBatch: 1, maxKvHeads: 1 };
        out.push({ title: `${kind} ${dtype} N 520–1100 (seed ${caseSeed})`, dtype, seed: caseSeed, options });
      }
    });
  });
  return out;
}

/** The check's case: drawn from its seed, inputs rounded to its dtype so the kernel and the references see the same values. */
export function cudaCheckCase(d: CudaCheckCase): AttentionCase {
  return roundedAttentionCase(randomAttentionCase(d.seed, d.options), ROUND[d.dtype], d.dtype);
}

export interface CudaCheckResult {
  label: string;
  /** O, dQ, dK, dV under the accuracy rule, per implementation (names `o@hopper`, `dq@fa2`, ...). */
  comparisons: Comparison[];
  ok: boolean;
  /** Softmax LSE rows left NaN (unwritten), summed over the implementations — must be 0. */
  lseUnwritten: number;
  /** '' when the case passes, else the label and what failed. */
  message: string;
}

/**
 * The implementations a GPU check should cover on this device: the Hopper kernels, forward and backward (on a
 * 9.x device with their sm_90a cubins, unless SIGATTN_CUDA_HOPPER=0) — once with the cp.async kernels (`tma:
 * 'never'`) and once with the TMA + warp-specialised ones forced at every N (`tma: 'always'`, `…@hopper-tma`: the
 * forward and the backward at D = 64 and 128, where built) — and always the FA2 ones. Head dims outside
 * HOPPER_HEAD_DIMS run the FA2 kernels in both (runCudaCheck runs each pair of kernels once).
 */
export function cudaCheckImplementations(driver: CudaDriver, buildDir?: string): CudaFlashAttention[] {
  const fa2 = new CudaFlashAttention(driver, buildDir, { hopper: false });
  const hopper = new CudaFlashAttention(driver, buildDir, { tma: 'never' });
  if (!CUDA_KINDS.every((k) => HOPPER_HEAD_DIMS.every((d) => hopper.forwardImpl(k, d) === 'hopper'))) {
    hopper.dispose();
    return [fa2];
  }
  // The TMA kernels run only at long N by default; the check forces them so that its (shorter) cases reach them.
  const tma = new CudaFlashAttention(driver, buildDir, { tma: 'always' });
  const tmaBuilt = (k: CudaKind) =>
    HOPPER_HEAD_DIMS.some((d) => tma.forwardKernel(k, d, 1) === 'hopper-tma' || tma.backwardKernel(k, d, 1) === 'hopper-tma');
  if (CUDA_KINDS.every(tmaBuilt)) return [hopper, tma, fa2];
  tma.dispose();
  return [hopper, fa2];
}

/**
 * One case through each implementation in `flashes` (forward, then backward from that forward's O
 * and LSE), each pair of forward and backward kernels once (a head dim without Hopper kernels runs FA2 in
 * both); each output is labelled by the kernel that wrote it (`o@<forward>`, `dq@<backward>`, …). The
 * float64 reference and the naive 16-bit yardstick are computed once.
 */
export function runCudaCheck(driver: CudaDriver, flashes: CudaFlashAttention | readonly CudaFlashAttention[], check: CudaCheckCase): CudaCheckResult {
  const { dtype } = check;
  const c = cudaCheckCase(check);
  const r = c.resolved;
  const { B, H, Hkv, Nq, Nk, D } = r;
  const round = ROUND[dtype];
  const ref = { o: referenceAttentionForward(r, c.q, c.k, c.v).o, ...referenceAttentionBackward(r, c.q, c.k, c.v, c.dO) };
  const naive = { o: naiveSamePrecision(r, c.q, c.k, c.v, round), ...naiveSamePrecisionBackward(r, c.q, c.k, c.v, c.dO, round) };
  const qd = DeviceTensor.fromHost(driver, c.q, c.qShape, dtype);
  const kd = DeviceTensor.fromHost(driver, c.k, c.kvShape, dtype);
  const vd = DeviceTensor.fromHost(driver, c.v, c.kvShape, dtype);
  const ddO = DeviceTensor.fromHost(driver, c.dO, c.qShape, dtype);
  const comparisons: Comparison[] = [];
  let lseUnwritten = 0;
  try {
    const ran = new Set<string>();
    for (const flash of Array.isArray(flashes) ? flashes : [flashes as CudaFlashAttention]) {
      const fwdImpl = flash.forwardKernel(r.kind as CudaKind, D, r.Nk), bwdImpl = flash.backwardKernel(r.kind as CudaKind, D, r.Nk);
      if (ran.has(`${fwdImpl}/${bwdImpl}`)) continue;
      ran.add(`${fwdImpl}/${bwdImpl}`);
      const out = DeviceTensor.empty(driver, dtype, [B, H, Nq, D]).poison();
      const lse = DeviceTensor.empty(driver, 'f32', [B, H, Nq]).poison();
      const grads = {
        dq: DeviceTensor.empty(driver, dtype, [B, H, Nq, D]).poison(),
        dk: DeviceTensor.empty(driver, dtype, [B, Hkv, Nk, D]).poison(),
        dv: DeviceTensor.empty(driver, dtype, [B, Hkv, Nk, D]).poison(),
      };
      try {
        flash.forward(qd, kd, vd, c.spec, { out, lse });
        flash.backward(qd, kd, vd, ddO, c.spec, { o: out, lse, ...grads });
        const got = { o: out.toHost(), dq: grads.dq.toHost(), dk: grads.dk.toHost(), dv: grads.dv.toHost() };
        for (const name of ['o', 'dq', 'dk', 'dv'] as const) {
          comparisons.push(compareToReference(`${name}@${name === 'o' ? fwdImpl : bwdImpl}`, got[name], ref[name], naive[name], dtype));
        }
        if (r.kind === 'softmax') lseUnwritten += Array.from(lse.toHost()).filter(Number.isNaN).length;
      } finally {
        for (const t of [out, lse, grads.dq, grads.dk, grads.dv]) t.free();
      }
    }
  } finally {
    for (const t of [qd, kd, vd, ddO]) t.free();
  }
  const ok = comparisons.every((x) => x.ok) && lseUnwritten === 0;
  const failures = [...comparisons.filter((x) => !x.ok).map(formatComparison), ...(lseUnwritten > 0 ? [`${lseUnwritten} softmax LSE rows unwritten`] : [])];
  return { label: c.label, comparisons, ok, lseUnwritten, message: ok ? '' : `${c.label}\n  ${failures.join('\n  ')}` };
}

/** Cache lengths of the decode check: one key, a few, around a 64-key step, several splits, long caches. */
export const DECODE_CHECK_KEY_LENGTHS = [1, 7, 64, 65, 300, 1025, 4096] as const;

/** One decode check (Nq = 1 against a cache of Nk keys); the other options are drawn from `seed`. */
export interface CudaDecodeCase {
  title: string;
  kind: CudaKind;
  dtype: HalfDtype;
  Nk: number;
  D: number;
  seed: number;
}

/**
 * Per CUDA kind, every cache length of DECODE_CHECK_KEY_LENGTHS in both dtypes, the head dim cycling so
 * that each kind sees every (D, dtype) pair; GQA, causal, ALiBi and key lengths are drawn per case.
 */
export function cudaDecodeCases(seed: number): CudaDecodeCase[] {
  const out: CudaDecodeCase[] = [];
  CUDA_KINDS.forEach((kind, k) => {
    DECODE_CHECK_KEY_LENGTHS.forEach((Nk, i) => {
      (['bf16', 'fp16'] as const).forEach((dtype, t) => {
        const D = CUDA_HEAD_DIMS[(2 * i + t) % CUDA_HEAD_DIMS.length];
        const caseSeed = deriveSeed(seed, 1000 + k, i, t);
        out.push({ title: `decode ${kind} ${dtype} Nk=${Nk} D=${D} (seed ${caseSeed})`, kind, dtype, Nk, D, seed: caseSeed });
      });
    });
  });
  return out;
}

/**
 * The decode case's inputs: batch 1–2, 1–2 K/V heads and 1, 2 or 4 query heads per K/V head (GQA), one
 * query per head; scale and bias as the shared generator draws them; causal (a no-op with Nq = 1: the
 * query sits after every key), ALiBi and per-batch key lengths (sometimes 0) at random. Inputs are
 * rounded to the dtype.
 */
export function cudaDecodeCase(d: CudaDecodeCase): AttentionCase {
  const rng = new Rng(d.seed);
  const B = 1 + rng.int(2), Hkv = 1 + rng.int(2), H = Hkv * [1, 2, 4][rng.int(3)];
  const spec: AttentionSpec = { kind: d.kind, scale: rng.uniform(0.3, 3) / Math.sqrt(d.D) };
  if (d.kind === 'sigmoid') spec.bias = rng.next() < 0.7 ? rng.uniform(-10, 2) : { negLogN: 1 + rng.int(4096) };
  if (rng.next() < 0.5) spec.causal = true;
  if (rng.next() < 0.4) spec.alibiSlopes = alibiSlopes(H);
  if (rng.next() < 0.4) spec.keyLengths = Int32Array.from({ length: B }, () => (rng.next() < 0.15 ? 0 : 1 + rng.int(d.Nk)));
  const qShape: [number, number, number, number] = [B, H, 1, d.D];
  const kvShape: [number, number, number, number] = [B, Hkv, d.Nk, d.D];
  const resolved = resolveAttention(qShape, kvShape, kvShape, spec);
  const flags = [
    spec.causal ? 'causal' : '', spec.alibiSlopes ? 'alibi' : '', H !== Hkv ? `gqa${H / Hkv}` : '',
    spec.keyLengths ? `keyLengths=[${Array.from(spec.keyLengths).join(',')}]` : '',
  ].filter((x) => x !== '');
  const label = `${d.kind} q[${qShape}] kv[${kvShape}] scale=${resolved.scale.toPrecision(3)} bias=${resolved.bias.toPrecision(3)} ${flags.join(' ')} (seed ${d.seed})`;
  const round = ROUND[d.dtype];
  const draw = (n: number) => Float32Array.from(rng.normalF32(n), round);
  const q = draw(B * H * d.D), k = draw(B * Hkv * d.Nk * d.D), v = draw(B * Hkv * d.Nk * d.D);
  return { label: `${label} ${d.dtype}`, spec, resolved, qShape, kvShape, q, k, v, dO: new Float32Array(q.length) };
}

/**
 * One decode case through `flash.forward` (which routes Nq = 1 to the decode kernel), twice: O (and
 * the softmax LSE) under the accuracy rule — the LSE against the float64 reference with the naive f32
 * and the 16-bit naive LSE as yardsticks — and the second run must reproduce the first bit for bit
 * (the split merge is in a fixed order).
 */
export function runCudaDecodeCheck(driver: CudaDriver, flash: CudaFlashAttention, d: CudaDecodeCase): CudaCheckResult {
  const c = cudaDecodeCase(d);
  const r = c.resolved;
  const round = ROUND[d.dtype];
  const ref = referenceAttentionForward(r, c.q, c.k, c.v);
  const naiveO = naiveSamePrecision(r, c.q, c.k, c.v, round);
  const tensors = [
    DeviceTensor.fromHost(driver, c.q, c.qShape, d.dtype),
    DeviceTensor.fromHost(driver, c.k, c.kvShape, d.dtype),
    DeviceTensor.fromHost(driver, c.v, c.kvShape, d.dtype),
  ];
  const runs: { o: Float32Array; lse: Float32Array }[] = [];
  try {
    for (let run = 0; run < 2; run++) {
      const out = DeviceTensor.empty(driver, d.dtype, c.qShape).poison();
      const lse = DeviceTensor.empty(driver, 'f32', [r.B, r.H, 1]).poison();
      try {
        flash.forward(tensors[0], tensors[1], tensors[2], c.spec, { out, lse });
        runs.push({ o: out.toHost() as Float32Array, lse: lse.toHost() as Float32Array });
      } finally {
        out.free();
        lse.free();
      }
    }
  } finally {
    for (const t of tensors) t.free();
  }
  const comparisons = [compareToReference('o@decode', runs[0].o, ref.o, naiveO, d.dtype)];
  if (r.kind === 'softmax') {
    const naiveLse = [naiveAttentionF32Forward(r, c.q, c.k, c.v).lse, naiveSamePrecisionLse(r, c.q, c.k, round)];
    comparisons.push(compareToReference('lse@decode', runs[0].lse, ref.lse, naiveLse, 'f32'));
  }
  const same = (a: Float32Array, b: Float32Array) => a.every((x, i) => Object.is(x, b[i]));
  const deterministic = same(runs[0].o, runs[1].o) && (r.kind !== 'softmax' || same(runs[0].lse, runs[1].lse));
  const ok = comparisons.every((x) => x.ok) && deterministic;
  const failures = [...comparisons.filter((x) => !x.ok).map(formatComparison), ...(deterministic ? [] : ['two runs differ (the split merge must be deterministic)'])];
  return { label: c.label, comparisons, ok, lseUnwritten: 0, message: ok ? '' : `${c.label}\n  ${failures.join('\n  ')}` };
}

/** One varlen check: a packed batch of ragged sequences; everything but kind, dtype and D is drawn from `seed`. */
export interface CudaVarlenCase {
  title: string;
  kind: CudaKind;
  dtype: HalfDtype;
  D: number;
  seed: number;
}

/** Per CUDA kind, one packed batch per (D, dtype) pair (CUDA_HEAD_DIMS × bf16/fp16). */
export function cudaVarlenCases(seed: number): CudaVarlenCase[] {
  const out: CudaVarlenCase[] = [];
  CUDA_KINDS.forEach((kind, k) => {
    for (let i = 0; i < 2 * CUDA_HEAD_DIMS.length; i++) {
      const dtype: HalfDtype = i % 2 === 0 ? 'bf16' : 'fp16';
      const D = CUDA_HEAD_DIMS[i % CUDA_HEAD_DIMS.length];
      const caseSeed = deriveSeed(seed, 2000 + k, i);
      out.push({ title: `varlen ${kind} ${dtype} D=${D} (seed ${caseSeed})`, kind, dtype, D, seed: caseSeed });
    }
  });
  return out;
}

/** A packed batch: q and the output gradient dO [totalQ, H, D], k/v [totalK, Hkv, D] (rounded to the dtype) and their cumulative offsets. */
export interface VarlenCase {
  label: string;
  spec: AttentionSpec;
  H: number;
  Hkv: number;
  D: number;
  cuQ: Int32Array;
  cuK: Int32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  dO: Float32Array;
}

/**
 * The varlen case's inputs: 3–5 sequences in random order, one of 1 query and one of 129–328 queries
 * (several query blocks), the others 1–150; keys per sequence equal to its queries (self-attention)
 * or drawn independently (1–300, so causal sees Nk < Nq and Nk > Nq); 1–2 K/V heads with 1 or 2
 * query heads each (GQA); scale and bias as the decode cases draw them; causal and ALiBi at random. dO is
 * drawn last, so q/k/v are those the forward-only check drew.
 */
export function cudaVarlenCase(d: CudaVarlenCase): VarlenCase {
  const rng = new Rng(d.seed);
  const S = 3 + rng.int(3);
  const seqQ = rng.shuffle([1, 129 + rng.int(200), ...Array.from({ length: S - 2 }, () => 1 + rng.int(150))]);
  const selfAttention = rng.next() < 0.5;
  const seqK = seqQ.map((n) => (selfAttention ? n : 1 + rng.int(300)));
  const Hkv = 1 + rng.int(2), H = Hkv * (1 + rng.int(2));
  const spec: AttentionSpec = { kind: d.kind, scale: rng.uniform(0.3, 3) / Math.sqrt(d.D) };
  if (d.kind === 'sigmoid') spec.bias = rng.uniform(-10, 2);
  if (rng.next() < 0.5) spec.causal = true;
  if (rng.next() < 0.4) spec.alibiSlopes = alibiSlopes(H);
  const offsets = (lens: number[]) => Int32Array.from([0, ...lens.map((_, i) => lens.slice(0, i + 1).reduce((a, b) => a + b, 0))]);
  const cuQ = offsets(seqQ), cuK = offsets(seqK);
  const round = ROUND[d.dtype];
  const draw = (n: number) => Float32Array.from(rng.normalF32(n), round);
  const q = draw(cuQ[S] * H * d.D), k = draw(cuK[S] * Hkv * d.D), v = draw(cuK[S] * Hkv * d.D);
  const dO = draw(cuQ[S] * H * d.D);
  const flags = [spec.causal ? 'causal' : '', spec.alibiSlopes ? 'alibi' : '', H !== Hkv ? `gqa${H / Hkv}` : ''].filter((x) => x !== '');
  const scale = spec.scale!.toPrecision(3), bias = d.kind === 'sigmoid' ? ` bias=${(spec.bias as number).toPrecision(3)}` : '';
  const label = `${d.kind} H=${H} Hkv=${Hkv} D=${d.D} seqQ=[${seqQ}] seqK=[${seqK}] scale=${scale}${bias} ${flags.join(' ')} ${d.dtype} (seed ${d.seed})`;
  return { label, spec, H, Hkv, D: d.D, cuQ, cuK, q, k, v, dO };
}

/** Rows [start, start+n) of a packed [tokens, heads, D] array as one batch element [1, heads, n, D]. */
function unpackSequence(packed: ArrayLike<number>, heads: number, D: number, start: number, n: number): Float32Array {
  const out = new Float32Array(heads * n * D);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < n; i++)
      for (let d = 0; d < D; d++) out[(h * n + i) * D + d] = packed[((start + i) * heads + h) * D + d];
  return out;
}

/**
 * One varlen case through `flash.forwardVarlen` (with the softmax LSE) and then `flash.backwardVarlen` from
 * that forward's O and LSE (every output poisoned with NaN first). Each sequence is judged on its own under
 * the accuracy rule against the float64 reference and the naive 16-bit computation of that sequence as a
 * batch of one: O, the softmax LSE (yardsticks: the naive f32 and the 16-bit naive LSE, as the decode check),
 * dQ, dK and dV (`o@varlen[s]`, `lse@varlen[s]`, `dq@varlen[s]`, `dk@varlen[s]`, `dv@varlen[s]`).
 */
export function runCudaVarlenCheck(driver: CudaDriver, flash: CudaFlashAttention, d: CudaVarlenCase): CudaCheckResult {
  const c = cudaVarlenCase(d);
  const { H, Hkv, D, cuQ, cuK } = c;
  const S = cuQ.length - 1;
  const softmax = d.kind === 'softmax';
  const [qShape, kvShape] = [[cuQ[S], H, D], [cuK[S], Hkv, D]];
  const inputs = [
    DeviceTensor.fromHost(driver, c.q, qShape, d.dtype),
    DeviceTensor.fromHost(driver, c.k, kvShape, d.dtype),
    DeviceTensor.fromHost(driver, c.v, kvShape, d.dtype),
    DeviceTensor.fromHost(driver, c.dO, qShape, d.dtype),
  ];
  const [qd, kd, vd, ddO] = inputs;
  const out = DeviceTensor.empty(driver, d.dtype, qShape).poison();
  const lse = DeviceTensor.empty(driver, 'f32', [cuQ[S], H]).poison();
  const grads = {
    dq: DeviceTensor.empty(driver, d.dtype, qShape).poison(),
    dk: DeviceTensor.empty(driver, d.dtype, kvShape).poison(),
    dv: DeviceTensor.empty(driver, d.dtype, kvShape).poison(),
  };
  let got: Record<'o' | 'lse' | 'dq' | 'dk' | 'dv', ArrayLike<number>>;
  try {
    flash.forwardVarlen(qd, kd, vd, cuQ, cuK, c.spec, { out, ...(softmax ? { lse } : {}) });
    flash.backwardVarlen(qd, kd, vd, ddO, cuQ, cuK, c.spec, { o: out, ...(softmax ? { lse } : {}), ...grads });
    got = { o: out.toHost(), lse: lse.toHost(), dq: grads.dq.toHost(), dk: grads.dk.toHost(), dv: grads.dv.toHost() };
  } finally {
    for (const t of [...inputs, out, lse, grads.dq, grads.dk, grads.dv]) t.free();
  }
  const round = ROUND[d.dtype];
  const comparisons: Comparison[] = [];
  for (let s = 0; s < S; s++) {
    const nq = cuQ[s + 1] - cuQ[s], nk = cuK[s + 1] - cuK[s];
    const r = resolveAttention([1, H, nq, D], [1, Hkv, nk, D], [1, Hkv, nk, D], c.spec);
    const q = unpackSequence(c.q, H, D, cuQ[s], nq), dO = unpackSequence(c.dO, H, D, cuQ[s], nq);
    const k = unpackSequence(c.k, Hkv, D, cuK[s], nk), v = unpackSequence(c.v, Hkv, D, cuK[s], nk);
    const fwd = referenceAttentionForward(r, q, k, v);
    const ref = { o: fwd.o, ...referenceAttentionBackward(r, q, k, v, dO) };
    const naive = { o: naiveSamePrecision(r, q, k, v, round), ...naiveSamePrecisionBackward(r, q, k, v, dO, round) };
    comparisons.push(compareToReference(`o@varlen[${s}]`, unpackSequence(got.o, H, D, cuQ[s], nq), ref.o, naive.o, d.dtype));
    if (softmax) {
      // The LSE [totalQ, H] unpacks like a tensor of head dim 1.
      const naiveLse = [naiveAttentionF32Forward(r, q, k, v).lse, naiveSamePrecisionLse(r, q, k, round)];
      comparisons.push(compareToReference(`lse@varlen[${s}]`, unpackSequence(got.lse, H, 1, cuQ[s], nq), fwd.lse, naiveLse, 'f32'));
    }
    comparisons.push(compareToReference(`dq@varlen[${s}]`, unpackSequence(got.dq, H, D, cuQ[s], nq), ref.dq, naive.dq, d.dtype));
    // dK/dV of a K/V head sum its query heads' contributions, as the batch-of-one reference does (GQA).
    comparisons.push(compareToReference(`dk@varlen[${s}]`, unpackSequence(got.dk, Hkv, D, cuK[s], nk), ref.dk, naive.dk, d.dtype));
    comparisons.push(compareToReference(`dv@varlen[${s}]`, unpackSequence(got.dv, Hkv, D, cuK[s], nk), ref.dv, naive.dv, d.dtype));
  }
  const ok = comparisons.every((x) => x.ok);
  const failures = comparisons.filter((x) => !x.ok).map(formatComparison);
  return { label: c.label, comparisons, ok, lseUnwritten: 0, message: ok ? '' : `${c.label}\n  ${failures.join('\n  ')}` };
}
