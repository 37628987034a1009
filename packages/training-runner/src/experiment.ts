/**
 * Runs an experiment: every variant of a config (or the config itself when it has none) with the
 * same seed and budget, then writes <output>/<name>/{config.yaml, metrics.csv, summary.md} and
 * prints the summary table. Variants resume from their checkpoints.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { initBackend } from '@sigattn/kernel-core';
import { loadFashionMnist } from '@sigattn/data';
import { variantConfig, type RunConfig } from './config/run-config.js';
import { writeFileAtomic } from '@sigattn/data';
import { summaryTable, writeMetricsCsv, type EpochMetrics, type VariantSummary } from './metrics.js';
import { curvesSvg } from './plot.js';
import { trainImageClassifier, type ImageData } from './tasks/image-classification.js';

export interface ExperimentOptions {
  /** Delete existing checkpoints and results first. */
  fresh?: boolean;
  /** Run only these variants. */
  only?: string[];
  log?: (line: string) => void;
}

export interface ExperimentResult {
  outDir: string;
  summaries: VariantSummary[];
  metrics: EpochMetrics[];
  table: string;
}

/**
 * Identity of a training run for resuming. `output` and `train.epochs` are left out on purpose:
 * moving results or raising the epoch budget continues the same run instead of discarding it.
 */
export function configHash(cfg: RunConfig): string {
  const { output: _output, train, ...rest } = cfg;
  const { epochs: _epochs, ...trainRest } = train;
  return createHash('sha256').update(JSON.stringify({ ...rest, train: trainRest })).digest('hex').slice(0, 16);
}

function loadImageData(cfg: RunConfig): ImageData {
  const { path, trainLimit, testLimit } = cfg.data;
  return {
    train: loadFashionMnist('train', path, trainLimit || undefined),
    test: loadFashionMnist('test', path, testLimit || undefined),
  };
}

export async function runExperiment(run: RunConfig, opts: ExperimentOptions = {}): Promise<ExperimentResult> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const outDir = join(run.output, run.name);
  const allVariants = Object.keys(run.variants);
  const names = opts.only ?? (allVariants.length > 0 ? allVariants : [run.name]);
  const configs = names.map((v) => (allVariants.length > 0 ? variantConfig(run, v) : run));
  if (opts.fresh) rmSync(outDir, { recursive: true, force: true });

  const data = loadImageData(run);
  const backend = await initBackend(run.backend);
  log(`${run.name}: ${names.length} variant(s) [${names.join(', ')}] on tfjs ${backend}; ${data.train.count} train / ${data.test.count} test images`);
  writeFileAtomic(
    join(outDir, 'config.yaml'),
    toYaml({ ...run, resolved: Object.fromEntries(names.map((n, i) => [n, configs[i]])) }),
  );

  const metrics: EpochMetrics[] = [];
  const summaries: VariantSummary[] = [];
  for (const [i, variant] of names.entries()) {
    const cfg = configs[i];
    const done = metrics.slice();
    const result = await trainImageClassifier(cfg, data, {
      variant,
      checkpointDir: join(outDir, variant, 'checkpoint'),
      configHash: configHash(cfg),
      onEpoch: (rows) => writeMetricsCsv(join(outDir, 'metrics.csv'), [...done, ...rows]),
      log,
    });
    summaries.push(result.summary);
    metrics.push(...result.metrics);
    writeMetricsCsv(join(outDir, 'metrics.csv'), metrics);
  }
  const table = summaryTable(summaries);
  writeFileAtomic(join(outDir, 'summary.md'), `# ${run.name}\n\n${table}\n`);
  writeFileAtomic(join(outDir, 'curves.svg'), curvesSvg(metrics, run.name));
  log(`\n${table}\n\nresults in ${outDir}/: metrics.csv, config.yaml, summary.md, curves.svg`);
  return { outDir, summaries, metrics, table };
}
