/**
 * One paper table, end to end: `npx nx run experiments:paper-<table>` (`tsx experiments/paper/run-table.ts <table>`).
 *
 * 1. Trains every experiment that experiments/paper/<table>/meta.yaml lists under `experiments:` (each a
 *    configs/experiments/<name>.yaml; finished units are skipped and unfinished ones resume, as the
 *    runner always does).
 * 2. Collects them into the table folder: `<name>.csv` (every unit's metrics rows, as the runner's
 *    experiment-level metrics.csv), `<name>.config.yaml` (the resolved experiment config) and run.json
 *    (date, machine, wall time, summed unit time, units still missing).
 *
 * `--collect-only` skips training (e.g. results brought back from another machine, with --results,
 * --machine and --date saying where they came from). `--variant` limits both steps to some variants and
 * keeps the table's other rows: that is how a variant is added to a finished table. `--max-epoch k` keeps
 * epochs ≤ k (a run stopped early, reported as such in the table's summary).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cli, ConfigError, DataError, readCsv, runMain, writeCsv, writeFileAtomic } from '@sigattn/common';
import { collectRows, loadPlan, runExperiment, selectUnits, unitConfig, type ExperimentPlan } from '@sigattn/training-runner';
import { machineDescription, parseMeta, type CsvRow } from './results.js';

const PAPER_DIR = 'experiments/paper';
const CONFIG_DIR = 'configs/experiments';

/** A unit of a table: `<experiment>/<variant>/seed-<k>[/<stage>]`, the name missing units are reported by. */
function unitName(experiment: string, variant: string, seed: number, stage: string | null): string {
  return `${experiment}/${variant}/seed-${seed}${stage === null ? '' : `/${stage}`}`;
}

/** Whether a row belongs to one of the selected variants (all when none are selected). */
const inVariants = (row: CsvRow, variants: readonly string[]) => variants.length === 0 || variants.includes(String(row.variant));

/**
 * The table CSV of one experiment: the results' rows (epochs ≤ maxEpoch) of the selected variants, plus
 * the rows of the table's other variants already committed. Returns the rows and the units that have not
 * reached their last epoch (the config's train.epochs, or maxEpoch when smaller).
 */
export function collectExperiment(
  plan: ExperimentPlan,
  resultsRows: readonly CsvRow[],
  committedRows: readonly CsvRow[],
  opts: { variants: readonly string[]; maxEpoch: number },
): { rows: CsvRow[]; missing: string[] } {
  const fresh = resultsRows.filter((r) => inVariants(r, opts.variants) && Number(r.epoch) <= opts.maxEpoch);
  const kept = committedRows.filter((r) => !inVariants(r, opts.variants));
  const rows = [...kept, ...fresh];
  const missing: string[] = [];
  for (const unit of selectUnits(plan, [], [])) {
    for (const stage of plan.stages.length > 0 ? plan.stages : [null]) {
      const want = Math.min(unitConfig(plan, unit, stage).train.epochs, opts.maxEpoch);
      const done = rows.some(
        (r) => String(r.variant) === unit.variant && Number(r.seed) === unit.seed && (stage === null || String(r.stage) === stage) && Number(r.epoch) >= want,
      );
      if (!done) missing.push(unitName(plan.name, unit.variant, unit.seed, stage));
    }
  }
  // Plan order (variant, seed, stage, epoch), so a re-collect of the same results gives the same file.
  const order = (r: CsvRow) => [plan.variants.indexOf(String(r.variant)), Number(r.seed), plan.stages.indexOf(String(r.stage ?? '')), Number(r.epoch)];
  rows.sort((a, b) => {
    const x = order(a), y = order(b);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
    return 0;
  });
  return { rows, missing };
}

