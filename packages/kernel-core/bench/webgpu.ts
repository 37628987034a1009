/**
 * `nx run kernel-core:bench-webgpu`: FlashAttention-convention sweep of the WGSL kernels on the first
 * (high-performance) WebGPU adapter: batch·N = 16k, hidden 1024 and 2048, D 64 and 128, causal and
 * not, N 512…16k (--quick: batch·N = 1k, N 128…512, for CPU adapters). Fenced submits (submit, then
 * await onSubmittedWorkDone) after warm-up, median of --reps. TFLOP/s by the standard count
 * (4·B·H·N²·D, backward 2.5×, causal ½). Rows: FlashSigmoid and FlashSoftmax fwd/bwd, the naive WGSL
 * path (fwd/bwd) and the tfjs composed attention (matMul → softmax/sigmoid → matMul, fwd) on the tfjs
 * webgpu backend. The naive and tfjs rows need a [B,H,N,N] buffer: where that exceeds --max-scores-mb
 * they run with B·H reduced (column bh) — TFLOP/s stays comparable. Points are ordered by N, and a
 * --budget-s deadline skips the rest (listed as not run).
 *   tsx packages/kernel-core/bench/webgpu.ts [--quick] [--out DIR] [--reps 10] [--budget-s 360]
 * Writes <out>/webgpu_bench.csv and <out>/webgpu_bench.md and prints the table.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { attentionFlops, resolveAttention, type AttentionKind, type ResolvedAttention } from '../src/spec.js';
import { initBackend } from '../src/tfjs/backend.js';
import { composedAttention } from '../src/tfjs/composed-attention.js';
import { requestWebGPUDevice, uploadF32 } from '../src/webgpu/device.js';
import { WebGPUAttention } from '../src/webgpu/host.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-results/webgpu' },
    reps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    'budget-s': { type: 'string', default: '360' },
    'max-scores-mb': { type: 'string', default: '1024' },
    'no-tfjs': { type: 'boolean', default: false },
  },
});
const reps = Number(args.reps), warmup = Number(args.warmup);
if (!(reps >= 10)) throw new Error(`--reps must be ≥ 10 (median of at least 10 timed runs), got ${args.reps}`);
const deadline = performance.now() + 1000 * Number(args['budget-s']);
const maxScoreBytes = Number(args['max-scores-mb']) * 2 ** 20;

const { device, adapterName } = await requestWebGPUDevice();
const host = new WebGPUAttention(device);
const total = args.quick ? 1024 : 16384;
const Ns = args.quick ? [128, 256, 512] : [512, 1024, 2048, 4096, 8192, 16384];
const hiddens = args.quick ? [256] : [1024, 2048];
const maxElems = total * Math.max(...hiddens);

// Random values (never zeros), a 1M block tiled over each buffer.
const block = new Float32Array(1 << 20);
let seed = 12345;
for (let i = 0; i < block.length; i++) { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; block[i] = (seed / 2 ** 32 - 0.5) * 3.4; }
const filled = new Float32Array(maxElems);
for (let off = 0; off < maxElems; off += block.length) filled.set(block.subarray(0, Math.min(block.length, maxElems - off)), off);
const [q, k, v, o, dO, dq, dk, dv] = [0, 1, 2, 3, 4, 5, 6, 7].map(() => uploadF32(device, filled));
const lse = uploadF32(device, filled.subarray(0, maxElems / 32));
const bufs = { q, k, v, o, lse, dO, dq, dk, dv };

async function timeGpu(record: (enc: GPUCommandEncoder) => void): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < warmup + reps; i++) {
    const enc = device.createCommandEncoder();
    record(enc);
    const t0 = performance.now();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    if (i >= warmup) times.push(performance.now() - t0);
  }
  return median(times);
}
function median(xs: number[]): number { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; }

interface Row { adapter: string; impl: string; pass_: string; hidden: number; D: number; causal: boolean; N: number; B: number; H: number; bh: number; ms: number; tflops: number; note: string }
const rows: Row[] = [];
const notRun: string[] = [];
let tfReady = false;

function push(impl: string, pass_: 'fwd' | 'bwd', hidden: number, r: ResolvedAttention, bh: number, ms: number, note = ''): void {
  const flops = attentionFlops({ ...r, B: 1, H: bh }, r.causal, pass_);
  const row = { adapter: adapterName, impl, pass_, hidden, D: r.D, causal: r.causal, N: r.Nq, B: r.B, H: r.H, bh, ms, tflops: flops / (ms * 1e-3) / 1e12, note };
  rows.push(row);
  console.log(`${impl.padEnd(14)} ${pass_} hidden ${hidden} D ${r.D} ${r.causal ? 'causal' : 'full  '} N ${String(r.Nq).padStart(5)} bh ${String(bh).padStart(4)}: ${ms.toFixed(3)} ms  ${row.tflops.toFixed(2)} TFLOP/s ${note}`);
}

/** Largest divisor-friendly B·H whose [bh, N, N] f32 scores fit the cap (≥ 1). */
function reducedBh(bh: number, N: number, copies: number): number {
  let n = bh;
  while (n > 1 && copies * 4 * n * N * N > maxScoreBytes) n = Math.ceil(n / 2);
  return n;
}

