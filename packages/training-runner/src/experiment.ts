/**
 * Runs an experiment: every selected unit (variant × seed), each stage of a unit in order, in this
 * process or in `--jobs N` child processes; then gathers every unit's metrics into
 * `<output>/<name>/{metrics.csv, summary.md, curves.svg}` and prints the summary (mean ± std over seeds).
 *
 * Nothing is written or deleted before every selected unit's config is valid and its data is present.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as toYaml } from 'yaml';
import { ConfigError, DataError, RunError, formatMeanStd, markdownTable, readCsv, writeCsv, writeFileAtomic } from '@sigattn/common';
import { initBackend } from '@sigattn/kernel-core';
import { registerCudaBackend } from '@sigattn/tfjs-backend-cuda';
import { loadPlan, selectUnits, unitConfig, unitDir, type ExperimentPlan, type UnitId } from './config/plan.js';
import type { RunConfig } from './config/run-config.js';
import { openInitCheckpoint, readCheckpointState } from './checkpoint.js';
import { trainUnit, type MetricsRow } from './loop.js';
import { curvesSvg } from './plot.js';
import { getTask } from './tasks/registry.js';
import type { InitCheckpoint, Task } from './tasks/task.js';

export interface RunOptions {
  /** `--set` overrides (dotted key=value), applied before variants. */
  overrides?: readonly string[];
  /** Restart the selected units from scratch (their directories only). */
  fresh?: boolean;
  /** Run only these variants / seeds. */
  variants?: readonly string[];
  seeds?: readonly number[];
  /** Run up to this many units at once, each in its own process. */
  jobs?: number;
  /** GPU indices handed to the units round-robin (CUDA_VISIBLE_DEVICES and SIGATTN_GPU of each child). */
  gpus?: readonly number[];
  /** Train the selected units but leave the experiment's summary files alone (what --jobs children do). */
  unitsOnly?: boolean;
  log?: (line: string) => void;
}

export interface ExperimentResult {
  dir: string;
  /** Every unit's rows found on disk (all units of the plan, not only the selected ones). */
  rows: MetricsRow[];
  table: string;
}

/**
 * The keys that change what a unit computes; resume compares only these. Left out on purpose: where
 * results go, the epoch budget (raising it continues a run), and display or evaluation-only keys.
 */
export function configHash(cfg: RunConfig): string {
  const { output: _o, name: _n, variants: _v, seeds: _s, train, ...rest } = cfg;
  const { epochs: _e, logEvery: _l, evalBatchSize: _b, ...trainRest } = train;
  return createHash('sha256').update(JSON.stringify({ ...rest, train: trainRest })).digest('hex').slice(0, 16);
}

function unitLabel(plan: ExperimentPlan, unit: UnitId, stage: string | null): string {
  const parts = [unit.variant];
  if (plan.seeds.length > 1 || unit.seed !== 0) parts.push(`seed ${unit.seed}`);
  if (stage !== null) parts.push(stage);
  return parts.join(' ');
}

/** Resolve `init.from` to a finished checkpoint: a stage of this unit, or a unit directory of another run. */
export function resolveInitDir(plan: ExperimentPlan, unit: UnitId, from: string): string {
  if (plan.stages.includes(from)) return join(unitDir(plan, unit, from), 'checkpoint');
  const path = from.replaceAll('{variant}', unit.variant).replaceAll('{seed}', String(unit.seed));
  for (const candidate of [join(path, 'checkpoint'), join(path, `seed-${unit.seed}`, 'checkpoint')]) {
    if (existsSync(join(candidate, 'state.json'))) return candidate;
  }
  const experiment = path.split('/').filter(Boolean)[1];
  throw new DataError(
    `init.from: no finished run at ${path} (looked for ${join(path, 'checkpoint', 'state.json')} and ${join(path, `seed-${unit.seed}`, 'checkpoint', 'state.json')}); ` +
      `produce it first${experiment ? `, e.g. npx nx run experiments:${experiment}` : ''}, or name a stage of this experiment (${plan.stages.join(', ') || 'it has none'})`,
  );
}

