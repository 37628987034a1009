/**
 * The tolerance rule of kernel-notes.md §7, for every output of the attention op:
 *   max|kernel − ref64| ≤ 2 · max|naive32 − ref64|
 * where ref64 is the float64 reference and naive32 the unfused same-precision implementation.
 */
import { referenceAttentionBackward, referenceAttentionForward } from '../reference/attention-ref64.js';
import { naiveAttentionF32Backward, naiveAttentionF32Forward } from '../reference/attention-naive-f32.js';
import type { AttentionCase } from './random-case.js';

export type AttentionOutputName = 'o' | 'lse' | 'dq' | 'dk' | 'dv';

export interface Comparison {
  output: string;
  /** max|kernel − ref64| (NaN or Infinity when the kernel wrote a non-finite value where it should not). */
  maxError: number;
  /** max|naive32 − ref64|. */
  naiveError: number;
  tolerance: number;
  ok: boolean;
  /** Flat index of the worst element (−1 when all match exactly). */
  worstIndex: number;
  kernelValue: number;
  referenceValue: number;
}

/** Largest |a − ref|; positions where ref is ±Infinity (a masked LSE) must match exactly. */
function maxAbsError(a: ArrayLike<number>, ref: ArrayLike<number>): { error: number; index: number } {
  let error = 0;
  let index = -1;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i];
    const e = Number.isFinite(r) ? Math.abs(a[i] - r) : a[i] === r ? 0 : Infinity;
    // `!(e <= error)` also catches NaN, which then sticks as the result.
    if (!(e <= error)) {
      error = e;
      index = i;
      if (Number.isNaN(e)) break;
    }
  }
  return { error, index };
}

/**
 * Compare one output. The tolerance is 2× the naive error, floored at one float32 ulp of the largest
 * reference value, because a naive error that happens to be exactly 0 (e.g. an output that is 0
 * everywhere under a full padding mask) would otherwise demand bit-exactness.
 */
export function compareToReference(
  output: string, kernel: ArrayLike<number>, ref64: ArrayLike<number>, naive32: ArrayLike<number>,
): Comparison {
  if (kernel.length !== ref64.length || naive32.length !== ref64.length) {
    throw new Error(`compareToReference(${output}): lengths differ: kernel ${kernel.length}, ref64 ${ref64.length}, naive32 ${naive32.length}`);
  }
  const { error: maxError, index } = maxAbsError(kernel, ref64);
  const { error: naiveError } = maxAbsError(naive32, ref64);
  let refMax = 0;
  for (let i = 0; i < ref64.length; i++) if (Number.isFinite(ref64[i])) refMax = Math.max(refMax, Math.abs(ref64[i]));
  const tolerance = Math.max(2 * naiveError, refMax * 2 ** -23);
  return {
    output,
    maxError,
    naiveError,
    tolerance,
    ok: maxError <= tolerance,
    worstIndex: index,
    kernelValue: index >= 0 ? kernel[index] : NaN,
    referenceValue: index >= 0 ? ref64[index] : NaN,
  };
}

export function formatComparison(c: Comparison): string {
  return `${c.output}: max|kernel−ref64| ${c.maxError.toExponential(3)} vs tolerance ${c.tolerance.toExponential(3)} ` +
    `(2× naive32 ${c.naiveError.toExponential(3)})` +
    (c.ok ? '' : ` FAIL at flat index ${c.worstIndex}: kernel ${c.kernelValue}, ref64 ${c.referenceValue}`);
}

/**
 * The LSE implied by a kernel's row statistics [rows, 2] = (m, l): m + log l, −∞ where l = 0 (a fully
 * masked softmax row); sigmoid's (0, 1) gives 0, the contract's LSE for sigmoid.
 */
export function lseFromStats(stats: ArrayLike<number>): Float64Array {
  const lse = new Float64Array(stats.length / 2);
  for (let r = 0; r < lse.length; r++) lse[r] = stats[2 * r + 1] === 0 ? -Infinity : stats[2 * r] + Math.log(stats[2 * r + 1]);
  return lse;
}

export interface AttentionExpectation {
  ref: Record<AttentionOutputName, Float64Array>;
  naive: Record<AttentionOutputName, Float32Array>;
}

const expectations = new WeakMap<AttentionCase, AttentionExpectation>();

/** ref64 and naive32 outputs (forward and gradients for the case's dO), computed once per case. */
export function expectedAttention(c: AttentionCase): AttentionExpectation {
  let e = expectations.get(c);
  if (e === undefined) {
    const r = c.resolved;
    const ref = { ...referenceAttentionForward(r, c.q, c.k, c.v), ...referenceAttentionBackward(r, c.q, c.k, c.v, c.dO) };
    const naive = { ...naiveAttentionF32Forward(r, c.q, c.k, c.v), ...naiveAttentionF32Backward(r, c.q, c.k, c.v, c.dO) };
    e = { ref, naive };
    expectations.set(c, e);
  }
  return e;
}

/**
 * Check any subset of a kernel's outputs for a case. Returns every comparison and a message listing
 * the case and the failures ('' when all pass) — ready for `expect(message).toBe('')`.
 */
export function checkAttentionCase(
  c: AttentionCase, outputs: Partial<Record<AttentionOutputName, ArrayLike<number>>>,
): { comparisons: Comparison[]; message: string } {
  const { ref, naive } = expectedAttention(c);
  const comparisons: Comparison[] = [];
  for (const name of ['o', 'lse', 'dq', 'dk', 'dv'] as const) {
    const got = outputs[name];
    if (got === undefined) continue;
    // Sigmoid has no LSE; the contract fills it with zeros, which ref and naive also hold.
    comparisons.push(compareToReference(name, got, ref[name], naive[name]));
  }
  const failed = comparisons.filter((c) => !c.ok);
  const message = failed.length === 0 ? '' : `${c.label}\n  ${failed.map(formatComparison).join('\n  ')}`;
  return { comparisons, message };
}
