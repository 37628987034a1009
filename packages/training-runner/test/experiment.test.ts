import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsv } from '@sigattn/common';
import { initBackend } from '@sigattn/kernel-core';
import { AdamW, createModel } from '@sigattn/model-zoo';
import { openInitCheckpoint, readCheckpointState, runExperiment, saveCheckpoint } from '../src/index.js';
import { REPO_CONFIGS, tempDirs, writeImageFixture } from './fixtures.js';

const temps = tempDirs();
const quickstart = join(REPO_CONFIGS, 'quickstart.yaml');
let data = '';
let out = '';

beforeAll(async () => {
  await initBackend('wasm');
  data = temps.make('sigattn-fixture-');
  writeImageFixture(data, 640, 200, 1);
  out = temps.make('sigattn-results-');
});
afterAll(temps.cleanup);

const base = () => [`data.path=${data}`, `output=${out}`, 'data.trainLimit=0', 'train.epochs=2', 'train.batchSize=64', 'model.dim=32', 'train.warmupSteps=5'];
const quiet = { log: () => {} };
const unit = (variant: string, seed: number) => join(out, 'quickstart', variant, `seed-${seed}`);

describe('a sweep of variants × seeds', () => {
  it('2 variants × 2 seeds train 4 resumable units, and the summary shows mean ± std over seeds', async () => {
    const logs: string[] = [];
    const result = await runExperiment(quickstart, { overrides: [...base(), 'seeds=[0, 1]'], log: (l) => logs.push(l) });
    for (const v of ['softmax', 'sigmoid']) for (const s of [0, 1]) expect(existsSync(join(unit(v, s), 'checkpoint', 'state.json')), `${v}/${s}`).toBe(true);
    const rows = readCsv(join(out, 'quickstart', 'metrics.csv'));
    expect(rows.map((r) => `${r.variant}:${r.seed}:${r.epoch}`)).toEqual([
      'softmax:0:1', 'softmax:0:2', 'softmax:1:1', 'softmax:1:2', 'sigmoid:0:1', 'sigmoid:0:2', 'sigmoid:1:1', 'sigmoid:1:2',
    ]);
    // Different seeds draw different initialisations and batch orders.
    expect(rows[1].train_loss).not.toBe(rows[3].train_loss);
    // The fixture is easy: every unit learns it far above chance (10 %).
    for (const r of rows.filter((x) => x.epoch === 2)) expect(Number(r.test_accuracy), `${r.variant}/${r.seed}`).toBeGreaterThan(0.5);
    expect(result.table).toMatch(/\| variant \| seeds \| epochs \| test accuracy \(%\) \| test loss \| final train loss \| wall time \/ unit \|/);
    expect(result.table).toMatch(/\| softmax \| 0, 1 \| 2 \| \d+\.\d\d ± \d+\.\d\d \|/);
    expect(readFileSync(join(out, 'quickstart', 'summary.md'), 'utf8')).toContain(result.table);
    const svg = readFileSync(join(out, 'quickstart', 'curves.svg'), 'utf8');
    expect(svg.match(/<polyline/g)).toHaveLength(6); // 3 panels × 2 variants
    expect(svg).toContain('test accuracy (%)');
    expect(readFileSync(join(unit('sigmoid', 1), 'config.yaml'), 'utf8')).toMatch(/seed: 1[\s\S]*kind: sigmoid/);
  });

  it('a finished unit is not retrained; a larger epoch budget continues it; a display-only key does not block resuming', async () => {
    const logs: string[] = [];
    await runExperiment(quickstart, { overrides: [...base(), 'seeds=[0, 1]', 'train.logEvery=3'], log: (l) => logs.push(l) });
    expect(logs.filter((l) => /epoch \d\/2 /.test(l))).toEqual([]);
    const more: string[] = [];
    await runExperiment(quickstart, { overrides: [...base(), 'seeds=[0, 1]', 'train.epochs=3'], variants: ['sigmoid'], seeds: [1], log: (l) => more.push(l) });
    expect(more.some((l) => l.includes('[sigmoid seed 1] resuming'))).toBe(true);
    expect(readCsv(join(unit('sigmoid', 1), 'metrics.csv')).map((r) => r.epoch)).toEqual([1, 2, 3]);
    expect(readCsv(join(unit('sigmoid', 0), 'metrics.csv')).map((r) => r.epoch)).toEqual([1, 2]);
  });

  it('refuses to resume a checkpoint of a config that trains differently', async () => {
    await expect(runExperiment(quickstart, { overrides: [...base(), 'train.lr=0.001'], variants: ['softmax'], ...quiet })).rejects.toThrow(
      /seed-0\/checkpoint: holds a checkpoint of a different config.*--fresh/,
    );
  });

  it('--fresh checks the data first and then restarts only the selected units', async () => {
    const softmaxState = statSync(join(unit('softmax', 0), 'checkpoint', 'state.json')).mtimeMs;
    await expect(runExperiment(quickstart, { overrides: [...base(), `data.path=${join(data, 'nope')}`], fresh: true, variants: ['sigmoid'], ...quiet })).rejects.toThrow(/nope/);
    expect(existsSync(join(unit('sigmoid', 0), 'checkpoint', 'state.json'))).toBe(true);
    await runExperiment(quickstart, { overrides: [...base(), 'train.epochs=1'], fresh: true, variants: ['sigmoid'], ...quiet });
    expect(readCsv(join(unit('sigmoid', 0), 'metrics.csv')).map((r) => r.epoch)).toEqual([1]);
    expect(statSync(join(unit('softmax', 0), 'checkpoint', 'state.json')).mtimeMs).toBe(softmaxState);
    expect(readCsv(join(unit('softmax', 1), 'metrics.csv'))).toHaveLength(2);
  });

  it('a truncated tensors file is named, with the fix', async () => {
    const state = readCheckpointState(join(unit('softmax', 1), 'checkpoint'));
    const file = join(unit('softmax', 1), 'checkpoint', state?.tensorsFile ?? '');
    truncateSync(file, 100);
    await expect(runExperiment(quickstart, { overrides: [...base(), 'seeds=[0, 1]', 'train.epochs=3'], variants: ['softmax'], seeds: [1], ...quiet })).rejects.toThrow(
      /tensors-epoch2\.bin: checkpoint tensors file is 100 bytes, state\.json needs \d+ \(truncated or corrupt\); rerun this unit with --fresh/,
    );
  });

  it('a diverging run stops with one line naming variant, seed, epoch and step, and writes no checkpoint', async () => {
    const outNan = temps.make('sigattn-nan-');
    const err = await runExperiment(quickstart, { overrides: [...base(), `output=${outNan}`, 'train.lr=1e12', 'train.schedule=constant'], variants: ['softmax'], ...quiet }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^\[softmax\] training diverged at epoch 1 step \d+: loss (NaN|Infinity); the last good checkpoint \(epoch 0\)/);
    expect((err as Error).message).not.toContain('\n');
    expect(existsSync(join(outNan, 'quickstart', 'softmax', 'seed-0', 'checkpoint', 'state.json'))).toBe(false);
  });

  it('--jobs 2 runs units in child processes with the same results layout', async () => {
    const outJobs = temps.make('sigattn-jobs-');
    const logs: string[] = [];
    const result = await runExperiment(quickstart, { overrides: [...base(), `output=${outJobs}`, 'train.epochs=1', 'data.trainLimit=128'], jobs: 2, log: (l) => logs.push(l) });
    expect(logs.some((l) => l.startsWith('(softmax/seed-0) '))).toBe(true);
    expect(logs.some((l) => l.startsWith('(sigmoid/seed-0) '))).toBe(true);
    expect(result.rows.map((r) => r.variant)).toEqual(['softmax', 'sigmoid']);
  }, 120_000);
});

