/**
 * Training-step benchmark of the zoo on a tfjs backend (issue #12): the ViT and the causal LM that
 * tools/torch_train_bench.py times in PyTorch eager on the same GPU, same sizes, batch and optimiser.
 *
 *   vit  patch 4, dim 128, depth 6, 4 heads (head dim 32: the composed attention ops on cuda), MLP 256,
 *        QK LayerNorm, 28×28×1 input (50 tokens), batch 256 → img/s
 *   lm   dim 512, depth 6, 8 heads (head dim 64: the fused flash kernels on cuda), MLP 2048, RoPE, tied
 *        embeddings, vocab 8192, n = 1024 (batch 8) and 4096 (batch 2) → tokens/s and peak memory
 *
 * Each config: --warmup untimed steps (default 10), then --steps timed steps as the runner's loop runs them (a fresh batch,
 * trainStep, the loss read back). On cuda it also reports kernel launches per step, cpu-fallback calls,
 * the allocator's peak, the GPU time of every kernel of one traced step (CUDA events around each launch,
 * no synchronisation in between: `gpu_busy_ms` against the step's wall time says whether the GPU or the host
 * sets the pace), and one step under tf.profile (each kernel timed alone, synchronised: an upper bound).
 *
 *   npx tsx packages/tfjs-backend-cuda/bench/train-step.ts --backend cuda --out bench-results/train
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, cli, runMain, writeCsv, markdownTable, Rng, type Row } from '@sigattn/common';
import { initBackend, type BackendName } from '@sigattn/kernel-core';
import { AdamW, createModelFromSpec, trainStep, type Batch } from '@sigattn/model-zoo';
import { fallbackCounts, registerCudaBackend, resetFallbackCounts, setMatmulMode, type CudaBackend } from '../src/index.js';
import { nullDriver } from '../src/testing/index.js';

type Kind = 'softmax' | 'sigmoid';

interface BenchConfig {
  name: string;
  items: 'img' | 'tokens';
  itemsPerStep: number;
  spec: Record<string, unknown> & { name: 'vit' | 'lm' };
  batch: (rng: Rng) => Batch;
}

const LM_VOCAB = 8192;

function vit(kind: Kind, B: number): BenchConfig {
  return {
    name: `vit-${kind}-b${B}`,
    items: 'img',
    itemsPerStep: B,
    spec: {
      name: 'vit', imageSize: 28, channels: 1, patchSize: 4, dim: 128, depth: 6, heads: 4, mlpRatio: 2, classes: 10,
      attention: { kind, ...(kind === 'sigmoid' ? { bias: 'negLogN' } : {}), qkNorm: 'layernorm', causal: false },
    },
    batch: (rng) => ({
      images: tf.tensor4d(rng.normalF32(B * 28 * 28), [B, 28, 28, 1]),
      labels: tf.tensor1d(Array.from({ length: B }, () => rng.int(10)), 'int32'),
    }),
  };
}

function lm(kind: Kind, n: number, B: number): BenchConfig {
  return {
    name: `lm-${kind}-n${n}-b${B}`,
    items: 'tokens',
    itemsPerStep: B * n,
    spec: {
      name: 'lm', vocab: LM_VOCAB, contextLength: n, dim: 512, depth: 6, heads: 8, mlpRatio: 4,
      attention: { kind, ...(kind === 'sigmoid' ? { bias: 'negLogN' } : {}), qkNorm: 'none', causal: true },
      norm: 'pre', normKind: 'layernorm', mlp: 'gelu', positions: 'rope', tieEmbeddings: true, linearBias: false, dropout: 0,
    },
    batch: (rng) => ({ tokens: tf.tensor2d(Int32Array.from({ length: B * n }, () => rng.int(LM_VOCAB)), [B, n], 'int32') }),
  };
}

export interface StepRow {
  config: string;
  impl: string;
  backend: string;
  ms_per_step: number;
  items_per_s: number;
  items: string;
  peak_mib: number | '';
  launches_per_step: number | '';
  fallback_calls: number | '';
  kernel_ms: number | '';
  /** One traced step: summed GPU time of its kernels (events around each launch, no synchronisation between). */
  gpu_busy_ms: number | '';
  /** …and the GPU time from its first kernel's start to its last kernel's end (busy + idle gaps). */
  gpu_span_ms: number | '';
  card: string;
}

export interface TraceRow {
  config: string;
  kernel: string;
  calls: number;
  ms: number;
}

const traces: TraceRow[] = [];

