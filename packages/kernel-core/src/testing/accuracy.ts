/**
 * The accuracy rule of the project, one implementation for every kernel and back end (the TypeScript
 * kernels, WGSL, CUDA; the package README states it): for each output O, LSE, dQ, dK, dV,
 *
 *   max|kernel − ref64| ≤ 2 · max(naiveError, u · max|ref64|)
 *
 * where ref64 is the float64 reference, naiveError the largest max|naive − ref64| over the naive
 * same-precision implementations given (the unfused computation in the kernel's own dtype: the CPU
 * naive f32 always, plus a device's own naive path where it has one, since a GPU's exp() differs from
 * Math.exp by a few ulp), and u the unit roundoff of the output dtype (2⁻²⁴ for f32). The floor
 * u·max|ref64| is the error of rounding the exact result into the output dtype; without it an output
 * whose naive error happens to be 0 (e.g. 0 everywhere under a full padding mask) would demand
 * bit-exactness. An infinite reference value (an empty row's LSE) must match exactly.
 */
import { referenceAttentionBackward, referenceAttentionForward } from '../reference/attention-ref64.js';
import { naiveAttentionF32Backward, naiveAttentionF32Forward } from '../reference/attention-naive-f32.js';
import type { AttentionCase } from './random-case.js';

export type AttentionOutputName = 'o' | 'lse' | 'dq' | 'dk' | 'dv';
export const ATTENTION_OUTPUTS: readonly AttentionOutputName[] = ['o', 'lse', 'dq', 'dk', 'dv'];

/** The dtypes kernels write. */
export type OutputDtype = 'f32' | 'bf16' | 'fp16';
/** Unit roundoff (half an ulp at 1) of each output dtype: the floor of the rule is u·max|ref64|. */
export const UNIT_ROUNDOFF: Record<OutputDtype, number> = { f32: 2 ** -24, bf16: 2 ** -8, fp16: 2 ** -11 };

export interface Comparison {
  output: string;
  /** max|kernel − ref64| (NaN or Infinity when the kernel wrote a non-finite value where it should not). */
  maxError: number;
  /** The largest max|naive − ref64| over the naive implementations. */
  naiveError: number;
  /** u·max|ref64|. */
  floor: number;
  /** 2·max(naiveError, floor). */
  tolerance: number;
  /** maxError / max(naiveError, floor): the rule is ratio ≤ 2 (0 when the kernel is exact). */
  ratio: number;
  ok: boolean;
  /** Flat index of the worst element (−1 when all match exactly). */
  worstIndex: number;
  kernelValue: number;
  referenceValue: number;
  /** Why the comparison failed beyond the error bound, e.g. a naive yardstick that is not finite. */
  problem: string;
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

/** Compare one output of a kernel under the rule (`naive`: one yardstick or several). */
export function compareToReference(
  output: string, kernel: ArrayLike<number>, ref64: ArrayLike<number>,
  naive: ArrayLike<number> | readonly ArrayLike<number>[], dtype: OutputDtype = 'f32',
): Comparison {
  const yardsticks = isList(naive) ? naive : [naive];
  if (yardsticks.length === 0) throw new Error(`compareToReference(${output}): no naive implementation to compare with`);
  for (const x of [kernel, ...yardsticks]) {
    if (x.length !== ref64.length) {
      throw new Error(`compareToReference(${output}): lengths differ: ref64 ${ref64.length}, kernel ${kernel.length}, naive ${yardsticks.map((y) => y.length).join('/')}`);
    }
  }
  const { error: maxError, index } = maxAbsError(kernel, ref64);
  const naiveError = Math.max(...yardsticks.map((y) => maxAbsError(y, ref64).error));
  let refMax = 0;
  for (let i = 0; i < ref64.length; i++) if (Number.isFinite(ref64[i])) refMax = Math.max(refMax, Math.abs(ref64[i]));
  const floor = UNIT_ROUNDOFF[dtype] * refMax;
  const allowed = Math.max(naiveError, floor);
  const problem = Number.isFinite(naiveError) ? '' : 'a naive yardstick is not finite where the reference is';
  const ok = problem === '' && maxError <= 2 * allowed;
  return {
    output,
    maxError,
    naiveError,
    floor,
    tolerance: 2 * allowed,
    ratio: maxError === 0 ? 0 : maxError / allowed,
    ok,
    worstIndex: index,
    kernelValue: index >= 0 ? kernel[index] : NaN,
    referenceValue: index >= 0 ? ref64[index] : NaN,
    problem,
  };
}

function isList(x: ArrayLike<number> | readonly ArrayLike<number>[]): x is readonly ArrayLike<number>[] {
  return x.length > 0 && typeof (x as ArrayLike<unknown>)[0] === 'object';
}

export function formatComparison(c: Comparison): string {
  return `${c.output}: max|kernel−ref64| ${c.maxError.toExponential(3)} vs tolerance ${c.tolerance.toExponential(3)} ` +
    `(2 × max(naive ${c.naiveError.toExponential(3)}, floor ${c.floor.toExponential(3)}))` +
    (c.ok ? '' : ` FAIL${c.problem === '' ? '' : ` (${c.problem})`} at flat index ${c.worstIndex}: kernel ${c.kernelValue}, ref64 ${c.referenceValue}`);
}

/**
 * The LSE implied by a kernel's row statistics [rows, 2] = (m, l): m + log l, −∞ where l = 0 (a fully
 * masked softmax row); the element-wise kinds' (0, 1) gives 0, their LSE in the contract.
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

/** ref64 and naive f32 outputs (forward and gradients for the case's dO), computed once per case. */
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

export interface CaseCheck {
  ok: boolean;
  comparisons: Comparison[];
  /** Per output checked: the comparison's ratio (the rule is ≤ 2). */
  ratios: Partial<Record<AttentionOutputName, number>>;
  /** '' when every output passes, else the case label and the failures — ready for `expect(message).toBe('')`. */
  message: string;
}

/**
 * Check any subset of a kernel's f32 outputs for a case against the float64 reference. The CPU naive
 * f32 path is always a yardstick; `deviceNaive` adds a device's own naive outputs (e.g. the naive WGSL
 * path on the same adapter).
 */
export function checkAttentionCase(
  c: AttentionCase, outputs: Partial<Record<AttentionOutputName, ArrayLike<number>>>,
  deviceNaive: Partial<Record<AttentionOutputName, ArrayLike<number>>> | null = null,
): CaseCheck {
  const { ref, naive } = expectedAttention(c);
  const comparisons: Comparison[] = [];
  const ratios: CaseCheck['ratios'] = {};
  for (const name of ATTENTION_OUTPUTS) {
    const got = outputs[name];
    if (got === undefined) continue;
    const device = deviceNaive?.[name];
    const cmp = compareToReference(name, got, ref[name], device === undefined ? [naive[name]] : [naive[name], device]);
    comparisons.push(cmp);
    ratios[name] = cmp.ratio;
  }
  const failed = comparisons.filter((x) => !x.ok);
  const message = failed.length === 0 ? '' : `${c.label}\n  ${failed.map(formatComparison).join('\n  ')}`;
  return { ok: failed.length === 0, comparisons, ratios, message };
}