describe('weight hand-off', () => {
  it('loads a finished run into a fresh model by name, and names a tensor whose shape differs', async () => {
    const dir = temps.make('sigattn-ckpt-');
    const cfg = { imageSize: 28, channels: 1, patchSize: 7, dim: 16, depth: 1, heads: 2, mlpRatio: 2, classes: 10, attention: { kind: 'sigmoid' } };
    const a = createModel('vit', cfg, 1);
    const opt = new AdamW(a.trainableEntries(), { lr: 1e-3 });
    await saveCheckpoint(dir, a, opt, { configHash: 'x', epochsDone: 1, epochsPlanned: 1, steps: 1, wallSeconds: 0, metrics: [] });
    const state = readCheckpointState(dir);
    expect(state?.spec).toMatchObject({ name: 'vit', dim: 16 });
    const b = createModel('vit', cfg, 2);
    const init = openInitCheckpoint(dir, state as NonNullable<typeof state>);
    init.load(b.params.entries());
    const [wa, wb] = [a.params.entries()[0][1], b.params.entries()[0][1]];
    expect(Array.from(await wb.data())).toEqual(Array.from(await wa.data()));
    const wide = createModel('vit', { ...cfg, dim: 24, heads: 2 }, 3);
    expect(() => init.load(wide.params.entries())).toThrow(/backbone tensor \S+ has shape \[[\d, ]+\] in the checkpoint but \[[\d, ]+\] in this model/);
    tf.dispose([a.params.entries().map(([, v]) => v)]);
    opt.dispose();
  });

  it('a missing init.from run is an error naming the path and the command that produces it, before anything is written', async () => {
    const outInit = temps.make('sigattn-init-');
    const cfgFile = join(outInit, 'probe.yaml');
    writeFileSync(cfgFile, `extends: ${join(REPO_CONFIGS, 'base.yaml')}\nname: p\noutput: ${outInit}\ndata: { path: ${data} }\ninit: { from: 'results/mae-probe/{variant}' }\n`);
    await expect(runExperiment(cfgFile, quiet)).rejects.toThrow(/init\.from: no finished run at results\/mae-probe\/default .*npx nx run experiments:mae-probe/);
    expect(existsSync(join(outInit, 'p'))).toBe(false);
  });
});
