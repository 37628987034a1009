/**
 * GEMM benchmark of the cuda backend's BatchMatMul: the own TF32 kernel (its automatic tile choice and
 * both tile sizes) against cuBLAS (TF32, when it loads) on the shapes the zoo runs — ViT (dim 128, MLP
 * 256, 256 images × 50 tokens = 12800 rows) and the LM (dim 512, MLP 2048, 8192 tokens, attention over
 * n = 1024 and 4096), forward and the weight/input-gradient GEMMs. CUDA events around each call, median of
 * --reps after --warmup. TFLOP/s = 2·batch·M·N·K / time. Each implementation's output is spot-checked
 * at 64 elements against float64 dot products (max_err: |got − want| / (1 + |want|)).
 * Prints a table and writes <out>/gemm_bench.csv.
 *   tsx packages/tfjs-backend-cuda/bench/gemm.ts [--out DIR] [--reps 30] [--warmup 5] [--filter vit]
 */
import path from 'node:path';
import { Rng, cli, markdownTable, median, runMain, writeCsv } from '@sigattn/common';
import type { CuPtr } from '@sigattn/kernel-core';
import { CudaBackend } from '../src/backend.js';
import { CudaDevice } from '../src/device.js';
import { chooseTile, matmulImpl, planBatchMatMul, runGemm, setMatmulMode, type GemmPlan, type MatmulImplName, type MatmulTile } from '../src/kernels/matmul.js';
import { cublasCanRun } from '../src/cublas.js';

interface Shape {
  label: string;
  a: number[];
  b: number[];
  transA?: boolean;
  transB?: boolean;
}

const VIT_ROWS = 256 * 50;
const LM_TOKENS = 8192;
const SHAPES: Shape[] = [
  { label: 'vit qkv', a: [VIT_ROWS, 128], b: [128, 384] },
  { label: 'vit proj', a: [VIT_ROWS, 128], b: [128, 128] },
  { label: 'vit mlp up', a: [VIT_ROWS, 128], b: [128, 256] },
  { label: 'vit mlp down', a: [VIT_ROWS, 256], b: [256, 128] },
  { label: 'vit qkv dW', a: [VIT_ROWS, 128], b: [VIT_ROWS, 384], transA: true },
  { label: 'vit qkv dX', a: [VIT_ROWS, 384], b: [128, 384], transB: true },
  { label: 'vit scores Q·Kᵀ', a: [256 * 4, 50, 32], b: [256 * 4, 50, 32], transB: true },
  { label: 'vit P·V', a: [256 * 4, 50, 50], b: [256 * 4, 50, 32] },
  { label: 'lm qkv', a: [LM_TOKENS, 512], b: [512, 1536] },
  { label: 'lm proj', a: [LM_TOKENS, 512], b: [512, 512] },
  { label: 'lm mlp up', a: [LM_TOKENS, 512], b: [512, 2048] },
  { label: 'lm mlp down', a: [LM_TOKENS, 2048], b: [2048, 512] },
  { label: 'lm qkv dW', a: [LM_TOKENS, 512], b: [LM_TOKENS, 1536], transA: true },
  { label: 'lm mlp up dX', a: [LM_TOKENS, 2048], b: [512, 2048], transB: true },
  { label: 'lm n=1024 Q·Kᵀ', a: [8 * 8, 1024, 64], b: [8 * 8, 1024, 64], transB: true },
  { label: 'lm n=1024 P·V', a: [8 * 8, 1024, 1024], b: [8 * 8, 1024, 64] },
  { label: 'lm n=4096 Q·Kᵀ', a: [2 * 8, 4096, 64], b: [2 * 8, 4096, 64], transB: true },
  { label: 'lm n=4096 P·V', a: [2 * 8, 4096, 4096], b: [2 * 8, 4096, 64] },
];

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/** 1M normal values tiled over n from offset `shift`: realistic operands without generating 10⁸ values in JavaScript. */
function tiled(block: Float32Array, n: number, shift: number): Float32Array {
  const out = new Float32Array(n);
  for (let off = 0; off < n; ) {
    const start = (off + shift) % block.length;
    const len = Math.min(block.length - start, n - off);
    out.set(block.subarray(start, start + len), off);
    off += len;
  }
  return out;
}

/** float64 element `index` of the output (numpy batch broadcasting over the flattened batch). */
function referenceAt(s: Shape, plan: GemmPlan, A: Float32Array, B: Float32Array, index: number): number {
  const ra = s.a.length;
  const M0 = s.transA ? s.a[ra - 1] : s.a[ra - 2];
  const N = plan.N, K = plan.K;
  const z = Math.floor(index / (M0 * N)), m = Math.floor(index / N) % M0, n = index % N;
  const batchA = size(s.a.slice(0, -2)), batchB = size(s.b.slice(0, -2));
  // The shapes above broadcast only by omitting a batch entirely, so z indexes an operand or is unused.
  const za = batchA === 1 ? 0 : z, zb = batchB === 1 ? 0 : z;
  let sum = 0;
  for (let k = 0; k < K; k++) {
    const av = A[za * M0 * K + (s.transA ? k * M0 + m : m * K + k)];
    const bv = B[zb * K * N + (s.transB ? n * K + k : k * N + n)];
    sum += av * bv;
  }
  return sum;
}

