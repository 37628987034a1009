/**
 * GPU correctness check of the CUDA forward and backward kernels, shared by the vitest file (test/cuda-attention)
 * and the bundle runner (bench/cuda-check.ts, for GPU hosts without Node tooling).
 * Rule (kernel-notes §7): max|kernel − ref64| ≤ 2·max|naive same-precision − ref64|, outputs
 * poisoned with NaN before the launch, random normal inputs.
 */
import { referenceAttentionBackward, referenceAttentionForward } from '../reference/attention-ref64.js';
import { alibiTerm, isVisible, resolveAttention, type AttentionSpec, type ResolvedAttention } from '../spec.js';
import type { CudaDriver } from './driver.js';
import type { CudaFlashAttention } from './flash.js';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from './half.js';
import { DeviceTensor } from './tensor.js';

type Round = (x: number) => number;
const ROUND: Record<'bf16' | 'fp16', Round> = {
  bf16: (x) => bf16BitsToF32(f32ToBf16Bits(x)),
  fp16: (x) => f16BitsToF32(f32ToF16Bits(x)),
};

function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / (2 ** 32 + 1);
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/**
 * Probabilities of head (b, h) as a framework computes them in a 16-bit dtype: f32-accumulated
 * QK^T rounded to the dtype, logits and probabilities rounded; masked entries are 0.
 */
function naiveProbs(r: ResolvedAttention, q: Float32Array, k: Float32Array, b: number, h: number, round: Round): Float64Array {
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
      else {
        s[j] = Math.exp(s[j] - mx);
        sum += s[j];
      }
    }
    if (r.kind === 'softmax') for (let j = 0; j < Nk; j++) s[j] = sum > 0 ? round(s[j] / sum) : 0;
  }
  return P;
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

export interface CudaCheckCase {
  dtype: 'bf16' | 'fp16';
  shape: [B: number, H: number, Hkv: number, Nq: number, Nk: number, D: number];
  spec: AttentionSpec;
}

/** Ragged N, GQA, causal (Nq = Nk and Nq ≠ Nk), ALiBi, padding incl. an empty batch element, both dtypes and head dims. */
export function cudaCheckCases(): CudaCheckCase[] {
  const cases: CudaCheckCase[] = [];
  for (const kind of ['sigmoid', 'softmax'] as const) {
    const bias = (x: number) => (kind === 'sigmoid' ? { bias: x } : {});
    cases.push(
      { dtype: 'bf16', shape: [2, 4, 2, 77, 77, 64], spec: { kind, scale: 0.09, ...bias(-3.7) } },
      { dtype: 'fp16', shape: [1, 2, 2, 150, 150, 128], spec: { kind, scale: 0.11, causal: true, alibiSlopes: [0.05, 0.21], ...bias(1.3) } },
      { dtype: 'bf16', shape: [2, 6, 2, 40, 131, 128], spec: { kind, causal: true, keyLengths: [131, 0], ...bias(-8.2) } },
      { dtype: 'fp16', shape: [2, 2, 1, 129, 65, 64], spec: { kind, causal: true, alibiSlopes: [0.3, 0.02], keyLengths: [50, 65], ...bias(-0.4) } },
    );
  }
  return cases;
}

export function caseLabel(c: CudaCheckCase): string {
  const [B, H, Hkv, Nq, Nk, D] = c.shape;
  return `${c.spec.kind} ${c.dtype} B${B} H${H}/${Hkv} Nq${Nq} Nk${Nk} D${D}` +
    `${c.spec.causal ? ' causal' : ''}${c.spec.alibiSlopes ? ' alibi' : ''}${c.spec.keyLengths ? ' padded' : ''}`;
}

export interface GradCheck {
  name: 'dq' | 'dk' | 'dv';
  maxError: number;
  naiveError: number;
  ok: boolean;
}

