import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '@sigattn/common';
import { loadPlan } from '@sigattn/training-runner';
import { collectExperiment } from '../run-table.js';
import { loadTables, renderPlots, renderResults, type CsvRow } from '../results.js';

let tmp: { path: string; remove: () => void };
beforeEach(() => {
  tmp = makeTempDir('sigattn-run-table-');
});
afterEach(() => tmp.remove());

const BASE = resolve('configs/base.yaml');

/** A plan of 2 variants × 2 seeds (3 epochs), optionally with stages. */
function plan(stages = '') {
  const file = join(tmp.path, 'table.yaml');
  writeFileSync(file, `extends: ${BASE}\nname: table\nseeds: [0, 1]\ntrain: { epochs: 3 }\nvariants:\n  a: {}\n  b: {}\n${stages}`);
  return loadPlan(file, [`output=${tmp.path}`]);
}

const rows = (variant: string, seeds: number[], epochs: number, value: number, stage?: string): CsvRow[] =>
  seeds.flatMap((seed) =>
    Array.from({ length: epochs }, (_, i) => ({ variant, seed, ...(stage ? { stage } : {}), epoch: i + 1, metric: value + i, epoch_s: 10 })),
  );

describe('collectExperiment', () => {
  it('takes every finished unit in plan order and reports none missing', () => {
    const results = [...rows('b', [1, 0], 3, 5), ...rows('a', [0, 1], 3, 1)];
    const { rows: out, missing } = collectExperiment(plan(), results, [], { variants: [], maxEpoch: Infinity });
    expect(missing).toEqual([]);
    expect(out.map((r) => `${r.variant}${r.seed}${r.epoch}`).slice(0, 4)).toEqual(['a01', 'a02', 'a03', 'a11']);
    expect(out).toHaveLength(12);
  });

  it('names the units that have not reached their last epoch', () => {
    const results = [...rows('a', [0, 1], 3, 1), ...rows('b', [0], 2, 5)];
    const { missing } = collectExperiment(plan(), results, [], { variants: [], maxEpoch: Infinity });
    expect(missing).toEqual(['table/b/seed-0', 'table/b/seed-1']);
  });

  it('with --max-epoch keeps epochs up to it and counts a unit at that epoch as finished', () => {
    const results = [...rows('a', [0, 1], 3, 1), ...rows('b', [0, 1], 2, 5)];
    const { rows: out, missing } = collectExperiment(plan(), results, [], { variants: [], maxEpoch: 2 });
    expect(missing).toEqual([]);
    expect(Math.max(...out.map((r) => Number(r.epoch)))).toBe(2);
  });

  it('with --variant replaces that variant and keeps the committed rows of the others', () => {
    const committed = [...rows('a', [0, 1], 3, 1), ...rows('b', [0, 1], 3, 5)];
    const results = rows('b', [0, 1], 3, 100);
    const { rows: out } = collectExperiment(plan(), results, committed, { variants: ['b'], maxEpoch: Infinity });
    expect(out.filter((r) => r.variant === 'a').map((r) => r.metric)).toEqual(committed.filter((r) => r.variant === 'a').map((r) => r.metric));
    expect(out.filter((r) => r.variant === 'b').every((r) => Number(r.metric) >= 100)).toBe(true);
    expect(out).toHaveLength(12);
  });

  it('checks every stage of a staged experiment', () => {
    const p = plan('stages:\n  pre: { train: { epochs: 2 } }\n  probe: {}\n');
    const results = [...rows('a', [0, 1], 2, 1, 'pre'), ...rows('a', [0, 1], 3, 1, 'probe'), ...rows('b', [0, 1], 2, 1, 'pre')];
    const { missing } = collectExperiment(p, results, [], { variants: [], maxEpoch: Infinity });
    expect(missing).toEqual(['table/b/seed-0/probe', 'table/b/seed-1/probe']);
  });
});

describe('RESULTS.md', () => {
  it('and its plots are what the generator makes from the committed tables (regenerate with npx nx run experiments:results)', () => {
    const tables = loadTables('experiments/paper');
    const expected = [{ path: 'RESULTS.md', svg: renderResults(tables, resolve('.')) }, ...renderPlots(tables)];
    const stale = expected.filter((f) => !existsSync(f.path) || readFileSync(f.path, 'utf8') !== f.svg).map((f) => f.path);
    expect(stale, 'stale: run npx nx run experiments:results and commit the files').toEqual([]);
  });
});
