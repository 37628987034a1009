/**
 * `nx run training-runner:profile-webgpu`: what one ViT training step does on tfjs' webgpu backend
 * (issue #12, item 4). Builds the issue's ViT (Fashion-MNIST-shaped 28×28×1 input, patch 4 → 49
 * patches + CLS = 50 tokens, dim 128, depth 6, 4 heads → head dim 32 (the WGSL flash kernels), MLP
 * ratio 2; the quickstart recipe: pre-norm, QK-norm layernorm, GELU, learned positions, CLS pool) and
 * trains it with AdamW (lr 0.003, weight decay 0.05, the base config's) on random images, as the
 * runner's loop does, then reports per step: the WebGPU API calls (dispatches, bind groups, buffers
 * created and destroyed, uploads, read-backs, submits, pipelines compiled), the tfjs kernels run (the
 * top ones by count, with the API calls each made), the backend's own state and the WEBGPU_* flags.
 *
 *   tsx packages/training-runner/bench/webgpu-step-profile.ts [--batch 32] [--steps 3] [--warmup 2]
 *     [--kind sigmoid|softmax|both] [--out DIR] [--top 15] [--flag WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=64]
 *     [--adamw fused|composed]   (kernel-core's one-dispatch SigattnAdamW kernel, or the ~15 composed tfjs ops)
 *     [--kernel-times]   (one more step under tf.profile: GPU ms per tfjs kernel, where timestamp queries exist)
 *
 * Writes <out>/webgpu_step_profile.csv (one row per counter) and <out>/webgpu_step_profile.md, and
 * prints the tables. Counts do not depend on the adapter; milliseconds do, and on a CPU adapter
 * (lavapipe) they are no guide to a GPU. docs/webgpu-profile.md reads the counts.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ConfigError, RunError, Rng, cli, closestName, markdownTable, meanStd, runMain, writeCsv, writeFileAtomic, type Row } from '@sigattn/common';
import { initBackend } from '@sigattn/kernel-core';
import { AdamW, createModel, trainStep, type Batch } from '@sigattn/model-zoo';
import {
  API_CALLS, DEFAULT_STAGE, OUTSIDE_KERNELS, STAGES, WebGPUCallCounter, profileKernelTimes, profileTrainingSteps, webgpuFlags, type ApiCall, type StepRecord,
} from './webgpu-profile.js';

const KINDS = ['sigmoid', 'softmax'] as const;
type Kind = (typeof KINDS)[number];
const IMAGE = 28;
const LR = 0.003;
const WEIGHT_DECAY = 0.05;

function vitConfig(kind: Kind): Record<string, unknown> {
  return {
    imageSize: IMAGE, channels: 1, patchSize: 4, dim: 128, depth: 6, heads: 4, mlpRatio: 2, classes: 10,
    attention: { kind, bias: 'negLogN', qkNorm: 'layernorm', causal: false },   // bias: sigmoid only
  };
}

/** `NAME=VALUE` → [name, value]: true/false become booleans, numbers numbers, anything else a string. */
function parseFlag(text: string): [string, number | boolean | string] {
  const m = /^([A-Z0-9_]+)=(.*)$/.exec(text);
  if (m === null) throw new ConfigError(`--flag ${JSON.stringify(text)}: expected NAME=VALUE, e.g. --flag WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=64`);
  const raw = m[2];
  const value = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  return [m[1], value];
}

function positiveInt(name: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min) throw new ConfigError(`--${name}: expected an integer ≥ ${min}, got ${v}`);
  return v;
}

// ─── Summaries ───

interface Stat { first: number; mean: number; min: number; max: number }

function stat(records: StepRecord[], value: (r: StepRecord) => number): Stat {
  const warm = records.filter((r) => r.phase === 'warmup');
  const steady = records.filter((r) => r.phase === 'profiled').map(value);
  return {
    first: warm.length > 0 ? value(warm[0]) : NaN,
    mean: meanStd(steady).mean,
    min: Math.min(...steady),
    max: Math.max(...steady),
  };
}

interface Counter { section: string; name: string; unit: string; value: (r: StepRecord) => number }

const kernelCalls = (r: StepRecord): number =>
  Object.entries(r.tallies.kernels).reduce((s, [n, k]) => s + (n === OUTSIDE_KERNELS ? 0 : k.calls), 0);
const api = (c: ApiCall) => (r: StepRecord) => r.tallies.api[c].calls;
const createdBuffers = (r: StepRecord): number => r.tallies.api.createBuffer.calls + r.tallies.api['createBuffer(mapped)'].calls;