function openInit(dir: string): InitCheckpoint {
  const state = readCheckpointState(dir);
  if (state === null) throw new DataError(`init.from: ${dir} holds no checkpoint; run the experiment that produces it first`);
  if (state.epochsDone < state.epochsPlanned) {
    throw new DataError(`init.from: the run in ${dir} is unfinished (epoch ${state.epochsDone} of ${state.epochsPlanned}); finish it first (rerun its experiment)`);
  }
  return openInitCheckpoint(dir, state);
}

interface UnitPlan {
  unit: UnitId;
  stages: { stage: string | null; cfg: RunConfig; task: Task<unknown> }[];
}

/** Build and check everything before anything is written. */
function prepare(plan: ExperimentPlan, units: UnitId[]): UnitPlan[] {
  const stageNames = plan.stages.length > 0 ? plan.stages : [null];
  const checked = new Set<string>();
  return units.map((unit) => ({
    unit,
    stages: stageNames.map((stage, i) => {
      const cfg = unitConfig(plan, unit, stage);
      const task = getTask(cfg.task);
      const dataKey = `${task.name} ${JSON.stringify(cfg.data)}`;
      if (!checked.has(dataKey)) {
        task.checkData(cfg.data);
        checked.add(dataKey);
      }
      task.checkConfig?.(cfg);
      if (cfg.init.from !== '') {
        const earlier = plan.stages.slice(0, i);
        if (plan.stages.includes(cfg.init.from) && !earlier.includes(cfg.init.from)) {
          throw new ConfigError(`${plan.file}: config key stages.${stage}.init.from: stage ${cfg.init.from} does not run before ${stage}; order the stages so it does`);
        }
        if (!plan.stages.includes(cfg.init.from)) openInit(resolveInitDir(plan, unit, cfg.init.from));
      }
      return { stage, cfg, task };
    }),
  }));
}

const dataCache = new Map<string, Promise<unknown>>();

async function runUnit(plan: ExperimentPlan, up: UnitPlan, log: (line: string) => void): Promise<void> {
  for (const { stage, cfg, task } of up.stages) {
    const dir = unitDir(plan, up.unit, stage);
    const label = unitLabel(plan, up.unit, stage);
    if (cfg.backend === 'cuda') registerCudaBackend();
    await initBackend(cfg.backend);
    const init = cfg.init.from === '' ? null : openInit(resolveInitDir(plan, up.unit, cfg.init.from));
    const dataKey = `${task.name} ${JSON.stringify(cfg.data)}`;
    if (!dataCache.has(dataKey)) dataCache.set(dataKey, task.load({ cfg, seed: cfg.seed, log }));
    const data = await dataCache.get(dataKey);
    writeFileAtomic(join(dir, 'config.yaml'), toYaml(cfg));
    const ids: Record<string, string | number> = { variant: up.unit.variant, seed: up.unit.seed };
    if (stage !== null) ids.stage = stage;
    await trainUnit(cfg, task, data, {
      label,
      ids,
      checkpointDir: join(dir, 'checkpoint'),
      configHash: configHash(cfg),
      init,
      onEpoch: (rows) => writeCsv(join(dir, 'metrics.csv'), rows),
      log,
    });
  }
}

/**
 * How a child process starts the CLI: the running CLI's own node arguments and entry (so the offline
 * bundle starts itself), or, when the runner is used as a library (tests, scripts), main.ts through tsx.
 */
let cliEntry: string[] | null = null;
export function setCliEntry(args: string[]): void {
  cliEntry = args;
}
function childArgs(): string[] {
  return cliEntry ?? ['--import', 'tsx', fileURLToPath(new URL('./main.ts', import.meta.url))];
}