export interface CudaCheckResult {
  label: string;
  maxError: number;
  naiveError: number;
  /** Backward: one entry per gradient (same rule). */
  grads: GradCheck[];
  ok: boolean;
  /** Softmax LSE rows left NaN (unwritten) — must be 0. */
  lseUnwritten: number;
}

export function runCudaCheck(driver: CudaDriver, flash: CudaFlashAttention, c: CudaCheckCase, seed: number): CudaCheckResult {
  const [B, H, Hkv, Nq, Nk, D] = c.shape;
  const r = resolveAttention([B, H, Nq, D], [B, Hkv, Nk, D], [B, Hkv, Nk, D], c.spec);
  const g = gaussian(seed);
  const round = ROUND[c.dtype];
  // Inputs are rounded to the dtype first so the kernel and both references see the same values.
  const q = Float32Array.from({ length: B * H * Nq * D }, () => round(g()));
  const k = Float32Array.from({ length: B * Hkv * Nk * D }, () => round(g()));
  const v = Float32Array.from({ length: B * Hkv * Nk * D }, () => round(g()));
  const qd = DeviceTensor.fromHost(driver, q, [B, H, Nq, D], c.dtype);
  const kd = DeviceTensor.fromHost(driver, k, [B, Hkv, Nk, D], c.dtype);
  const vd = DeviceTensor.fromHost(driver, v, [B, Hkv, Nk, D], c.dtype);
  const dO = Float32Array.from({ length: B * H * Nq * D }, () => round(g()));
  const ddO = DeviceTensor.fromHost(driver, dO, [B, H, Nq, D], c.dtype);
  const out = DeviceTensor.empty(driver, c.dtype, [B, H, Nq, D]).poison();
  const lse = DeviceTensor.empty(driver, 'f32', [B, H, Nq]).poison();
  const grads = {
    dq: DeviceTensor.empty(driver, c.dtype, [B, H, Nq, D]).poison(),
    dk: DeviceTensor.empty(driver, c.dtype, [B, Hkv, Nk, D]).poison(),
    dv: DeviceTensor.empty(driver, c.dtype, [B, Hkv, Nk, D]).poison(),
  };
  try {
    flash.forward(qd, kd, vd, c.spec, { out, lse });
    flash.backward(qd, kd, vd, ddO, c.spec, { o: out, lse, ...grads });
    const fwd = compare(out.toHost(), referenceAttentionForward(r, q, k, v).o, naiveSamePrecision(r, q, k, v, round));
    const ref = referenceAttentionBackward(r, q, k, v, dO);
    const naive = naiveSamePrecisionBackward(r, q, k, v, dO, round);
    const gradChecks = (['dq', 'dk', 'dv'] as const).map((name) => ({ name, ...compare(grads[name].toHost(), ref[name], naive[name]) }));
    const lseUnwritten = c.spec.kind === 'softmax' ? Array.from(lse.toHost()).filter(Number.isNaN).length : 0;
    return {
      label: caseLabel(c),
      maxError: fwd.maxError,
      naiveError: fwd.naiveError,
      grads: gradChecks,
      ok: fwd.ok && gradChecks.every((x) => x.ok) && lseUnwritten === 0,
      lseUnwritten,
    };
  } finally {
    for (const t of [qd, kd, vd, ddO, out, lse, grads.dq, grads.dk, grads.dv]) t.free();
  }
}

/** max|kernel − ref64| ≤ 2·max|naive − ref64| (NaN, e.g. an unwritten poisoned element, fails). */
function compare(got: ArrayLike<number>, ref: ArrayLike<number>, naive: ArrayLike<number>): { maxError: number; naiveError: number; ok: boolean } {
  let maxError = 0, naiveError = 0;
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs(got[i] - ref[i]);
    maxError = Number.isNaN(e) ? Infinity : Math.max(maxError, e);
    naiveError = Math.max(naiveError, Math.abs(naive[i] - ref[i]));
  }
  return { maxError, naiveError, ok: naiveError > 0 && maxError <= 2 * naiveError };
}