async function main(): Promise<number> {
  const args = await cli('run-table')
    .command('$0 <table>', 'Train the experiments of experiments/paper/<table>/meta.yaml and collect their results into that folder.', (y) =>
      y.positional('table', { type: 'string', demandOption: true, describe: 'a folder under experiments/paper/ with a meta.yaml listing experiments:' }),
    )
    .option('jobs', { type: 'number', default: 2, describe: 'units trained at once (one process each)' })
    .option('results', { type: 'string', default: 'results', describe: 'the runs\' output folder (the configs\' output key)' })
    .option('collect-only', { type: 'boolean', default: false, describe: 'do not train; collect what is in --results' })
    .option('variant', { type: 'array', string: true, default: [] as string[], describe: 'only these variants (the table keeps its other rows)' })
    .option('max-epoch', { type: 'number', default: Infinity, describe: 'keep epochs ≤ this (a run stopped early)' })
    .option('machine', { type: 'string', describe: 'where the results were produced (default: this machine)' })
    .option('date', { type: 'string', describe: 'when (default: today)' })
    .option('wall', { type: 'number', describe: 'with --collect-only: the wall seconds the runs took where they ran' })
    .option('set', { type: 'array', string: true, default: [] as string[], describe: 'key=value overrides for every experiment (e.g. train.epochs=1)' })
    .parse();
  const table = String(args.table);
  const dir = join(PAPER_DIR, table);
  const metaFile = join(dir, 'meta.yaml');
  if (!existsSync(metaFile)) throw new ConfigError(`${metaFile}: not found; a table is a folder under ${PAPER_DIR}/ with a meta.yaml`);
  const meta = parseMeta(readFileSync(metaFile, 'utf8'), metaFile);
  if (meta.experiments.length === 0) throw new ConfigError(`${metaFile}: experiments: none listed; name the configs/experiments/<name>.yaml files that fill this table`);
  const overrides = [`output=${args.results}`, ...args.set];
  const plans = meta.experiments.map((name) => {
    const file = join(CONFIG_DIR, `${name}.yaml`);
    if (!existsSync(file)) throw new ConfigError(`${metaFile}: experiments: ${file} not found; fix the name or add the config`);
    return { name, file, plan: loadPlan(file, overrides) };
  });
  for (const v of args.variant) {
    if (!plans.some((p) => p.plan.variants.includes(v))) throw new ConfigError(`--variant ${v}: not a variant of ${meta.experiments.join(', ')}`);
  }
  const t0 = performance.now();
  if (!args['collect-only']) {
    for (const { file, plan } of plans) {
      const variants = args.variant.filter((v) => plan.variants.includes(v));
      if (args.variant.length > 0 && variants.length === 0) continue;
      await runExperiment(file, { overrides, jobs: args.jobs, variants });
    }
  }
  const wall = (performance.now() - t0) / 1000;
  const missing: string[] = [];
  let unitSeconds = 0;
  for (const { name, plan } of plans) {
    // From the unit folders, not the experiment's metrics.csv: a run stopped by a time limit never wrote the latter.
    const resultsRows = collectRows(plan) as CsvRow[];
    if (resultsRows.length === 0) throw new DataError(`${plan.dir}: no unit has results; train it first (npx nx run experiments:${name}) or point --results at the folder that has it`);
    const tableCsv = join(dir, `${name}.csv`);
    const committed = existsSync(tableCsv) ? readCsv(tableCsv) : [];
    const collected = collectExperiment(plan, resultsRows, committed, { variants: args.variant, maxEpoch: args['max-epoch'] });
    const columns = [...new Set(collected.rows.flatMap((r) => Object.keys(r)))];
    writeCsv(tableCsv, collected.rows, columns);
    const configYaml = join(plan.dir, 'config.yaml');
    if (existsSync(configYaml)) writeFileAtomic(join(dir, `${name}.config.yaml`), readFileSync(configYaml, 'utf8'));
    missing.push(...collected.missing);
    unitSeconds += collected.rows.reduce((s, r) => s + (Number(r.epoch_s) || 0), 0);
    console.log(`${tableCsv}: ${collected.rows.length} rows${collected.missing.length > 0 ? `, ${collected.missing.length} unit(s) not finished` : ''}`);
  }
  const run = {
    date: args.date ?? new Date().toISOString().slice(0, 10),
    machine: args.machine ?? machineDescription(),
    ...(args['collect-only'] ? (args.wall === undefined ? {} : { wall_seconds: Math.round(args.wall) }) : { wall_seconds: Math.round(wall) }),
    // Each unit trains in one single-threaded process, so the summed unit time is the table's CPU cost.
    cpu_seconds: Math.round(unitSeconds),
    command: `npx nx run experiments:paper-${table}`,
    ...(missing.length > 0 ? { missing } : {}),
  };
  writeFileAtomic(join(dir, 'run.json'), `${JSON.stringify(run, null, 2)}\n`);
  if (missing.length > 0) console.log(`not finished (${missing.length}): ${missing.join(', ')}; rerun to resume them`);
  console.log(`wrote ${dir}/run.json; regenerate RESULTS.md with npx nx run experiments:results`);
  return 0;
}

if (resolve(process.argv[1] ?? '') === resolve(import.meta.filename)) runMain(main);