/** Run units in child processes, at most `jobs` at once; each child prints prefixed lines. */
async function runInChildren(file: string, opts: RunOptions, units: UnitId[], log: (line: string) => void): Promise<void> {
  const jobs = Math.max(1, opts.jobs ?? 1);
  const queue = units.map((u, i) => ({ u, gpu: opts.gpus && opts.gpus.length > 0 ? opts.gpus[i % opts.gpus.length] : undefined }));
  const failures: string[] = [];
  const runOne = ({ u, gpu }: (typeof queue)[number]) =>
    new Promise<void>((done) => {
      const args = [...childArgs(), 'run', file, '--units-only', '--variant', u.variant, '--seed', String(u.seed)];
      for (const o of opts.overrides ?? []) args.push('--set', o);
      if (opts.fresh) args.push('--fresh');
      const env = { ...process.env, ...(gpu !== undefined ? { CUDA_VISIBLE_DEVICES: String(gpu), SIGATTN_GPU: String(gpu) } : {}) };
      const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const prefix = `(${u.variant}/seed-${u.seed}) `;
      let tail = '';
      const pipe = (chunk: Buffer) => {
        const lines = (tail + chunk.toString()).split('\n');
        tail = lines.pop() ?? '';
        for (const l of lines) if (l.trim() !== '') log(prefix + l);
      };
      child.stdout.on('data', pipe);
      child.stderr.on('data', pipe);
      child.on('close', (code) => {
        if (tail.trim() !== '') log(prefix + tail);
        if (code !== 0) failures.push(`${u.variant}/seed-${u.seed} (exit ${code})`);
        done();
      });
    });
  const workers = Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) await runOne(next);
  });
  await Promise.all(workers);
  if (failures.length > 0) throw new RunError(`${failures.length} unit(s) failed: ${failures.join(', ')}; their errors are printed above; rerun to resume them`);
}

/** Every unit's metrics rows that exist on disk, in plan order. */
export function collectRows(plan: ExperimentPlan): MetricsRow[] {
  const rows: MetricsRow[] = [];
  const stageNames = plan.stages.length > 0 ? plan.stages : [null];
  for (const variant of plan.variants) {
    for (const seed of plan.seeds) {
      for (const stage of stageNames) {
        const path = join(unitDir(plan, { variant, seed }, stage), 'metrics.csv');
        if (existsSync(path)) rows.push(...(readCsv(path) as MetricsRow[]));
      }
    }
  }
  return rows;
}

/** The task of a stage, read from its first unit (the summary gives one table per stage, so it takes every variant of a stage to run the same task). */
function stageTask(plan: ExperimentPlan, stage: string | null): Task<unknown> {
  return getTask(unitConfig(plan, { variant: plan.variants[0], seed: plan.seeds[0] }, stage).task);
}

/** One markdown table per stage: each variant's last-epoch metrics as mean ± std over its seeds. */
export function summaryTables(plan: ExperimentPlan, rows: readonly MetricsRow[]): string {
  const stageNames = plan.stages.length > 0 ? plan.stages : [null];
  const out: string[] = [];
  for (const stage of stageNames) {
    const task = stageTask(plan, stage);
    const stageRows = rows.filter((r) => (stage === null ? r.stage === undefined || r.stage === '' : r.stage === stage));
    const finals = new Map<string, MetricsRow[]>();
    for (const r of stageRows) {
      const key = String(r.variant);
      const list = finals.get(key) ?? [];
      const i = list.findIndex((x) => x.seed === r.seed);
      if (i < 0) list.push(r);
      else if (Number(r.epoch) >= Number(list[i].epoch)) list[i] = r;
      finals.set(key, list);
    }
    const metricCols = task.metrics;
    const headers = ['variant', 'seeds', 'epochs', ...metricCols.map((m) => `${m.label}${m.percent ? ' (%)' : ''}`), 'final train loss', 'wall time / unit'];
    const body = plan.variants
      .filter((v) => finals.has(v))
      .map((v) => {
        const f = finals.get(v) as MetricsRow[];
        const col = (name: string) => f.map((r) => Number(r[name]));
        const epochs = [...new Set(f.map((r) => r.epoch))].join('/');
        const wall = f.map((r) => rows.filter((x) => x.variant === v && x.seed === r.seed && (stage === null || x.stage === stage)).reduce((s, x) => s + Number(x.epoch_s), 0));
        return [
          v,
          f.map((r) => r.seed).join(', '),
          epochs,
          ...metricCols.map((m) => formatMeanStd(col(m.name), m.percent ? 2 : 4, m.percent ? 100 : 1)),
          formatMeanStd(col('train_loss'), 4),
          `${formatMeanStd(wall, 1)} s`,
        ];
      });
    if (stage !== null) out.push(`### stage ${stage} (task ${task.name})\n`);
    out.push(markdownTable(headers, body), '');
  }
  return out.join('\n').trim();
}