runMain(async () => {
  const args = await cli('cuda-gemm-bench')
    .usage('$0 [options]: time the cuda backend’s BatchMatMul (own TF32 kernel vs cuBLAS) on the zoo’s GEMM shapes')
    .option('out', { type: 'string', default: 'bench-results/cuda-gemm', describe: 'directory for gemm_bench.csv' })
    .option('reps', { type: 'number', default: 30, describe: 'timed runs per row (median reported), ≥ 5' })
    .option('warmup', { type: 'number', default: 5, describe: 'untimed runs before the timed ones' })
    .option('filter', { type: 'string', default: '', describe: 'only shapes whose label contains this text (e.g. vit, lm, P·V)' })
    .check((a) => (Number.isInteger(a.reps) && a.reps >= 5) || `--reps must be an integer ≥ 5, got ${a.reps}`)
    .check((a) => (Number.isInteger(a.warmup) && a.warmup >= 0) || `--warmup must be an integer ≥ 0, got ${a.warmup}`)
    .parse();
  const shapes = SHAPES.filter((s) => s.label.includes(args.filter));
  if (shapes.length === 0) throw new Error(`--filter ${args.filter} matches no shape; labels: ${SHAPES.map((s) => s.label).join(', ')}`);

  const be = new CudaBackend(new CudaDevice());
  const driver = be.device.driver;
  const card = driver.info.name;
  setMatmulMode('auto');
  const found = matmulImpl();
  console.log(`${card}, ${driver.info.smCount} SMs; auto mode: ${found.impl} (${found.detail})`);
  const impls: { name: string; impl: MatmulImplName; tile?: MatmulTile }[] = [
    { name: 'own', impl: 'own' },
    { name: 'own-64', impl: 'own', tile: 64 },
    { name: 'own-128', impl: 'own', tile: 128 },
    ...(found.impl === 'cublas' ? [{ name: 'cublas', impl: 'cublas' as const }] : []),
  ];

  const block = new Rng(2024).normalF32(1 << 20);
  const [ev0, ev1] = [driver.createEvent(), driver.createEvent()];
  const gpuMedianMs = (run: () => void): number => {
    const times: number[] = [];
    for (let it = 0; it < args.warmup + args.reps; it++) {
      driver.record(ev0);
      run();
      driver.record(ev1);
      const ms = driver.elapsedMs(ev0, ev1);
      if (it >= args.warmup) times.push(ms);
    }
    return median(times);
  };
  const upload = (host: Float32Array): CuPtr => {
    const p = be.device.alloc(host.byteLength);
    be.device.upload(p, host);
    return p;
  };

  type Row = { card: string; label: string; shape: string; M: number; N: number; K: number; batch: number; impl: string; tile: string; ms: number; tflops: number; max_err: number };
  const rows: Row[] = [];
  const rng = new Rng(7);
  for (const s of shapes) {
    const plan = planBatchMatMul(s.a, s.b, s.transA ?? false, s.transB ?? false);
    const outSize = size(plan.outShape);
    const A = tiled(block, size(s.a), 0), B = tiled(block, size(s.b), 517);
    const [a, b] = [upload(A), upload(B)];
    const c = be.device.alloc(outSize * 4);
    const samples = Array.from({ length: 64 }, () => rng.int(outSize));
    const want = samples.map((i) => referenceAt(s, plan, A, B, i));
    const flops = 2 * plan.batch * plan.M * plan.N * plan.K;
    const shape = `[${s.a.join(',')}]${s.transA ? 'ᵀ' : ''}·[${s.b.join(',')}]${s.transB ? 'ᵀ' : ''}`;
    for (const impl of impls) {
      if (impl.impl === 'cublas' && !cublasCanRun(plan)) continue;
      const tile = impl.impl === 'own' ? (impl.tile ?? chooseTile(plan, driver.info.smCount)) : undefined;
      driver.fill32(c, 0x7fc00000, outSize); // NaN: an unwritten element fails the spot check
      const ms = gpuMedianMs(() => runGemm(be, plan, a, b, c, impl.impl, tile));
      const got = new Float32Array(1);
      let maxErr = 0;
      samples.forEach((idx, i) => {
        driver.copyDtoH(got, c + BigInt(idx * 4), 4);
        const err = Math.abs(got[0] - want[i]) / (1 + Math.abs(want[i]));
        maxErr = Number.isNaN(err) ? Infinity : Math.max(maxErr, err);
      });
      const row: Row = {
        card, label: s.label, shape, M: plan.M, N: plan.N, K: plan.K, batch: plan.batch,
        impl: impl.name, tile: tile === undefined ? '' : String(tile),
        ms: +ms.toFixed(4), tflops: +(flops / ms / 1e9).toFixed(2), max_err: +maxErr.toExponential(2),
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
    for (const p of [a, b, c]) be.device.release(p);
  }
  driver.destroyEvent(ev0);
  driver.destroyEvent(ev1);

  const csv = path.join(args.out, 'gemm_bench.csv');
  writeCsv(csv, rows);
  console.log(
    '\n' +
      markdownTable(
        ['shape', 'label', 'M×N×K (batch)', 'impl', 'tile', 'ms', 'TFLOP/s', 'max err'],
        rows.map((r) => [r.shape, r.label, `${r.M}×${r.N}×${r.K} (${r.batch})`, r.impl, r.tile, r.ms.toFixed(3), r.tflops.toFixed(1), r.max_err.toExponential(1)]),
        ['l', 'l', 'r', 'l', 'r', 'r', 'r', 'r'],
      ),
  );
  console.log(`\nwrote ${csv}`);
  be.dispose();
});