/** The summary rows; img/s is the step's batch over its wall time (on lavapipe, no guide to a GPU). */
const counters = (batch: number): Counter[] => [
  { section: 'step', name: 'wall time (host; lavapipe is not a GPU)', unit: 'ms', value: (r) => r.wallMs },
  { section: 'step', name: 'images per second (batch / wall s)', unit: 'img/s', value: (r) => (1000 * batch) / r.wallMs },
  { section: 'step', name: 'tfjs kernels run', unit: 'calls', value: kernelCalls },
  { section: 'step', name: 'distinct tfjs kernels', unit: 'names', value: (r) => Object.keys(r.tallies.kernels).filter((n) => n !== OUTSIDE_KERNELS).length },
  ...API_CALLS.map((c): Counter => ({ section: 'api', name: c, unit: 'calls', value: api(c) })),
  { section: 'api', name: 'workgroups launched', unit: 'workgroups', value: (r) => r.tallies.api.dispatchWorkgroups.workgroups },
  { section: 'api', name: 'buffers created (both kinds)', unit: 'calls', value: createdBuffers },
  { section: 'api', name: 'bytes allocated for the buffer pool (createBuffer)', unit: 'bytes', value: (r) => r.tallies.api.createBuffer.bytes },
  { section: 'api', name: 'bytes staged for uploads (createBuffer(mapped))', unit: 'bytes', value: (r) => r.tallies.api['createBuffer(mapped)'].bytes },
  { section: 'api', name: 'bytes uploaded (writeBuffer)', unit: 'bytes', value: (r) => r.tallies.api.writeBuffer.bytes },
  { section: 'api', name: 'bytes read back (mapAsync)', unit: 'bytes', value: (r) => r.tallies.api.mapAsync.bytes },
  { section: 'api', name: 'dispatches per submit', unit: 'ratio', value: (r) => r.tallies.api.dispatchWorkgroups.calls / Math.max(1, r.tallies.api.submit.calls) },
  { section: 'host', name: 'ms inside tfjs kernel functions (exclusive)', unit: 'ms', value: (r) => Object.entries(r.tallies.kernels).reduce((s, [n, k]) => s + (n === OUTSIDE_KERNELS ? 0 : k.ms), 0) },
  { section: 'host', name: 'ms inside WebGPU calls (mapAsync excluded)', unit: 'ms', value: (r) => API_CALLS.filter((c) => c !== 'mapAsync').reduce((s, c) => s + r.tallies.api[c].ms, 0) },
  { section: 'host', name: 'ms waiting in mapAsync', unit: 'ms', value: (r) => r.tallies.api.mapAsync.ms },
  { section: 'host', name: 'ms recording the step (wall − mapAsync wait)', unit: 'ms', value: (r) => r.wallMs - r.tallies.api.mapAsync.ms },
  { section: 'host', name: 'ms inside submit', unit: 'ms', value: (r) => r.tallies.api.submit.ms },
  { section: 'backend', name: 'program cache size (after the step)', unit: 'programs', value: (r) => r.backend.programCache },
  { section: 'backend', name: 'numBytesInGPU (after)', unit: 'bytes', value: (r) => r.backend.numBytesInGPU },
  { section: 'backend', name: 'numBytesAllocatedInGPU (after)', unit: 'bytes', value: (r) => r.backend.numBytesAllocatedInGPU },
  { section: 'backend', name: 'pooled buffers in use (after)', unit: 'buffers', value: (r) => r.backend.usedBuffers },
  { section: 'backend', name: 'pooled buffers free (after)', unit: 'buffers', value: (r) => r.backend.freeBuffers },
  { section: 'backend', name: 'live tensors (after)', unit: 'tensors', value: (r) => r.numTensors },
];

/** Columns of the per-kernel table: the API calls that say what a kernel costs. */
type PerCall = Partial<Record<ApiCall, number>>;
const KERNEL_COLUMNS: { header: string; value: (api: PerCall, bytes: PerCall) => number }[] = [
  { header: 'dispatches', value: (a) => a.dispatchWorkgroups ?? 0 },
  { header: 'bind groups', value: (a) => a.createBindGroup ?? 0 },
  { header: 'uniform writes', value: (a) => a.writeBuffer ?? 0 },
  { header: 'buffers created', value: (a) => (a.createBuffer ?? 0) + (a['createBuffer(mapped)'] ?? 0) },
  { header: 'MB staged (mapped uploads)', value: (_a, b) => (b['createBuffer(mapped)'] ?? 0) / 2 ** 20 },
  { header: 'destroyed', value: (a) => a.destroy ?? 0 },
  { header: 'copies', value: (a) => a.copyBufferToBuffer ?? 0 },
  { header: 'submits', value: (a) => a.submit ?? 0 },
  { header: 'read-backs', value: (a) => a.mapAsync ?? 0 },
  { header: 'pipelines', value: (a) => (a.createComputePipeline ?? 0) + (a.createComputePipelineAsync ?? 0) },
];

