/// <reference types="@webgpu/types" />
/**
 * Runs one test case through the WGSL flash kernels or the naive WGSL path on one WebGPU adapter, every
 * output buffer poisoned with NaN first, and reads the outputs back. Shared by the vitest suite
 * (test/webgpu.test.ts, lavapipe in CI) and the GPU-bundle runner (bench/webgpu-check.ts); both judge
 * the outputs with checkAttentionCase (src/testing/accuracy.ts), the naive WGSL outputs as the
 * device's own yardstick beside the CPU naive f32 path.
 */
import { lseFromStats, type AttentionOutputName } from '../testing/accuracy.js';
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
