/**
 * `nx run kernel-core:bench-cuda`: FlashAttention sweep of our CUDA kernels, forward and backward (bf16, batch·N = 16k,
 * hidden 2048 → D 64 × 32 heads or D 128 × 16 heads, N 512…16k, causal and not), CUDA events around
 * each pass, median of --reps after --warmup. TFLOP/s by the standard count (4·B·H·N²·D, backward
 * 2.5×, causal halves). The output O stands in for dO in the backward pass (random, never zeros). Writes <out>/cuda_bench.csv and <out>/cuda_bench.md, which also holds <out>/sdpa_bench.csv
 * (tools/sdpa_bench.py, run first in the same call on the same card) side by side.
 *   tsx packages/kernel-core/bench/cuda-bench.ts [--out DIR] [--reps 30] [--warmup 5] [--report-only]
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { attentionFlops } from '../src/spec.js';
import { cudaDriver } from '../src/cuda/driver.js';
import { CudaFlashAttention } from '../src/cuda/flash.js';
import { f32ToBf16Bits } from '../src/cuda/half.js';
import { DeviceTensor } from '../src/cuda/tensor.js';
import { writeReport } from './cuda-report.js';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'bench-results/cuda' },
    reps: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    'report-only': { type: 'boolean', default: false },
  },
});
if (args['report-only']) {
  console.log(writeReport(args.out!, 'bf16, batch·N = 16k, hidden 2048; median of 30 after 5 warm-up'));
  process.exit(0);
}
const reps = Number(args.reps), warmup = Number(args.warmup);
if (!(reps >= 20)) throw new Error(`--reps must be ≥ 20 (median of at least 20 timed runs), got ${args.reps}`);

const driver = cudaDriver();
const card = driver.info.name;
const flash = new CudaFlashAttention(driver);
const TOTAL = 16384 * 2048; // batch·N·hidden: the same element count for every sweep point

// 1M random bf16 values tiled over the buffer: realistic values without generating 100M in JS.
const block = new Uint16Array(1 << 20);
let seed = 12345;
for (let i = 0; i < block.length; i++) {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  block[i] = f32ToBf16Bits((seed / 2 ** 32 - 0.5) * 3.4);
}
const bits = new Uint16Array(TOTAL);
for (let off = 0; off < TOTAL; off += block.length) bits.set(block.subarray(0, Math.min(block.length, TOTAL - off)), off);
const [qBuf, kBuf, vBuf] = [0, 1, 2].map(() => DeviceTensor.fromBits(driver, bits, [TOTAL], 'bf16'));
const oBuf = DeviceTensor.empty(driver, 'bf16', [TOTAL]);
const [dqBuf, dkBuf, dvBuf] = [0, 1, 2].map(() => DeviceTensor.empty(driver, 'bf16', [TOTAL]));
const [ev0, ev1] = [driver.createEvent(), driver.createEvent()];

interface Row { card: string; impl: string; pass_: string; D: number; causal: boolean; N: number; B: number; H: number; ms: number; tflops: number }
const rows: Row[] = [];
for (const D of [64, 128]) {
  const lseBuf = DeviceTensor.empty(driver, 'f32', [TOTAL / D]); // B·H·N rows for this head dim
  for (const causal of [false, true]) {
    for (const N of [512, 1024, 2048, 4096, 8192, 16384]) {
      const B = 16384 / N, H = 2048 / D;
      const shape = [B, H, N, D];
      const [q, k, v, o] = [qBuf, kBuf, vBuf, oBuf].map((t) => t.view(shape));
      const [dq, dk, dv] = [dqBuf, dkBuf, dvBuf].map((t) => t.view(shape));
      const record = (kind: string, pass: 'fwd' | 'bwd', times: number[]) => {
        times.sort((a, b) => a - b);
        const ms = times[Math.floor(times.length / 2)];
        const tflops = attentionFlops({ B, H, Hkv: H, Nq: N, Nk: N, D }, causal, pass) / ms / 1e9;
        rows.push({ card, impl: `ours-${kind}`, pass_: pass, D, causal, N, B, H, ms: +ms.toFixed(4), tflops: +tflops.toFixed(1) });
        console.log(JSON.stringify(rows[rows.length - 1]));
      };
      const lse = lseBuf.view([B, H, N]);
      for (const kind of ['sigmoid', 'softmax'] as const) {
        const spec = kind === 'sigmoid' ? { kind, causal, bias: { negLogN: N } } : { kind, causal };
        const times: number[] = [];
        for (let it = 0; it < warmup + reps; it++) {
          driver.record(ev0);
          flash.forward(q, k, v, spec, { out: o, lse: kind === 'softmax' ? lse : undefined });
          driver.record(ev1);
          const ms = driver.elapsedMs(ev0, ev1);
          if (it >= warmup) times.push(ms);
        }
        record(kind, 'fwd', times);
        // Backward: the whole pass (zeroing the fp32 accumulators, softmax's D pre-pass, the kernel,
        // the dtype conversions), as PyTorch's backward time includes its own pre/post-processing.
        const bwdTimes: number[] = [];
        for (let it = 0; it < warmup + reps; it++) {
          driver.record(ev0);
          flash.backward(q, k, v, o, spec, { o, lse: kind === 'softmax' ? lse : undefined, dq: dq, dk: dk, dv: dv });
          driver.record(ev1);
          const ms = driver.elapsedMs(ev0, ev1);
          if (it >= warmup) bwdTimes.push(ms);
        }
        record(kind, 'bwd', bwdTimes);
      }
    }
  }
  lseBuf.free();
}

flash.dispose();
mkdirSync(args.out!, { recursive: true });
const csvCols = ['card', 'impl', 'pass_', 'D', 'causal', 'N', 'B', 'H', 'ms', 'tflops'] as const;
writeAtomic(path.join(args.out!, 'cuda_bench.csv'), [csvCols.join(','), ...rows.map((r) => csvCols.map((c) => String(r[c])).join(','))].join('\n') + '\n');

const md = writeReport(args.out!, `bf16, batch·N = 16k, hidden 2048; median of ${reps} after ${warmup} warm-up; ${new Date().toISOString().slice(0, 10)}`);
console.log(`wrote ${md}`);

function writeAtomic(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}