function fmt(v: number): string {
  if (!Number.isFinite(v)) return '–';
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(2);
}

interface KernelRow { name: string; calls: number; ms: number; api: PerCall; bytes: PerCall }

/** Per-kernel means over the profiled steps, most calls first. */
function kernelRows(records: StepRecord[]): KernelRow[] {
  const steady = records.filter((r) => r.phase === 'profiled');
  const byName = new Map<string, KernelRow>();
  for (const r of steady) {
    for (const [name, k] of Object.entries(r.tallies.kernels)) {
      const row = byName.get(name) ?? { name, calls: 0, ms: 0, api: {}, bytes: {} };
      row.calls += k.calls / steady.length;
      row.ms += k.ms / steady.length;
      for (const [c, n] of Object.entries(k.api) as [ApiCall, number][]) row.api[c] = (row.api[c] ?? 0) + n / steady.length;
      for (const [c, n] of Object.entries(k.bytes) as [ApiCall, number][]) row.bytes[c] = (row.bytes[c] ?? 0) + n / steady.length;
      byName.set(name, row);
    }
  }
  return [...byName.values()].sort((a, b) => b.calls - a.calls || a.name.localeCompare(b.name));
}

interface StageRow { name: string; kernels: number; api: PerCall; bytes: PerCall }

/** Per-stage means over the profiled steps (forward, backward + rest, optimizer). */
function stageRows(records: StepRecord[]): StageRow[] {
  const steady = records.filter((r) => r.phase === 'profiled');
  const byName = new Map<string, StageRow>();
  for (const r of steady) {
    for (const [name, t] of Object.entries(r.tallies.stages)) {
      const row = byName.get(name) ?? { name, kernels: 0, api: {}, bytes: {} };
      row.kernels += t.kernels / steady.length;
      for (const [c, n] of Object.entries(t.api) as [ApiCall, number][]) row.api[c] = (row.api[c] ?? 0) + n / steady.length;
      for (const [c, n] of Object.entries(t.bytes) as [ApiCall, number][]) row.bytes[c] = (row.bytes[c] ?? 0) + n / steady.length;
      byName.set(name, row);
    }
  }
  const order = [STAGES.forward, DEFAULT_STAGE, STAGES.optimizer] as string[];
  return [...byName.values()].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}

