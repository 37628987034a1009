/// <reference types="@webgpu/types" />
/**
 * Correctness check of the WGSL flash kernels on one WebGPU adapter, shared by the vitest suite
 * (test/webgpu.test.ts, lavapipe in CI) and the GPU-bundle runner (bench/webgpu-check.ts, for GPU
 * hosts without Node tooling). Rule (kernel-notes.md §7): for every output,
 *   max|flash − ref64| ≤ 2 · max(|naive32 CPU − ref64|, |naive WGSL − ref64|)
 * with fresh random inputs and every output buffer poisoned with NaN before the run. The naive WGSL
 * path is a yardstick beside the CPU one because the adapter's exp() differs from Math.exp by a few
 * ulp; it must itself be finite wherever the reference is.
 * Floor: √D float32 ulps of the output's largest reference magnitude — an output whose naive error
 * happens to be 0 would otherwise demand bit-exactness. An output that is 0 everywhere (e.g. dQ
 * of rows that see one key) gets no floor: it must be exactly 0.
 */
import { compareToReference, expectedAttention, formatComparison, lseFromStats, type AttentionOutputName } from '../testing/compare.js';
import type { AttentionCase } from '../testing/random-case.js';
import { poisonedF32, readF32, uploadF32 } from './device.js';
import type { WebGPUAttention } from './host.js';

export type AttentionOutputs = Record<AttentionOutputName, ArrayLike<number>>;

/** Run forward + backward of one case through the flash kernels or the naive WGSL path; read all outputs back. */
export async function runWebGPUCase(host: WebGPUAttention, c: AttentionCase, path: 'flash' | 'naive'): Promise<AttentionOutputs> {
  const d = host.device;
  const r = c.resolved;
  const rows = r.B * r.H * r.Nq;
  const b = {
    q: uploadF32(d, c.q), k: uploadF32(d, c.k), v: uploadF32(d, c.v), dO: uploadF32(d, c.dO),
    o: poisonedF32(d, c.q.length), stats: poisonedF32(d, 2 * rows),
    dq: poisonedF32(d, c.q.length), dk: poisonedF32(d, c.k.length), dv: poisonedF32(d, c.v.length),
  };
  try {
    d.pushErrorScope('validation');
    const enc = d.createCommandEncoder();
    if (path === 'naive') {
      host.naiveForward(enc, r, b);
      host.naiveBackward(enc, r, b);
    } else {
      host.forward(enc, r, b);
      host.backward(enc, r, b);
    }
    d.queue.submit([enc.finish()]);
    const err = await d.popErrorScope();
    if (err !== null) throw new Error(`WebGPU validation error for ${c.label}: ${err.message}`);
    return {
      o: await readF32(d, b.o, c.q.length), lse: lseFromStats(await readF32(d, b.stats, 2 * rows)),
      dq: await readF32(d, b.dq, c.q.length), dk: await readF32(d, b.dk, c.k.length), dv: await readF32(d, b.dv, c.v.length),
    };
  } finally {
    for (const buf of Object.values(b)) buf.destroy();
  }
}

export interface WebGPUCheck {
  ok: boolean;
  /** Per output: max|flash − ref64| / max(naive errors, floor) — the rule is ≤ 2. */
  ratios: Partial<Record<AttentionOutputName, number>>;
  /** '' when every output passes, else the case label and the failures. */
  message: string;
}

/** Check `got` (any subset of the outputs) against the float64 reference and the naive yardsticks. */
export function checkWebGPUCase(c: AttentionCase, got: Partial<AttentionOutputs>, naiveGpu: AttentionOutputs | null): WebGPUCheck {
  const { ref, naive } = expectedAttention(c);
  const failures: string[] = [];
  const ratios: WebGPUCheck['ratios'] = {};
  for (const name of ['o', 'lse', 'dq', 'dk', 'dv'] as const) {
    const g = got[name];
    if (g === undefined) continue;
    let refMax = 0;
    for (const x of ref[name]) if (Number.isFinite(x)) refMax = Math.max(refMax, Math.abs(x));
    const floor = refMax * Math.sqrt(c.resolved.D) * 2 ** -23;
    const cmps = [naive[name], ...(naiveGpu === null ? [] : [naiveGpu[name]])].map((n) => compareToReference(name, g, ref[name], n));
    const naiveError = Math.max(...cmps.map((x) => x.naiveError));
    const allowed = Math.max(naiveError, floor);
    ratios[name] = cmps[0].maxError === 0 ? 0 : cmps[0].maxError / allowed;
    if (!(cmps[0].maxError <= 2 * allowed)) {
      failures.push(`${formatComparison(cmps[0])}; yardstick max(naive CPU, naive WGSL, floor) = ${allowed.toExponential(3)}`);
    }
    if (cmps.some((x) => !Number.isFinite(x.naiveError))) failures.push(`${name}: naive yardstick is not finite`);
  }
  return { ok: failures.length === 0, ratios, message: failures.length === 0 ? '' : `${c.label}\n  ${failures.join('\n  ')}` };
}