/** Gather all units' rows into the experiment's metrics.csv, summary.md and curves.svg. */
export function writeSummary(plan: ExperimentPlan): ExperimentResult {
  const rows = collectRows(plan);
  const table = summaryTables(plan, rows);
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  writeCsv(join(plan.dir, 'metrics.csv'), rows, columns);
  writeFileAtomic(join(plan.dir, 'summary.md'), `# ${plan.name}\n\nLast epoch of each unit; mean ± sample std over seeds.\n\n${table}\n`);
  const stageNames = plan.stages.length > 0 ? plan.stages : [null];
  for (const stage of stageNames) {
    const task = stageTask(plan, stage);
    const stageRows = rows.filter((r) => (stage === null ? true : r.stage === stage));
    const panels = [{ metric: 'train_loss', label: 'train loss' }, ...task.metrics.slice(0, 2).map((m) => ({ metric: m.name, label: m.label, percent: m.percent }))];
    writeFileAtomic(join(plan.dir, stage === null ? 'curves.svg' : `curves-${stage}.svg`), curvesSvg(stageRows, `${plan.name}${stage ? ` ${stage}` : ''}`, panels));
  }
  return { dir: plan.dir, rows, table };
}

export async function runExperiment(file: string, opts: RunOptions = {}): Promise<ExperimentResult> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const plan = loadPlan(file, opts.overrides);
  const units = selectUnits(plan, opts.variants, opts.seeds);
  const prepared = prepare(plan, units);
  // Everything is valid and present: only now touch the disk.
  if (opts.fresh) for (const { unit } of prepared) rmSync(unitDir(plan, unit, null), { recursive: true, force: true });
  if (!opts.unitsOnly) {
    writeFileAtomic(join(plan.dir, 'config.yaml'), toYaml({ ...plan.tree, file: resolve(file) }));
    const stages = plan.stages.length > 0 ? ` × stages [${plan.stages.join(' → ')}]` : '';
    log(`${plan.name}: ${units.length} unit(s) = variants [${[...new Set(units.map((u) => u.variant))].join(', ')}] × seeds [${[...new Set(units.map((u) => u.seed))].join(', ')}]${stages}`);
  }
  const jobs = opts.jobs ?? 1;
  if (jobs > 1 && units.length > 1 && !opts.unitsOnly) {
    await runInChildren(file, { ...opts, fresh: false }, units, log);
  } else {
    for (const up of prepared) await runUnit(plan, up, log);
  }
  if (opts.unitsOnly) return { dir: plan.dir, rows: [], table: '' };
  const result = writeSummary(plan);
  log(`\n${result.table}\n\nresults in ${plan.dir}/: summary.md, metrics.csv, curves*.svg, config.yaml; each unit in <variant>/seed-<k>/`);
  return result;
}

/** The resolved config of every unit (and stage), for `sigattn config`. */
export function resolvedConfigs(file: string, opts: Pick<RunOptions, 'overrides' | 'variants' | 'seeds'> = {}): Record<string, RunConfig> {
  const plan = loadPlan(file, opts.overrides);
  const out: Record<string, RunConfig> = {};
  for (const unit of selectUnits(plan, opts.variants, opts.seeds)) {
    for (const stage of plan.stages.length > 0 ? plan.stages : [null]) {
      out[`${unit.variant}/seed-${unit.seed}${stage ? `/${stage}` : ''}`] = unitConfig(plan, unit, stage);
    }
  }
  return out;
}