runMain(async () => {
  const args = await cli('webgpu-step-profile')
    .usage('$0 [options]: count the WebGPU calls and tfjs kernels of one ViT training step on the webgpu backend')
    .option('batch', { type: 'number', default: 32, describe: 'images per step' })
    .option('steps', { type: 'number', default: 3, describe: 'profiled steps (after the warm-up)' })
    .option('warmup', { type: 'number', default: 2, describe: 'steps run first (programs compile, the buffer pool fills); the first is reported beside the profiled ones' })
    .option('kind', { choices: ['sigmoid', 'softmax', 'both'] as const, default: 'both' as const, describe: 'attention kind' })
    .option('out', { type: 'string', default: 'bench-results/webgpu-step-profile', describe: 'directory for webgpu_step_profile.csv and .md' })
    .option('top', { type: 'number', default: 15, describe: 'tfjs kernels listed per kind (most calls first)' })
    .option('flag', { type: 'string', array: true, default: [] as string[], describe: 'set a tfjs WEBGPU_* flag first, NAME=VALUE (repeatable)' })
    .option('adamw', { choices: ['fused', 'composed'] as const, default: 'fused' as const, describe: "AdamW's update: kernel-core's fused SigattnAdamW kernel (one dispatch per parameter) or the composed tfjs ops (~15)" })
    .option('kernel-times', { type: 'boolean', default: false, describe: 'also run one step under tf.profile and list GPU ms per tfjs kernel (needs timestamp-query, i.e. a GPU)' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of the weights and the random images' })
    .parse();
  const batch = positiveInt('batch', args.batch);
  const steps = positiveInt('steps', args.steps);
  const warmup = positiveInt('warmup', args.warmup);
  const top = positiveInt('top', args.top);
  const kinds: Kind[] = args.kind === 'both' ? [...KINDS] : [args.kind];
  const flags = (args.flag as string[]).map(parseFlag);

  try {
    await initBackend('webgpu');
  } catch (e) {
    throw new RunError(`webgpu-step-profile: ${(e as Error).message}`);
  }
  const known = Object.keys(webgpuFlags());
  for (const [name, value] of flags) {
    if (!known.includes(name)) {
      const near = closestName(name, known);
      throw new ConfigError(`--flag ${name}: not a tfjs webgpu flag${near !== undefined ? ` (did you mean ${near}?)` : ''}; known: ${known.join(', ')}`);
    }
    tf.env().set(name, value);
  }
  const adapter = (tf.backend() as unknown as { adapterInfo: { vendor: string; architecture: string } }).adapterInfo;
  const adapterName = `${adapter.vendor || '?'} / ${adapter.architecture || '?'}`;
  const flagValues = webgpuFlags();

  const csv: Row[] = [];
  const md: string[] = [
    `# WebGPU training-step profile`,
    '',
    `ViT 28×28×1, patch 4 (50 tokens), dim 128, depth 6, 4 heads (D 32), MLP ratio 2, QK-norm; AdamW (${args.adamw}); batch ${batch}; ` +
      `${warmup} warm-up + ${steps} profiled steps; tfjs ${tf.version.tfjs}; adapter ${adapterName}.`,
    '',
    'Counts are per step and do not depend on the adapter. Milliseconds are host times on this adapter: ' +
      'on a CPU adapter (lavapipe) they say nothing about a GPU.' +
      (kinds.length > 1 ? ' The kinds run in one process, so the second finds the tfjs programs of the first compiled.' : ''),
    '',
  ];

  const counter = WebGPUCallCounter.install();
  try {
    for (const kind of kinds) {
      const model = createModel('vit', vitConfig(kind), args.seed);
      const optimizer = new AdamW(model.trainableEntries(), { lr: LR, weightDecay: WEIGHT_DECAY, fused: args.adamw === 'fused' });
      const rng = new Rng(args.seed + 1);
      const makeBatch = (): Batch => {
        const images = new Float32Array(batch * IMAGE * IMAGE);
        for (let i = 0; i < images.length; i++) images[i] = rng.next();
        const labels = Int32Array.from({ length: batch }, () => rng.int(10));
        return { images: tf.tensor4d(images, [batch, IMAGE, IMAGE, 1]), labels: tf.tensor1d(labels, 'int32') };
      };
      let records: StepRecord[];
      let times: Awaited<ReturnType<typeof profileKernelTimes>> | null = null;
      try {
        records = await profileTrainingSteps(counter, model, optimizer, makeBatch, { warmup, steps, lr: LR });
        if (args['kernel-times']) {
          const batchTensors = makeBatch();
          try {
            times = await profileKernelTimes(() => trainStep(model, batchTensors, optimizer, { step: warmup + steps, totalSteps: warmup + steps + 1, lr: LR }));
          } finally {
            tf.dispose(batchTensors as tf.TensorContainer);
          }
        }
      } finally {
        model.dispose();
        optimizer.dispose();
      }
      const ids = { kind, batch, steps, warmup };

      const summary = counters(batch).map((c) => {
        const s = stat(records, c.value);
        csv.push({ ...ids, section: c.section, name: c.name, metric: c.unit, warmup_first: s.first, mean: s.mean, min: s.min, max: s.max });
        return [c.section, c.name, c.unit, fmt(s.first), fmt(s.mean), fmt(s.min), fmt(s.max)];
      });
      const apiMs = API_CALLS.filter((c) => c !== 'mapAsync').map((c) => {
        const calls = stat(records, api(c)).mean;
        const ms = stat(records, (r) => r.tallies.api[c].ms).mean;
        csv.push({ ...ids, section: 'host', name: `ms in ${c}`, metric: 'ms', mean: ms });
        return [c, fmt(calls), fmt(ms), calls > 0 ? fmt((1000 * ms) / calls) : '–'];
      });
      const kernels = kernelRows(records);
      for (const k of kernels) {
        csv.push({ ...ids, section: 'kernel', name: k.name, metric: 'calls', mean: k.calls });
        csv.push({ ...ids, section: 'kernel', name: k.name, metric: 'host ms (exclusive)', mean: k.ms });
        for (const col of KERNEL_COLUMNS) csv.push({ ...ids, section: 'kernel', name: k.name, metric: col.header, mean: col.value(k.api, k.bytes) });
      }
      const stages = stageRows(records);
      for (const st of stages) {
        csv.push({ ...ids, section: 'stage', name: st.name, metric: 'tfjs kernels', mean: st.kernels });
        for (const col of KERNEL_COLUMNS) csv.push({ ...ids, section: 'stage', name: st.name, metric: col.header, mean: col.value(st.api, st.bytes) });
      }
      const outside = kernels.find((k) => k.name === OUTSIDE_KERNELS);
      const listed = kernels.filter((k) => k.name !== OUTSIDE_KERNELS).slice(0, top);
      const kernelTable = [...listed, ...(outside !== undefined ? [outside] : [])].map((k) => [
        k.name, fmt(k.calls), ...KERNEL_COLUMNS.map((c) => fmt(c.value(k.api, k.bytes))), fmt(k.ms),
      ]);
      const losses = records.map((r) => r.loss.toFixed(4)).join(', ');
      md.push(
        `## ${kind}`,
        '',
        `Losses by step: ${losses}.`,
        '',
        markdownTable(['section', 'counter', 'unit', 'warm-up step 1', 'per step (mean)', 'min', 'max'], summary, ['l', 'l', 'l', 'r', 'r', 'r', 'r']),
        '',
        'Host time inside each WebGPU call per step (this host and adapter; on lavapipe the Vulkan driver is CPU code):',
        '',
        markdownTable(['call', 'calls', 'ms', 'µs per call'], apiMs, ['l', 'r', 'r', 'r']),
        '',
        `By stage (${STAGES.forward}: the model's forward pass and loss; backward + rest: the gradients, the loss read-back, disposal; ${STAGES.optimizer}: AdamW):`,
        '',
        markdownTable(['stage', 'tfjs kernels', ...KERNEL_COLUMNS.map((c) => c.header)],
          stages.map((st) => [st.name === DEFAULT_STAGE ? 'backward + rest' : st.name, fmt(st.kernels), ...KERNEL_COLUMNS.map((c) => fmt(c.value(st.api, st.bytes)))]),
          ['l', 'r', ...KERNEL_COLUMNS.map(() => 'r' as const)]),
        '',
        `Top ${listed.length} tfjs kernels by calls per step (of ${kernels.length - (outside !== undefined ? 1 : 0)}), with the WebGPU calls each made, ` +
          `and the calls made outside any kernel (the loss read-back):`,
        '',
        markdownTable(['kernel', 'calls', ...KERNEL_COLUMNS.map((c) => c.header), 'host ms'], kernelTable, ['l', ...KERNEL_COLUMNS.map(() => 'r' as const), 'r', 'r']),
        '',
      );
      if (times !== null) {
        for (const k of times.kernels) {
          csv.push({ ...ids, section: 'kernel-gpu', name: k.name, metric: 'gpu ms (tf.profile step)', mean: k.ms });
          csv.push({ ...ids, section: 'kernel-gpu', name: k.name, metric: 'costliest call ms', mean: k.maxMs });
        }
        const timed = times.kernels.reduce((s, k) => s + k.ms, 0);
        md.push(
          `GPU time per tfjs kernel over one extra step under tf.profile (timestamp queries; ${times.timestampQuery ? `${fmt(timed)} ms in all` : '**this adapter has no timestamp-query: every time is 0, run on a GPU**'}; ` +
            'the WGSL attention kernels record outside tfjs programs and are not timed here):',
          '',
          markdownTable(['kernel', 'calls', 'GPU ms', 'share', 'costliest call ms', 'its input shapes'],
            times.kernels.slice(0, top).map((k) => [k.name, k.calls, fmt(k.ms), timed > 0 ? `${((100 * k.ms) / timed).toFixed(1)} %` : '–', fmt(k.maxMs), k.maxShapes]),
            ['l', 'r', 'r', 'r', 'r', 'l']),
          '',
        );
      }
      console.log(`${kind}: ${fmt(stat(records, kernelCalls).mean)} tfjs kernels, ${fmt(stat(records, api('dispatchWorkgroups')).mean)} dispatches per step, ${fmt(stat(records, (r) => (1000 * batch) / r.wallMs).mean)} img/s`);
    }
  } finally {
    counter.uninstall();
  }

  for (const [name, value] of Object.entries(flagValues)) csv.push({ kind: '', batch, steps, warmup, section: 'flag', name, metric: 'value', mean: String(value) });
  md.push('## tfjs webgpu flags in effect', '', markdownTable(['flag', 'value'], Object.entries(flagValues).map(([n, v]) => [n, String(v)])), '');

  const out = path.resolve(args.out);
  writeCsv(path.join(out, 'webgpu_step_profile.csv'), csv, ['kind', 'batch', 'steps', 'warmup', 'section', 'name', 'metric', 'warmup_first', 'mean', 'min', 'max']);
  const text = md.join('\n');
  writeFileAtomic(path.join(out, 'webgpu_step_profile.md'), text);
  console.log(`\n${text}\nwrote ${path.join(out, 'webgpu_step_profile.csv')} and webgpu_step_profile.md`);
});
