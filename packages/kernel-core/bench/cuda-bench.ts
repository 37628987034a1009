/**
 * `nx run kernel-core:bench-cuda`: FlashAttention sweep of our CUDA kernels, forward and backward (bf16, batch·N = 16k,
 * hidden 2048 → D 64 × 32 heads or D 128 × 16 heads, N 512…16k; and the small models' D 32 × 32 heads
 * (hidden 1024), N 256…4096; causal and not), CUDA events around each pass, median of --reps after --warmup. TFLOP/s by the standard count (4·B·H·N²·D, backward
 * 2.5×, causal halves). The output O stands in for dO in the backward pass (random, never zeros).
 * On a Hopper GPU the sm_90a forward and backward kernels are timed too (impl ours-hopper-<kind>; ours-<kind> is
 * the FA2-class kernels; SIGATTN_CUDA_HOPPER=0 leaves them out).
 * Writes <out>/cuda_bench.csv and <out>/cuda_bench.md, which also holds <out>/sdpa_bench.csv
 * (tools/sdpa_bench.py, run first in the same call on the same card) side by side.
 * Decode rows (unless --no-decode; --decode-only skips the sweep above): one query per head, B·H = 8·32 = 256,
 * against a KV cache of 1k…32k keys, MHA and GQA (8 K/V heads), the split-K decode kernel (beside the forward
 * kernel at Nq = 1 for MHA); GB/s of K+V read (each cache byte once: decode is bound by HBM bandwidth) →
 * <out>/cuda_decode.csv and <out>/cuda_decode.md.
 *   tsx packages/kernel-core/bench/cuda-bench.ts [--out DIR] [--reps 30] [--warmup 5] [--head-dims 32 64 128] [--report-only]
 *     [--no-decode | --decode-only] [--passes fwd bwd] [--families fa2 hopper]
 *   (--help lists the options)
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, cli, markdownTable, median, runMain, writeCsv, writeFileAtomic } from '@sigattn/common';
import { attentionFlops } from '../src/spec.js';
import { cudaDriver } from '../src/cuda/driver.js';
import { CUDA_HEAD_DIMS, CUDA_KINDS, CudaFlashAttention } from '../src/cuda/flash.js';
import { f32ToBf16Bits } from '../src/cuda/half.js';
import { DeviceTensor } from '../src/cuda/tensor.js';
import { benchSetting, updateReportBlocks, writeReport } from './cuda-report.js';

runMain(async () => {
  const args = await cli('bench-cuda')
    .usage('$0 [options]: FlashAttention-convention sweep of the CUDA kernels (bf16), forward and backward')
    .option('out', { type: 'string', default: 'bench-results/cuda', describe: 'directory for cuda_bench.csv and cuda_bench.md (sdpa_bench.csv is read from it)' })
    .option('reps', { type: 'number', default: 30, describe: 'timed runs per row (median reported), ≥ 20' })
    .option('warmup', { type: 'number', default: 5, describe: 'untimed runs before the timed ones' })
    .option('head-dims', { type: 'number', array: true, default: [...CUDA_HEAD_DIMS], describe: `head dims to sweep (of ${CUDA_HEAD_DIMS.join(', ')})` })
    .option('report-only', { type: 'boolean', default: false, describe: 'only rebuild cuda_bench.md from the CSVs in --out' })
    .option('update-doc', { type: 'boolean', default: false, describe: "only regenerate BENCHMARKS.md's cuda-report blocks from the committed CSVs they name" })
    .option('decode', { type: 'boolean', default: true, describe: 'also time the decode kernel (Nq = 1 against a KV cache; --no-decode skips it)' })
    .option('decode-only', { type: 'boolean', default: false, describe: 'time only the decode rows (no prefill sweep, no cuda_bench.md)' })
    .option('passes', { type: 'string', array: true, choices: ['fwd', 'bwd'], default: ['fwd', 'bwd'], describe: 'passes to time (a quick kernel A/B can skip one)' })
    .option('families', { type: 'string', array: true, choices: ['fa2', 'hopper'], default: ['fa2', 'hopper'], describe: 'kernel families to time (ours-<kind> rows are fa2, ours-hopper-<kind> rows hopper)' })
    .check((a) => !(a['decode-only'] && !a.decode) || '--decode-only and --no-decode leave nothing to time; pick one')
    .check((a) => (Number.isInteger(a.reps) && a.reps >= 20) || `--reps must be an integer ≥ 20 (median of at least 20 timed runs), got ${a.reps}`)
    .check((a) => (Number.isInteger(a.warmup) && a.warmup >= 0) || `--warmup must be an integer ≥ 0, got ${a.warmup}`)
    .check((a) => {
      const bad = a['head-dims'].filter((d) => !(CUDA_HEAD_DIMS as readonly number[]).includes(d));
      return bad.length === 0 || `--head-dims: no kernel for ${bad.join(', ')}; pick from ${CUDA_HEAD_DIMS.join(', ')}`;
    })
    .parse();
  const { reps, warmup } = args;
  const setting = benchSetting(reps, warmup);
  if (args['update-doc']) {
    const doc = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));
    console.log(`${doc}: ${updateReportBlocks(doc) ? 'updated' : 'already up to date'}`);
    return;
  }
  if (args['report-only']) {
    console.log(writeReport(args.out, setting));
    return;
  }

  const driver = cudaDriver();
  const card = driver.info.name;
  // ours-<kind>: the FA2-class kernels (every device); ours-hopper-<kind>: the sm_90a wgmma forward
  // kernels, timed in the same run where the device is 9.x and SIGATTN_CUDA_HOPPER is not 0.
  const flash = new CudaFlashAttention(driver, undefined, { hopper: false });
  const hopper = new CudaFlashAttention(driver);
  // Per head dim: the model width and the sequence lengths. D 64/128 is the FlashAttention papers' sweep;
  // D 32 is this repo's small models (the ViT and the tiny paper configs), hence hidden 1024 and N ≤ 4096.
  const sweeps: Record<number, { hidden: number; Ns: number[] }> = {
    32: { hidden: 1024, Ns: [256, 512, 1024, 2048, 4096] },
    64: { hidden: 2048, Ns: [512, 1024, 2048, 4096, 8192, 16384] },
    128: { hidden: 2048, Ns: [512, 1024, 2048, 4096, 8192, 16384] },
  };
  const headDims = [...new Set(args['head-dims'])];
  const TOKENS = 16384; // batch·N, the same for every sweep point of a head dim
  // Kinds whose Hopper forward runs at head dim D (none for D 32: FA2-class only).
  const hopperKinds = (D: number) => CUDA_KINDS.filter((k) => hopper.forwardImpl(k, D) === 'hopper');
  const hopperNote = headDims.map((D) => `D ${D}: ${hopperKinds(D).join(', ') || 'none'}`).join('; ');
  console.log(`Hopper forward kernels: ${hopperNote} (none anywhere: not a 9.x device, not built, or SIGATTN_CUDA_HOPPER=0)`);
  // 1M random bf16 values tiled over the buffers: realistic values without generating 100M in JS.
  const block = Uint16Array.from(new Rng(12345).normalF32(1 << 20), f32ToBf16Bits);
  const [ev0, ev1] = [driver.createEvent(), driver.createEvent()];

  /**
   * Median ms of `run` between two CUDA events (GPU time; common's timeIt measures host time, which
   * for asynchronous launches would only be the launch).
   */
  const gpuMedianMs = (run: () => void): number => {
    const times: number[] = [];
    for (let it = 0; it < warmup + reps; it++) {
      driver.record(ev0);
      run();
      driver.record(ev1);
      const ms = driver.elapsedMs(ev0, ev1);
      if (it >= warmup) times.push(ms);
    }
    return median(times);
  };

  type Row = { card: string; impl: string; pass_: string; D: number; causal: boolean; N: number; B: number; H: number; ms: number; tflops: number };
  const rows: Row[] = [];
  for (const D of args['decode-only'] ? [] : headDims) {
    const { hidden, Ns } = sweeps[D];
    const hopperHere = hopperKinds(D);
    const total = TOKENS * hidden; // batch·N·hidden: the same element count for every N of this head dim
    const bits = new Uint16Array(total);
    for (let off = 0; off < total; off += block.length) bits.set(block.subarray(0, Math.min(block.length, total - off)), off);
    const [qBuf, kBuf, vBuf] = [0, 1, 2].map(() => DeviceTensor.fromBits(driver, bits, [total], 'bf16'));
    const [oBuf, dqBuf, dkBuf, dvBuf] = [0, 1, 2, 3].map(() => DeviceTensor.empty(driver, 'bf16', [total]));
    const lseBuf = DeviceTensor.empty(driver, 'f32', [total / D]); // B·H·N rows
    for (const causal of [false, true]) {
      for (const N of Ns) {
        const B = TOKENS / N, H = hidden / D;
        const shape = [B, H, N, D];
        const [q, k, v, o] = [qBuf, kBuf, vBuf, oBuf].map((t) => t.view(shape));
        const [dq, dk, dv] = [dqBuf, dkBuf, dvBuf].map((t) => t.view(shape));
        const record = (impl: string, pass: 'fwd' | 'bwd', ms: number) => {
          const tflops = attentionFlops({ B, H, Hkv: H, Nq: N, Nk: N, D }, causal, pass) / ms / 1e9;
          rows.push({ card, impl, pass_: pass, D, causal, N, B, H, ms: +ms.toFixed(4), tflops: +tflops.toFixed(1) });
          console.log(JSON.stringify(rows[rows.length - 1]));
        };
        const lse = lseBuf.view([B, H, N]);
        const fwd = args.passes.includes('fwd'), bwd = args.passes.includes('bwd');
        const fa2 = args.families.includes('fa2'), hop = args.families.includes('hopper');
        for (const kind of CUDA_KINDS) {
          const spec = kind === 'sigmoid' ? { kind, causal, bias: { negLogN: N } } : { kind, causal };
          if (fwd && fa2) record(`ours-${kind}`, 'fwd', gpuMedianMs(() => flash.forward(q, k, v, spec, { out: o, lse: kind === 'softmax' ? lse : undefined })));
          if (fwd && hop && hopperHere.includes(kind)) {
            record(`ours-hopper-${kind}`, 'fwd', gpuMedianMs(() => hopper.forward(q, k, v, spec, { out: o, lse: kind === 'softmax' ? lse : undefined })));
          }
          // Backward: the whole pass (zeroing the fp32 accumulators, softmax's D pre-pass, the kernel,
          // the dtype conversions), as PyTorch's backward time includes its own pre/post-processing.
          if (bwd && fa2) record(`ours-${kind}`, 'bwd', gpuMedianMs(() => flash.backward(q, k, v, o, spec, { o, lse: kind === 'softmax' ? lse : undefined, dq, dk, dv })));
          if (bwd && hop && hopperHere.includes(kind) && hopper.backwardImpl(kind, D) === 'hopper') {
            record(`ours-hopper-${kind}`, 'bwd', gpuMedianMs(() => hopper.backward(q, k, v, o, spec, { o, lse: kind === 'softmax' ? lse : undefined, dq, dk, dv })));
          }
        }
      }
    }
    for (const t of [qBuf, kBuf, vBuf, oBuf, dqBuf, dkBuf, dvBuf, lseBuf]) t.free();
  }

  if (args.decode) {
    // Decode: one query per head (B·H = 8·32) against a cache of Nk keys, MHA (32 K/V heads) and GQA (8).
    // decode-<kind>: the split-K decode kernel forward() routes Nq = 1 to; fwd-kernel-<kind>: the same
    // call with decode: false (the FA2-class forward kernel, one block per head). GB/s counts the K and
    // V cache once (B·Hkv·Nk·D·2 tensors·2 bytes): the query heads of a GQA group share their K/V rows.
    type DecodeRow = { card: string; impl: string; D: number; B: number; H: number; Hkv: number; Nk: number; ms: number; gbps: number };
    const decodeRows: DecodeRow[] = [];
    const B = 8, H = 32, NKS = [1024, 4096, 16384, 32768];
    for (const D of headDims) {
      const kvMax = B * H * NKS[NKS.length - 1] * D;
      const [kBuf, vBuf] = [0, 1].map(() => {
        const t = DeviceTensor.empty(driver, 'bf16', [kvMax]);
        for (let off = 0; off < kvMax; off += block.length) driver.copyHtoD(t.ptr + BigInt(off * 2), block, Math.min(block.length, kvMax - off) * 2);
        return t;
      });
      const q = DeviceTensor.fromBits(driver, block.subarray(0, B * H * D), [B, H, 1, D], 'bf16');
      const o = DeviceTensor.empty(driver, 'bf16', [B, H, 1, D]);
      const lse = DeviceTensor.empty(driver, 'f32', [B, H, 1]);
      for (const Hkv of [H, H / 4]) {
        for (const Nk of NKS) {
          const [k, v] = [kBuf, vBuf].map((t) => DeviceTensor.wrap(driver, t.ptr, 'bf16', [B, Hkv, Nk, D]));
          const gb = (B * Hkv * Nk * D * 2 * 2) / 1e9;
          for (const kind of CUDA_KINDS) {
            const spec = kind === 'sigmoid' ? { kind, causal: true, bias: { negLogN: Nk } } : { kind, causal: true };
            const lseOpt = kind === 'softmax' ? lse : undefined;
            // The forward-kernel baseline only for MHA (it is the slow one; GQA adds nothing to that comparison).
            const impls = Hkv === H ? ([[`decode-${kind}`, true], [`fwd-kernel-${kind}`, false]] as const) : ([[`decode-${kind}`, true]] as const);
            for (const [impl, decode] of impls) {
              const ms = gpuMedianMs(() => flash.forward(q, k, v, spec, { out: o, lse: lseOpt, decode }));
              decodeRows.push({ card, impl, D, B, H, Hkv, Nk, ms: +ms.toFixed(4), gbps: +(gb / (ms / 1e3)).toFixed(0) });
              console.log(JSON.stringify(decodeRows[decodeRows.length - 1]));
            }
          }
        }
      }
      for (const t of [kBuf, vBuf, q, o, lse]) t.free();
    }
    writeCsv(path.join(args.out, 'cuda_decode.csv'), decodeRows, ['card', 'impl', 'D', 'B', 'H', 'Hkv', 'Nk', 'ms', 'gbps']);
    const md = [`Decode (one query per head, B = ${B}, H = ${H}, bf16, causal) on ${card}: GB/s of K+V read (the H200's HBM3e peak is ≈ 4800 GB/s), median of ${reps} after ${warmup} warm-up; ${new Date().toISOString().slice(0, 10)}`, ''];
    for (const D of headDims) {
      for (const Hkv of [H, H / 4]) {
        const impls = [...new Set(decodeRows.map((r) => r.impl))];
        const cell = (impl: string, Nk: number) => decodeRows.find((r) => r.impl === impl && r.D === D && r.Hkv === Hkv && r.Nk === Nk);
        const table = impls.map((impl) => [impl, ...NKS.map((Nk) => { const r = cell(impl, Nk); return r ? `${r.gbps} (${r.ms} ms)` : '—'; })]);
        md.push(`**D = ${D}, ${Hkv === H ? 'MHA' : `GQA ${H / Hkv}`} (Hkv = ${Hkv})**`, '', markdownTable(['impl', ...NKS.map((n) => `Nk=${n}`)], table, ['l', ...NKS.map(() => 'r' as const)]), '');
      }
    }
    writeFileAtomic(path.join(args.out, 'cuda_decode.md'), md.join('\n'));
    console.log(`wrote ${path.join(args.out, 'cuda_decode.md')}`);
  }

  flash.dispose();
  hopper.dispose();
  if (args['decode-only']) return;
  writeCsv(path.join(args.out, 'cuda_bench.csv'), rows, ['card', 'impl', 'pass_', 'D', 'causal', 'N', 'B', 'H', 'ms', 'tflops']);
  if (args.passes.length < 2 || args.families.length < 2) {
    console.log(`wrote ${path.join(args.out, 'cuda_bench.csv')} (a partial sweep: no cuda_bench.md, whose tables need every pass and family)`);
    return;
  }
  const md = writeReport(args.out, `${setting}; ${new Date().toISOString().slice(0, 10)}`);
  console.log(`wrote ${md}`);
});
