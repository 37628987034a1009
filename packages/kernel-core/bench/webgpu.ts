/**
 * `nx run kernel-core:bench-webgpu`: FlashAttention-convention sweep of the WGSL kernels on the first
 * (high-performance) WebGPU adapter: batch·N = 16k, hidden 1024 and 2048, D 64 and 128, causal and
 * not, N 512…16k (--quick: batch·N = 1k, hidden 256, N 128…512, for CPU adapters). B = batch·N / N,
 * H = hidden / D. Each timed run records the dispatches, submits them and awaits onSubmittedWorkDone
 * (fenced); median of --reps after --warmup (common's timeIt). TFLOP/s by the standard count
 * (attentionFlops: 4·B·H·N²·D, backward 2.5×, causal ½).
 *
 * Row families (--rows):
 *   flash  FlashSigmoid / FlashSoftmax fwd and bwd (the WGSL flash kernels, no N×N buffer).
 *   naive  the naive WGSL path (fwd and bwd through [B·H, N, N] score buffers), per kind.
 *   tfjs   tfjs composed attention (matMul → sigmoid/softmax → matMul, tfjs' own gradients) on the
 *          tfjs webgpu backend, per kind, unmasked points only (composedAttention builds its causal
 *          mask on the CPU on every call, which would be timed). Its "bwd" row is DERIVED: the median
 *          of tf.grads (forward with the tape + backward, dy = dO) minus the median composed forward,
 *          both timed in the same point at the same B·H; the measured fwd+bwd is in the row's note.
 * The naive and tfjs rows need [B·H, N, N] buffers: where those exceed --max-scores-mb they run with
 * B·H reduced (column "B·H run") — TFLOP/s stays comparable. Ratio columns compare TFLOP/s measured in
 * the same run and point: FlashSigmoid ÷ FlashSoftmax, and flash ÷ tfjs composed (same kind and pass).
 * Points are ordered by N; a --budget-s deadline skips the rest, which stay in the table as "not run".
 *
 *   tsx packages/kernel-core/bench/webgpu.ts [--quick] [--out DIR] [--reps 10] [--warmup 2]
 *     [--budget-s 360] [--max-scores-mb 1024] [--n 4096,16384] [--hidden 1024,2048] [--d 64,128]
 *     [--causal false|true|both] [--kinds sigmoid,softmax] [--rows flash,naive,tfjs] [--no-tfjs]
 *     [--tiles fwd-sigmoid/D64=8x8,bwd-dq-softmax/D128=4x4]          (--help lists the options)
 * Filters default to the sweep above (--causal both, every WGSL kind and row family); --no-tfjs drops
 * tfjs from --rows. --tiles is parsed by parseTileOverrides (host.ts) and handed to WebGPUAttention;
 * the table header lists the tile plan every timed flash kernel used.
 * Writes <out>/webgpu_bench.csv and <out>/webgpu_bench.md and prints the table.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Rng, cli, markdownTable, runMain, timeIt, writeCsv, writeFileAtomic, type Row as CsvRow } from '@sigattn/common';
import { attentionFlops, resolveAttention, type AttentionSpec, type ResolvedAttention } from '../src/spec.js';
import { initBackend } from '../src/tfjs/backend.js';
import { composedAttention } from '../src/tfjs/composed-attention.js';
import { HEAD_DIMS } from '../src/webgpu/common.wgsl.js';
import { requestWebGPUDevice, uploadF32 } from '../src/webgpu/device.js';
import {
  WEBGPU_KINDS, WebGPUAttention, parseTileOverrides, type FlashKernelName, type TileOverrides, type WebGPUKind,
} from '../src/webgpu/host.js';
import { badOption, commaList, parseList, positiveInt } from './options.js';

const ROW_FAMILIES = ['flash', 'naive', 'tfjs'] as const;
type RowFamily = (typeof ROW_FAMILIES)[number];
type AttentionKind = WebGPUKind;

runMain(async () => {
  // ─── Options: all validated before the adapter is touched, so a typo fails in milliseconds. ───

  const args = await cli('bench-webgpu')
    .usage('$0 [options]: FlashAttention-convention sweep of the WGSL kernels, the naive WGSL path and tfjs composed attention')
    .option('quick', { type: 'boolean', default: false, describe: 'small sweep for CPU adapters: batch·N = 1k, hidden 256, N 128…512' })
    .option('out', { type: 'string', default: 'bench-results/webgpu', describe: 'directory for webgpu_bench.csv and webgpu_bench.md' })
    .option('reps', { type: 'number', default: 10, describe: 'timed runs per row (median reported), ≥ 10' })
    .option('warmup', { type: 'number', default: 2, describe: 'untimed runs before the timed ones' })
    .option('budget-s', { type: 'number', default: 360, describe: 'stop starting new points after this many seconds (the rest stay as "not run")' })
    .option('max-scores-mb', { type: 'number', default: 1024, describe: 'cap on the [B·H, N, N] buffers of the naive and tfjs rows (B·H is reduced to fit)' })
    .option('tfjs', { type: 'boolean', default: true, describe: 'include the tfjs composed rows (--no-tfjs drops them from --rows)' })
    .option('n', { type: 'string', describe: 'comma list of sequence lengths (default 512…16384; --quick 128…512)' })
    .option('hidden', { type: 'string', describe: 'comma list of hidden sizes (default 1024,2048; --quick 256)' })
    .option('d', { type: 'string', describe: `comma list of head dims (${HEAD_DIMS.join(', ')}; default 64,128)` })
    .option('causal', { type: 'string', choices: ['false', 'true', 'both'], default: 'both', describe: 'masks to sweep' })
    .option('kinds', { type: 'string', default: WEBGPU_KINDS.join(','), describe: `comma list of kinds with WGSL kernels (${WEBGPU_KINDS.join(', ')})` })
    .option('rows', { type: 'string', default: ROW_FAMILIES.join(','), describe: `comma list of row families (${ROW_FAMILIES.join(', ')})` })
    .option('tiles', { type: 'string', describe: 'tile plan overrides, e.g. fwd-sigmoid/D64=8x8,bwd-dq-softmax/D128=4x4' })
    .check((a) => (Number.isInteger(a.reps) && a.reps >= 10) || `--reps must be an integer ≥ 10 (median of at least 10 timed runs), got ${a.reps}`)
    .check((a) => (Number.isInteger(a.warmup) && a.warmup >= 0) || `--warmup must be an integer ≥ 0, got ${a.warmup}`)
    .check((a) => a['budget-s'] > 0 || `--budget-s must be a number of seconds > 0, got ${a['budget-s']}`)
    .check((a) => a['max-scores-mb'] > 0 || `--max-scores-mb must be a number of MiB > 0, got ${a['max-scores-mb']}`)
    .parse();
  const { reps, warmup } = args;
  const budgetS = args['budget-s'];
  const maxScoreBytes = args['max-scores-mb'] * 2 ** 20;

  const total = args.quick ? 1024 : 16384; // batch·N, fixed across N as in the FlashAttention papers
  const defaultNs = args.quick ? [128, 256, 512] : [512, 1024, 2048, 4096, 8192, 16384];
  const ds: number[] = args.d === undefined ? [64, 128] : commaList('d', args.d, HEAD_DIMS);
  const Ns = args.n === undefined ? defaultNs : parseList('n', args.n,
    `a comma list of sequence lengths that divide batch·N = ${total}${args.quick ? ' (--quick)' : ''}, e.g. ${defaultNs.join(',')}`,
    (s) => { const x = positiveInt(s); return x !== undefined && total % x === 0 ? x : undefined; });
  Ns.sort((a, b) => a - b); // ascending, so that the budget cuts the most expensive points
  const hiddens = args.hidden === undefined ? (args.quick ? [256] : [1024, 2048]) : parseList('hidden', args.hidden,
    `a comma list of hidden sizes that are multiples of every --d (${ds.join(', ')})`,
    (s) => { const x = positiveInt(s); return x !== undefined && ds.every((D) => x % D === 0) ? x : undefined; });
  ds.sort((a, b) => a - b);
  hiddens.sort((a, b) => a - b);
  const causals = args.causal === 'both' ? [false, true] : [args.causal === 'true'];
  const kinds = commaList<AttentionKind>('kinds', args.kinds, WEBGPU_KINDS);
  const families = commaList('rows', args.rows, ROW_FAMILIES).filter((f) => args.tfjs || f !== 'tfjs');
  if (families.length === 0) badOption('rows', 'non-empty after --no-tfjs drops tfjs', args.rows);
  if (families.length === 1 && families[0] === 'tfjs' && !causals.includes(false)) {
    badOption('causal', 'false or both when --rows is only tfjs (the tfjs composed rows run unmasked points only)', args.causal);
  }
  let tileOverrides: TileOverrides | undefined;
  if (args.tiles !== undefined) {
    try {
      tileOverrides = parseTileOverrides(args.tiles);
    } catch (e) {
      badOption('tiles', `valid tile overrides (${(e as Error).message})`, args.tiles);
    }
  }
  const has = (f: RowFamily): boolean => families.includes(f);

  // ─── Device, buffers, timing ───

  const deadline = performance.now() + 1000 * budgetS;
  const startedAt = new Date().toISOString();
  const { device, adapterName } = await requestWebGPUDevice();
  const host = new WebGPUAttention(device, tileOverrides === undefined ? {} : { tiles: tileOverrides });
  const bindingLimit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const maxElems = total * Math.max(...hiddens); // [B, H, N, D] elements of the largest point
  const maxRows = maxElems / Math.min(...ds); // B·H·N query rows of the largest point

  // Random values (never zeros), a 1M block tiled over each buffer.
  const block = new Rng(12345).normalF32(1 << 20);
  const filled = new Float32Array(maxElems);
  for (let off = 0; off < maxElems; off += block.length) filled.set(block.subarray(0, Math.min(block.length, maxElems - off)), off);
  const [q, k, v, o, dO, dq, dk, dv] = [0, 1, 2, 3, 4, 5, 6, 7].map(() => uploadF32(device, filled));
  // Row statistics: (max, sum) per query row, written by the forward and read by the softmax backward.
  const stats = uploadF32(device, new Float32Array(2 * maxRows));
  const bufs = { q, k, v, o, stats, dO, dq, dk, dv };

  /** Median ms of recording `record`'s dispatches, submitting them and awaiting the GPU. */
  async function timeGpu(record: (enc: GPUCommandEncoder) => void): Promise<number> {
    const t = await timeIt(async () => {
      const enc = device.createCommandEncoder();
      record(enc);
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
    }, { warmup, repeats: reps });
    return t.medianMs;
  }

  /** The tfjs webgpu backend's internals this benchmark needs to flush and fence its queue. */
  interface TfjsWebGPUBackend { device: GPUDevice; ensureCommandEncoderReady(): void; endComputePassEncoder(): void; submitQueue(): void }
  let tfjsBackend: TfjsWebGPUBackend | null = null;

  /**
   * Median ms of `run` on the tfjs webgpu backend, from the first op to the GPU finishing (JS op dispatch
   * is part of tfjs' cost, so it is inside the timed span). Its outputs are disposed every iteration.
   */
  async function timeTfjs(run: () => tf.Tensor | tf.Tensor[]): Promise<number> {
    const be = tfjsBackend!;
    let out: tf.Tensor | tf.Tensor[] = [];
    const t = await timeIt(async () => {
      tf.dispose(out);
      out = run();
      be.ensureCommandEncoderReady(); be.endComputePassEncoder(); be.submitQueue();
      await be.device.queue.onSubmittedWorkDone();
    }, { warmup, repeats: reps });
    tf.dispose(out);
    return t.medianMs;
  }

  // ─── Rows ───

  type Pass = 'fwd' | 'bwd';
  interface Point { hidden: number; D: number; causal: boolean; N: number; B: number; H: number }
  interface Row extends Point {
    kind: AttentionKind; row: RowFamily; impl: string; pass: Pass;
    /** B·H actually run (smaller than B·H where the N×N buffers would not fit). */
    bh: number;
    /** null = not run (the note says why). */
    ms: number | null; tflops: number | null;
    xSoftmax: number | null; xTfjs: number | null; note: string;
  }
  const rows: Row[] = [];

  const IMPL: Record<RowFamily, (kind: AttentionKind) => string> = {
    flash: (kind) => (kind === 'sigmoid' ? 'FlashSigmoid' : 'FlashSoftmax'),
    naive: () => 'naive WGSL',
    tfjs: () => 'tfjs composed',
  };

  function pointLabel(p: Point): string { return `hidden ${p.hidden} D ${p.D} ${p.causal ? 'causal' : 'full'} N ${p.N}`; }

  function fmt(x: number | null, digits = 3): string { return x === null ? '' : Number(x.toPrecision(digits)).toString(); }

  function push(p: Point, row: RowFamily, kind: AttentionKind, pass: Pass, bh: number, ms: number | null, note = '', quiet = false): void {
    const shape = { B: 1, H: bh, Hkv: bh, Nq: p.N, Nk: p.N, D: p.D };
    const tflops = ms === null ? null : attentionFlops(shape, p.causal, pass) / (ms * 1e-3) / 1e12;
    const r: Row = { ...p, kind, row, impl: IMPL[row](kind), pass, bh, ms, tflops, xSoftmax: null, xTfjs: null, note };
    rows.push(r);
    if (quiet) return;
    console.log(`${r.impl.padEnd(13)} ${kind.padEnd(7)} ${pass} ${pointLabel(p).padEnd(34)} bh ${String(bh).padStart(4)}: ` +
      (ms === null ? 'not run' : `${ms.toFixed(3)} ms  ${fmt(tflops)} TFLOP/s`) + (note === '' ? '' : `  (${note})`));
  }

  /** Largest halving of B·H whose `copies` [bh, N, N] f32 buffers fit --max-scores-mb (≥ 1, may still exceed it). */
  function reducedBh(bh: number, N: number, copies: number): number {
    let n = bh;
    while (n > 1 && copies * 4 * n * N * N > maxScoreBytes) n = Math.ceil(n / 2);
    return n;
  }
  const reducedNote = (bh: number, p: Point): string => (bh < p.B * p.H ? `B·H reduced from ${p.B * p.H}` : '');

  /**
   * Live [bh, N, N] tensors of the tfjs composed path, from tf.profile on the tfjs webgpu backend: the
   * forward keeps matMul, ×scale, +bias and σ (softmax: 3) until composedAttention's tidy ends; tf.grads
   * peaks at ~9.75 (softmax ~8.75): the tape's saved scores plus dP, dS and σ'/softmax' temporaries.
   */
  const TFJS_FWD_COPIES = 4, TFJS_BWD_COPIES = 10;

  /** Every row a point would have produced, marked not run (budget); one console line for the point. */
  function notRunPoint(p: Point, why: string): void {
    for (const kind of kinds) {
      for (const row of families) {
        if (row === 'tfjs' && p.causal) continue;
        for (const pass of ['fwd', 'bwd'] as const) push(p, row, kind, pass, p.B * p.H, null, why, true);
      }
    }
    console.log(`${pointLabel(p)}: ${why}`);
  }

  async function flashRows(p: Point, spec: (kind: AttentionKind, b: number, h: number) => ResolvedAttention): Promise<void> {
    for (const kind of kinds) {
      const r = spec(kind, p.B, p.H);
      // Forward first: the softmax backward reads the row stats it wrote.
      push(p, 'flash', kind, 'fwd', p.B * p.H, await timeGpu((enc) => host.forward(enc, r, bufs)));
      push(p, 'flash', kind, 'bwd', p.B * p.H, await timeGpu((enc) => host.backward(enc, r, bufs)));
    }
  }

  async function naiveRows(p: Point, spec: (kind: AttentionKind, b: number, h: number) => ResolvedAttention): Promise<void> {
    for (const kind of kinds) {
      // Forward needs one N×N buffer, backward two (S/P and dS).
      for (const [pass, copies] of [['fwd', 1], ['bwd', 2]] as const) {
        const bh = reducedBh(p.B * p.H, p.N, copies);
        if (4 * bh * p.N * p.N > bindingLimit) {
          push(p, 'naive', kind, pass, bh, null, `one [1,${bh},N,N] score buffer exceeds the ${bindingLimit}-byte binding limit`);
          continue;
        }
        const r = spec(kind, 1, bh);
        const ms = await timeGpu((enc) => (pass === 'fwd' ? host.naiveForward(enc, r, bufs) : host.naiveBackward(enc, r, bufs)));
        push(p, 'naive', kind, pass, bh, ms, reducedNote(bh, p));
      }
    }
  }

  async function tfjsRows(p: Point, attnSpec: (kind: AttentionKind) => AttentionSpec): Promise<void> {
    if (tfjsBackend === null) {
      await initBackend('webgpu');
      tfjsBackend = tf.backend() as unknown as TfjsWebGPUBackend;
    }
    const limits = tfjsBackend.device.limits;
    const tfLimit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    const tensorsBefore = tf.memory().numTensors;
    const inputs = (bh: number): tf.Tensor4D[] =>
      [0, 1, 2, 3].map(() => tf.tensor4d(filled.subarray(0, bh * p.N * p.D), [1, bh, p.N, p.D]));
    const timeForward = async (spec: AttentionSpec, x: tf.Tensor4D[]): Promise<number> =>
      timeTfjs(() => composedAttention(x[0], x[1], x[2], spec));

    for (const kind of kinds) {
      const spec = attnSpec(kind);
      const fwdBh = reducedBh(p.B * p.H, p.N, TFJS_FWD_COPIES);
      const bwdBh = reducedBh(p.B * p.H, p.N, TFJS_BWD_COPIES);
      if (4 * fwdBh * p.N * p.N > tfLimit) {
        const why = `one [1,${fwdBh},N,N] tensor exceeds tfjs' ${tfLimit}-byte binding limit`;
        push(p, 'tfjs', kind, 'fwd', fwdBh, null, why);
        push(p, 'tfjs', kind, 'bwd', bwdBh, null, why);
        continue;
      }
      const xf = inputs(fwdBh);
      const fwdMs = await timeForward(spec, xf);
      tf.dispose(xf);
      push(p, 'tfjs', kind, 'fwd', fwdBh, fwdMs, reducedNote(fwdBh, p));

      // Backward = (forward with the tape + backward) − forward, at one B·H. tf.grads with dy = dO is the
      // gradient of sum(O ⊙ dO) w.r.t. q, k, v, without timing an extra multiply and sum.
      const [bq, bk, bv, bdO] = inputs(bwdBh);
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => composedAttention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, spec));
      const fwdBwdMs = await timeTfjs(() => grads([bq, bk, bv], bdO));
      const fwdAtBwdMs = bwdBh === fwdBh ? fwdMs : await timeForward(spec, [bq, bk, bv]);
      tf.dispose([bq, bk, bv, bdO]);
      const bwdMs = fwdBwdMs - fwdAtBwdMs;
      const how = `fwd+bwd ${fwdBwdMs.toFixed(3)} ms − fwd ${fwdAtBwdMs.toFixed(3)} ms`;
      if (bwdMs <= 0) push(p, 'tfjs', kind, 'bwd', bwdBh, null, `${how} ≤ 0: timing noise exceeds the backward`);
      else push(p, 'tfjs', kind, 'bwd', bwdBh, bwdMs, [how, reducedNote(bwdBh, p)].filter((s) => s !== '').join('; '));
    }
    const leaked = tf.memory().numTensors - tensorsBefore;
    if (leaked !== 0) throw new Error(`bench-webgpu: the tfjs rows of ${pointLabel(p)} left ${leaked} tensors undisposed`);
  }

  // ─── Sweep ───

  const budgetNote = `not run: the --budget-s ${budgetS} deadline had passed`;
  for (const N of Ns) {
    for (const hidden of hiddens) {
      for (const D of ds) {
        for (const causal of causals) {
          const p: Point = { hidden, D, causal, N, B: total / N, H: hidden / D };
          if (performance.now() > deadline) { notRunPoint(p, budgetNote); continue; }
          // Sigmoid bias −log N (the paper's default); softmax takes no bias.
          const attnSpec = (kind: AttentionKind): AttentionSpec =>
            ({ kind, causal, ...(kind === 'sigmoid' ? { bias: { negLogN: N } } : {}) });
          const spec = (kind: AttentionKind, b: number, h: number): ResolvedAttention =>
            resolveAttention([b, h, N, D], [b, h, N, D], [b, h, N, D], attnSpec(kind));
          if (has('flash')) await flashRows(p, spec);
          if (has('naive')) await naiveRows(p, spec);
          if (has('tfjs') && !causal) await tfjsRows(p, attnSpec);
        }
      }
    }
  }

  // Ratios by TFLOP/s (not ms: the tfjs rows may have run a reduced B·H), within one point and pass.
  const rowKey = (r: Point & { row: RowFamily; kind: AttentionKind; pass: Pass }): string => `${pointLabel(r)}|${r.row}|${r.kind}|${r.pass}`;
  const byKey = new Map(rows.map((r) => [rowKey(r), r]));
  const tflopsOf = (r: Row, row: RowFamily, kind: AttentionKind): number | null => byKey.get(rowKey({ ...r, row, kind }))?.tflops ?? null;
  for (const r of rows) {
    if (r.row !== 'flash' || r.tflops === null) continue;
    const soft = r.kind === 'sigmoid' ? tflopsOf(r, 'flash', 'softmax') : null;
    const composed = tflopsOf(r, 'tfjs', r.kind);
    r.xSoftmax = soft === null ? null : r.tflops / soft;
    r.xTfjs = composed === null ? null : r.tflops / composed;
  }

  // ─── Report: CSV + markdown (temp file, then rename) ───

  /** The flash kernels a row runs (the backward runs two). */
  function flashKernels(kind: AttentionKind, pass: Pass): FlashKernelName[] {
    return pass === 'fwd' ? [`fwd-${kind}`] : [`bwd-dq-${kind}`, `bwd-dkdv-${kind}`];
  }
  /** Tile plans (TM×TN) a flash row ran with, as `kernel/D64=8x8`; * marks a --tiles override. */
  function tilesOf(kind: AttentionKind, pass: Pass, D: number): string {
    const r = resolveAttention([1, 1, 1, D], [1, 1, 1, D], [1, 1, 1, D], { kind });
    return flashKernels(kind, pass).map((kernel) => {
      const t = host.variant(kernel, r).tile;
      const key = `${kernel}/D${D}` as keyof TileOverrides;
      return `${key}=${t.TM}x${t.TN}${tileOverrides?.[key] !== undefined ? '*' : ''}`;
    }).join(' ');
  }
  const tilesHeader = has('flash')
    ? ds.flatMap((D) => kinds.flatMap((kind) => (['fwd', 'bwd'] as const).map((pass) => tilesOf(kind, pass, D)))).join(' ')
    : 'n/a (no flash rows)';

  const outDir = args.out;
  const csvRows: CsvRow[] = rows.map((r) => ({
    adapter: adapterName, date: startedAt, kind: r.kind, row: r.row, impl: r.impl, pass: r.pass, hidden: r.hidden, B: r.B, H: r.H,
    N: r.N, D: r.D, causal: r.causal, bh: r.bh, ms: r.ms ?? '', tflops: r.tflops ?? '', x_flash_softmax: r.xSoftmax ?? '',
    x_tfjs_composed: r.xTfjs ?? '', note: r.note, tiles: r.row === 'flash' ? tilesOf(r.kind, r.pass, r.D) : '',
  }));

  const notRunCount = rows.filter((r) => r.ms === null).length;
  // The markdown gives a point skipped by the budget one line (the CSV keeps each of its rows).
  const budgetSkipped = new Set<string>();
  function mdRow(r: Row): string[][] {
    const shape = [r.hidden, r.B, r.H, r.N, r.D, r.causal ? 'causal' : 'full', r.bh].map(String);
    if (r.note !== budgetNote) {
      return [[r.kind, r.impl, r.pass, ...shape, r.ms === null ? 'not run' : r.ms.toFixed(3), fmt(r.tflops), fmt(r.xSoftmax), fmt(r.xTfjs), r.note]];
    }
    if (budgetSkipped.has(pointLabel(r))) return [];
    budgetSkipped.add(pointLabel(r));
    return [[kinds.join(', '), `${families.join(', ')} rows`, 'fwd, bwd', ...shape, 'not run', '', '', '', r.note]];
  }
  const md: string[] = [
    `WebGPU attention sweep — adapter: ${adapterName}; ${startedAt}; f32; fenced submits (recording included), median of ${reps} after ${warmup} warm-up.`,
    '',
    `Selection: batch·N = ${total}, N ${Ns.join(', ')}; hidden ${hiddens.join(', ')}; D ${ds.join(', ')}; ` +
      `mask ${causals.map((c) => (c ? 'causal' : 'full')).join(', ')}; kinds ${kinds.join(', ')}; rows ${families.join(', ')}; ` +
      `budget ${budgetS} s; N×N cap ${maxScoreBytes / 2 ** 20} MiB.`,
    '',
    `Flash tiles (TM×TN${tileOverrides === undefined ? ', host defaults' : `, * = --tiles ${args.tiles}`}): ${tilesHeader}.`,
    '',
    markdownTable(['kind', 'impl', 'pass', 'hidden', 'B', 'H', 'N', 'D', 'mask', 'B·H run', 'ms', 'TFLOP/s', '× FlashSoftmax', '× tfjs', 'note'],
      rows.flatMap(mdRow)),
    '',
    'Notes:',
    '- TFLOP/s = 4·B·H·N²·D (bwd 2.5×, causal ½) with B·H = "B·H run"; naive and tfjs rows run B·H reduced where their ' +
      `[B·H, N, N] buffers would exceed the cap (naive fwd 1 copy, bwd 2; tfjs fwd ${TFJS_FWD_COPIES}, bwd ${TFJS_BWD_COPIES}).`,
    '- × FlashSoftmax: FlashSigmoid ÷ FlashSoftmax TFLOP/s; × tfjs: flash ÷ tfjs composed TFLOP/s of the same kind; ' +
      'both within one point and pass of this run.',
    ...(has('tfjs') ? ['- tfjs composed bwd = median fwd+bwd (tf.grads, dy = dO) − median fwd, both at the bwd row\'s B·H in the same point ' +
      '(fwd+bwd in the note). tfjs rows run unmasked points only: composedAttention builds its causal mask on the CPU every call.'] : []),
    ...(has('naive') ? ['- The naive WGSL path computes every score even when causal (its causal TFLOP/s counts half).'] : []),
    notRunCount === 0 ? '- All selected rows ran.'
      : `- ${notRunCount} rows not run (see their notes; a point the budget skipped is one line here, one row per impl, kind and pass in the CSV).`,
  ];
  writeCsv(path.join(outDir, 'webgpu_bench.csv'), csvRows);
  writeFileAtomic(path.join(outDir, 'webgpu_bench.md'), md.join('\n') + '\n');
  console.log(md.join('\n'));
  // Dawn's GPU object keeps Node alive (device.ts); runMain exits explicitly.
});