for (const N of Ns) {
  for (const hidden of hiddens) {
    for (const D of [64, 128]) {
      for (const causal of [false, true]) {
        const label = `hidden ${hidden} D ${D} ${causal ? 'causal' : 'full'} N ${N}`;
        if (performance.now() > deadline) { notRun.push(label); continue; }
        const B = total / N, H = hidden / D;
        const spec = (kind: AttentionKind, b: number, h: number) =>
          resolveAttention([b, h, N, D], [b, h, N, D], [b, h, N, D], { kind, causal, ...(kind === 'sigmoid' ? { bias: { negLogN: N } } : {}) });
        for (const kind of ['sigmoid', 'softmax'] as const) {
          const r = spec(kind, B, H);
          const name = kind === 'sigmoid' ? 'FlashSigmoid' : 'FlashSoftmax';
          push(name, 'fwd', hidden, r, B * H, await timeGpu((enc) => host.forward(enc, r, bufs)));
          push(name, 'bwd', hidden, r, B * H, await timeGpu((enc) => host.backward(enc, r, bufs)));
        }
        // Naive WGSL (sigmoid; forward needs one N×N buffer, backward two).
        const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
        for (const [pass_, copies] of [['fwd', 1], ['bwd', 2]] as const) {
          const bh = reducedBh(B * H, N, copies);
          if (4 * bh * N * N > limit) { notRun.push(`naive ${pass_} ${label}: one [1,1,N,N] score buffer exceeds the ${limit}-byte binding limit`); continue; }
          const r = spec('sigmoid', 1, bh);
          push('naive WGSL', pass_, hidden, r, bh,
            await timeGpu((enc) => (pass_ === 'fwd' ? host.naiveForward(enc, r, bufs) : host.naiveBackward(enc, r, bufs))),
            bh < B * H ? `B·H reduced from ${B * H}` : '');
        }
        if (!args['no-tfjs'] && !causal) {
          const bh = reducedBh(B * H, N, 3);
          if (!tfReady) { await initBackend('webgpu'); tfReady = true; }
          const r = spec('sigmoid', 1, bh);
          const t = [0, 1, 2].map(() => tf.tensor4d(filled.subarray(0, bh * N * D), [1, bh, N, D]));
          const be = tf.backend() as unknown as { device: GPUDevice; ensureCommandEncoderReady(): void; endComputePassEncoder(): void; submitQueue(): void };
          const times: number[] = [];
          for (let i = 0; i < warmup + reps; i++) {
            const t0 = performance.now();
            const out = composedAttention(t[0] as tf.Tensor4D, t[1] as tf.Tensor4D, t[2] as tf.Tensor4D, { kind: 'sigmoid', bias: r.bias, causal: false });
            be.ensureCommandEncoderReady(); be.endComputePassEncoder(); be.submitQueue();
            await be.device.queue.onSubmittedWorkDone();
            if (i >= warmup) times.push(performance.now() - t0);
            out.dispose();
          }
          tf.dispose(t);
          push('tfjs composed', 'fwd', hidden, r, bh, median(times), bh < B * H ? `B·H reduced from ${B * H}` : '');
        }
      }
    }
  }
}

// Report: CSV + markdown (temp file, then rename).
const outDir = args.out!;
mkdirSync(outDir, { recursive: true });
const cols = ['adapter', 'impl', 'pass_', 'hidden', 'D', 'causal', 'N', 'B', 'H', 'bh', 'ms', 'tflops', 'note'] as const;
const csv = [cols.join(','), ...rows.map((r) => cols.map((c) => JSON.stringify(r[c])).join(','))].join('\n') + '\n';
const md: string[] = [
  `WebGPU attention sweep — adapter: ${adapterName}; ${new Date().toISOString()}; f32; fenced submits, median of ${reps} after ${warmup} warm-up.`,
  '', '| impl | pass | hidden | D | mask | N | B·H | ms | TFLOP/s | note |', '|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.impl} | ${r.pass_} | ${r.hidden} | ${r.D} | ${r.causal ? 'causal' : 'full'} | ${r.N} | ${r.bh} | ${r.ms.toFixed(3)} | ${r.tflops.toFixed(2)} | ${r.note} |`),
  '', notRun.length === 0 ? 'All points ran.' : `Not run:\n${notRun.map((s) => `- ${s}`).join('\n')}`,
];
for (const [file, text] of [['webgpu_bench.csv', csv], ['webgpu_bench.md', md.join('\n') + '\n']] as const) {
  const dest = path.join(outDir, file);
  writeFileSync(`${dest}.tmp`, text);
  renameSync(`${dest}.tmp`, dest);
}
console.log(md.join('\n'));
process.exit(0);