function disposeBatch(batch: Batch): void {
  for (const v of Object.values(batch)) if (v instanceof tf.Tensor) v.dispose();
}

async function benchConfig(c: BenchConfig, backend: string, warmup: number, steps: number, profile: boolean, trace: boolean, card: string): Promise<StepRow> {
  const rng = new Rng(0);
  const model = createModelFromSpec(c.spec, 0, c.name);
  const opt = new AdamW(model.trainableEntries(), { lr: 3e-3, weightDecay: 0.05 });
  const be = backend === 'cuda' ? (tf.backend() as unknown as CudaBackend) : null;
  // A few batches drawn up front and reused: drawing 200k normals per step would time the host RNG, not
  // the step (PyTorch's twin draws on the GPU). Each step still builds its tensors from host arrays.
  const hostBatches = Array.from({ length: 4 }, () => {
    const b = c.batch(rng);
    const host = Object.fromEntries(Object.entries(b).map(([k, t]) => [k, { values: (t as tf.Tensor).dataSync().slice(), shape: (t as tf.Tensor).shape, dtype: (t as tf.Tensor).dtype }]));
    disposeBatch(b);
    return host;
  });
  const step = async (i: number) => {
    const h = hostBatches[i % hostBatches.length];
    const batch = Object.fromEntries(Object.entries(h).map(([k, v]) => [k, tf.tensor(v.values, v.shape, v.dtype)])) as Batch;
    try {
      return await trainStep(model, batch, opt, { step: i, totalSteps: warmup + steps + 1 });
    } finally {
      disposeBatch(batch);
    }
  };
  try {
    for (let i = 0; i < warmup; i++) await step(i);
    be?.device.allocator.resetPeak();
    resetFallbackCounts();
    const launches0 = be?.device.launches ?? 0;
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await step(warmup + i);
    const ms = (performance.now() - t0) / steps;
    const launches = be ? (be.device.launches - launches0) / steps : '';
    const fallbacks = be ? [...fallbackCounts().values()].reduce((a, b) => a + b, 0) / steps : '';
    const peak = be ? be.device.allocator.snapshot().peakBytesInUse / 2 ** 20 : '';
    let busy: number | '' = '';
    let span: number | '' = '';
    if (be && trace && !be.device.driver.info.name.startsWith('null driver')) {
      be.device.startTrace();
      await step(warmup + steps + 1);
      const t = be.device.stopTrace();
      busy = round(t.busyMs);
      span = round(t.spanMs);
      const top = [...t.byName].sort((x, y) => y[1].ms - x[1].ms);
      for (const [kernel, e] of top) traces.push({ config: c.name, kernel, calls: e.calls, ms: round(e.ms, 4) });
      console.log(`${c.name} GPU trace: busy ${round(t.busyMs, 2)} ms of a ${round(t.spanMs, 2)} ms span; ` +
        top.slice(0, 14).map(([n, e]) => `${n} ${e.calls}× ${round(e.ms, 2)}`).join(', '));
    }
    let kernelMs: number | '' = '';
    if (profile) {
      const info = await tf.profile(() => step(warmup + steps));
      const byName = new Map<string, { calls: number; ms: number }>();
      for (const k of info.kernels) {
        const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
        const e = byName.get(k.name) ?? { calls: 0, ms: 0 };
        byName.set(k.name, { calls: e.calls + 1, ms: e.ms + ms });
      }
      kernelMs = [...byName.values()].reduce((a, e) => a + e.ms, 0);
      const top = [...byName].sort((x, y) => y[1].ms - x[1].ms || y[1].calls - x[1].calls).slice(0, 16);
      console.log(`${c.name} kernels by time (one profiled step, each kernel timed alone): ` + top.map(([n, e]) => `${n} ${e.calls}× ${round(e.ms, 2)} ms`).join(', '));
    }
    return {
      config: c.name, impl: `sigattn-tfjs-${backend}`, backend, ms_per_step: round(ms), items_per_s: round((c.itemsPerStep / ms) * 1e3, 1), items: c.items,
      peak_mib: typeof peak === 'number' ? round(peak, 1) : '', launches_per_step: launches, fallback_calls: fallbacks,
      kernel_ms: typeof kernelMs === 'number' ? round(kernelMs) : '', gpu_busy_ms: busy, gpu_span_ms: span, card,
    };
  } finally {
    opt.dispose();
    model.dispose();
  }
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

runMain(async () => {
  const a = await cli('train-step')
    .usage('$0 [options]: time zoo training steps (ViT, causal LM) on a tfjs backend; writes train_step.csv')
    .option('backend', { type: 'string', default: 'cuda', describe: 'cuda | webgpu | wasm | cpu' })
    .option('only', { type: 'string', default: 'vit,lm', describe: 'comma-separated: vit, lm, lm1024, lm4096' })
    .option('kinds', { type: 'string', default: 'softmax,sigmoid', describe: 'attention kinds' })
    .option('vit-batch', { type: 'number', default: 256, describe: 'ViT batch (the issue: 256)' })
    .option('lm-batch-scale', { type: 'number', default: 1, describe: 'multiply the LM batches (8 at n=1024, 2 at n=4096) by this' })
    .option('repeat', { type: 'number', default: 2, describe: 'passes over all configs; the last is reported (the first config of a process runs warm-up-slow)' })
    .option('warmup', { type: 'number', default: 10, describe: 'untimed steps first (programs load, the allocator fills, V8 optimises the hot JavaScript)' })
    .option('steps', { type: 'number', default: 10, describe: 'timed steps per config' })
    .option('gpu-trace', { type: 'boolean', default: true, describe: 'cuda: one extra step with CUDA events around every kernel: GPU time per kernel, busy vs span (gpu_trace_cuda.csv)' })
    .option('profile', { type: 'boolean', default: true, describe: 'one extra step under tf.profile for the kernels’ GPU time' })
    .option('out', { type: 'string', default: 'bench-results/train', describe: 'output folder' })
    .option('tf-flag', { type: 'string', array: true, default: [], describe: 'tfjs flag NAME=VALUE set after the backend starts, e.g. WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=256 (repeatable)' })
    .option('null-driver', { type: 'boolean', default: false, describe: 'cuda on a driver that does no GPU work: the host-side cost of a step alone (no GPU needed)' })
    .parse();
  const backend = a.backend as BackendName;
  const nulled = a.nullDriver ? nullDriver() : null;
  if (nulled && backend !== 'cuda') throw new ConfigError('--null-driver applies to --backend cuda only');
  if (backend === 'cuda') registerCudaBackend({ driver: nulled?.driver });
  // cuBLAS would run on the real driver's context with the null driver's fake pointers.
  if (nulled) setMatmulMode('own');
  await initBackend(backend);
  for (const flag of a.tfFlag) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(flag);
    if (m === null) throw new ConfigError(`--tf-flag ${JSON.stringify(flag)}: expected NAME=VALUE`);
    tf.env().set(m[1], m[2] === 'true' ? true : m[2] === 'false' ? false : Number.isFinite(Number(m[2])) ? Number(m[2]) : m[2]);
  }
  const card = backend === 'cuda' ? (tf.backend() as unknown as CudaBackend).device.driver.info.name : backend;
  if (nulled) console.log('null driver: no GPU work; the times are the host-side cost of each step alone');
  const only = a.only.split(',');
  const configs: BenchConfig[] = [];
  for (const kind of a.kinds.split(',') as Kind[]) {
    if (only.includes('vit')) configs.push(vit(kind, a.vitBatch));
    if (only.includes('lm') || only.includes('lm1024')) configs.push(lm(kind, 1024, Math.max(1, Math.round(8 * a.lmBatchScale))));
    if (only.includes('lm') || only.includes('lm4096')) configs.push(lm(kind, 4096, Math.max(1, Math.round(2 * a.lmBatchScale))));
  }
  // Passes over all configs; only the last is kept. The first config of a process runs while V8 and the GPU
  // are still warming up (it measured up to 1.8x slower than the same work later), so --repeat 2 times every
  // config in the same steady state.
  let rows: StepRow[] = [];
  for (let pass = 1; pass <= a.repeat; pass++) {
    rows = [];
    traces.length = 0;
    for (const c of configs) {
      const row = await benchConfig(c, backend, a.warmup, a.steps, a.profile && pass === a.repeat, a.gpuTrace && pass === a.repeat, card);
      rows.push(row);
      console.log(`${a.repeat > 1 ? `pass ${pass}/${a.repeat} ` : ''}${JSON.stringify(row)}`);
    }
  }
  writeCsv(`${a.out}/train_step_${backend}.csv`, rows as unknown as Row[]);
  if (traces.length) writeCsv(`${a.out}/gpu_trace_${backend}.csv`, traces as unknown as Row[]);
  console.log(markdownTable(Object.keys(rows[0]), rows.map((r) => Object.values(r).map(String))));
  return 0;
});
