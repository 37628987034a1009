import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, toCsv, type Row } from '@sigattn/common';
import { evaluateClaim, loadTable, loadTables, parseMeta, renderPlot, renderPlots, renderResults } from '../results.js';

let tmp: { path: string; remove: () => void };

function writeTable(name: string, meta: string, csvs: Record<string, Row[]>, run?: object): string {
  const dir = join(tmp.path, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'meta.yaml'), meta);
  for (const [file, rows] of Object.entries(csvs)) writeFileSync(join(dir, file), toCsv(rows));
  if (run) writeFileSync(join(dir, 'run.json'), JSON.stringify(run));
  return dir;
}

/** T1-style rows: variant × seed × epoch, test_accuracy rising by 0.1 per epoch to `final[seed]` at epoch 3. */
function trainingRows(finals: Record<string, number[]>): Row[] {
  return Object.entries(finals).flatMap(([variant, perSeed]) =>
    perSeed.flatMap((acc, seed) => [1, 2, 3].map((epoch) => ({ variant, seed, epoch, test_accuracy: acc - 0.1 * (3 - epoch), train_loss: 1 / epoch }))),
  );
}

const compareMeta = (expect: string, extra = '') => `
id: T1
title: Fashion-MNIST classification
summary: Sigmoid vs softmax ViT.
views:
  - csv: metrics.csv
    final: epoch
    groupBy: [variant]
    columns:
      - { column: test_accuracy, label: test accuracy (%), digits: 2, scale: 100 }
      - train_loss
claims:
  - text: Sigmoid attention matches softmax.
    test: compare
    csv: metrics.csv
    final: epoch
    metric: test_accuracy
    direction: higher
    baseline: softmax
    candidate: sigmoid
    expect: ${expect}
${extra}`;

beforeEach(() => {
  tmp = makeTempDir('sigattn-results-');
});
afterEach(() => tmp.remove());

describe('RESULTS.md generator', () => {
  it('shows the final epoch of each seed as mean ± std, with machine and date from run.json', () => {
    writeTable('t1', compareMeta('at-least'), { 'metrics.csv': trainingRows({ softmax: [0.8, 0.82, 0.81], sigmoid: [0.81, 0.83, 0.82] }) }, { date: '2026-12-01', machine: '2 × EPYC', wall_seconds: 12.5, cpu_seconds: 11 });
    const md = renderResults(loadTables(tmp.path), tmp.path);
    // softmax final accuracies 80, 82, 81 → 81.00 ± 1.00; sigmoid 81, 83, 82 → 82.00 ± 1.00.
    expect(md).toContain('| softmax | 81.00 ± 1.00 | 0.333 |');
    expect(md).toContain('| sigmoid | 82.00 ± 1.00 | 0.333 |');
    expect(md).toContain('Mean ± std over 3 seeds');
    expect(md).toContain('Run: 2026-12-01; 2 × EPYC, 12.5 s wall, 11 s CPU.');
    expect(md).toContain('## T1 — Fashion-MNIST classification');
    expect(md).toContain('| T1 | Sigmoid attention matches softmax. | **reproduced** |');
    expect(md).toContain('Source: `t1/`');
  });

  it('compare verdicts follow the stated rule (s = pooled seed std)', () => {
    const verdict = (expect: string, softmax: number[], sigmoid: number[]) => {
      const dir = writeTable(`c-${expect}-${sigmoid.join('-')}`, compareMeta(expect), { 'metrics.csv': trainingRows({ softmax, sigmoid }) });
      const table = loadTable(dir);
      return evaluateClaim(table, table.meta.claims[0]).verdict;
    };
    // s = 0.01 in every case below (each side's std is 0.01).
    expect(verdict('at-least', [0.8, 0.81, 0.82], [0.795, 0.805, 0.815])).toBe('reproduced'); // Δ = −0.005 ≥ −s
    expect(verdict('at-least', [0.8, 0.81, 0.82], [0.785, 0.795, 0.805])).toBe('inconclusive'); // Δ = −0.015
    expect(verdict('at-least', [0.8, 0.81, 0.82], [0.77, 0.78, 0.79])).toBe('not reproduced'); // Δ = −0.03 < −2s
    expect(verdict('match', [0.8, 0.81, 0.82], [0.83, 0.84, 0.85])).toBe('not reproduced'); // |Δ| = 0.03 > 2s
    expect(verdict('better', [0.8, 0.81, 0.82], [0.83, 0.84, 0.85])).toBe('reproduced'); // Δ = 0.03 > s
    expect(verdict('better', [0.8, 0.81, 0.82], [0.805, 0.815, 0.825])).toBe('inconclusive'); // 0 < Δ ≤ s
    expect(verdict('better', [0.8, 0.81, 0.82], [0.79, 0.8, 0.81])).toBe('not reproduced'); // Δ ≤ 0
    expect(verdict('at-least', [0.8], [0.9])).toBe('inconclusive'); // one seed
  });

  it('direction lower flips the sign of Δ', () => {
    const meta = compareMeta('at-least').replace('direction: higher', 'direction: lower');
    const dir = writeTable('lower', meta, { 'metrics.csv': trainingRows({ softmax: [0.8, 0.81, 0.82], sigmoid: [0.9, 0.91, 0.92] }) });
    const table = loadTable(dir);
    const result = evaluateClaim(table, table.meta.claims[0]);
    expect(result.verdict).toBe('not reproduced');
    expect(result.evidence).toContain('Δ = -0.100 (lower is better)');
  });

  it('tolerance, bound and growth claims', () => {
    const rows = [1, 2, 3, 4].flatMap((x) => [0, 1].map((seed) => ({ x, seed, measured: 5 * x * x * (1 + 0.01 * seed), predicted: 5 * x * x, bound: 6 * x * x })));
    const meta = `
id: T6
title: Theory
views: [{ csv: theory.csv, groupBy: [x], columns: [measured] }]
claims:
  - { text: a, test: tolerance, csv: theory.csv, measured: measured, predicted: predicted, groupBy: [x], tolerance: 0.01 }
  - { text: b, test: tolerance, csv: theory.csv, measured: measured, predicted: predicted, groupBy: [x], tolerance: 0.004 }
  - { text: c, test: tolerance, csv: theory.csv, measured: measured, predicted: predicted, groupBy: [x], tolerance: 0.001 }
  - { text: d, test: bound, csv: theory.csv, measured: measured, bound: bound }
  - { text: e, test: bound, csv: theory.csv, measured: bound, bound: measured }
  - { text: f, test: growth, csv: theory.csv, x: x, y: measured, atMost: 2, tolerance: 0.1 }
  - { text: g, test: growth, csv: theory.csv, x: x, y: measured, from: 2, atLeast: 4, tolerance: 0.5 }
`;
    const table = loadTable(writeTable('t6', meta, { 'theory.csv': rows }));
    // Seed means are 5x²·1.005, so the error is 0.5 % in every group.
    expect(table.meta.claims.map((c) => evaluateClaim(table, c).verdict)).toEqual([
      'reproduced', 'inconclusive', 'not reproduced', 'reproduced', 'not reproduced', 'reproduced', 'not reproduced',
    ]);
    expect(evaluateClaim(table, table.meta.claims[0]).evidence).toContain('0.50 %');
    expect(evaluateClaim(table, table.meta.claims[5]).evidence).toContain('x^2.00');
  });

  it('ratio claims: worst or median of the per-group ratio against t − tol / t − 2·tol, t a number or one CSV cell', () => {
    // Five points; the ratio is the mean of two rows per point: 0.95, 0.97, 1.00, 1.04, 1.10 (median 1.00).
    const ratios = [0.95, 0.97, 1.0, 1.04, 1.1];
    const rows = ratios.flatMap((r, i) => [{ n: 2 ** (i + 9), seed: 0, r: r - 0.01 }, { n: 2 ** (i + 9), seed: 1, r: r + 0.01 }]);
    const reported = [{ source: 'paper, H100', pass: 'fwd', speedup: 1.17 }, { source: 'paper, H100', pass: 'bwd', speedup: 1.03 }];
    const claim = (over: string, atLeast: string, tol: number) => `  - { text: x, test: ratio, csv: speed.csv, groupBy: [n], ratio: r, over: ${over}, atLeast: ${atLeast}, tolerance: ${tol} }`;
    const meta = `id: T8\ntitle: Speed\nviews: [{ csv: speed.csv, groupBy: [n], columns: [r] }]\nclaims:\n${[
      claim('worst', '1', 0.03), // 0.95 < 0.97, ≥ 0.94 → inconclusive
      claim('worst', '1', 0.06), // 0.95 ≥ 0.94 → reproduced
      claim('worst', '1', 0.02), // 0.95 < 0.96 → not reproduced
      claim('median', '1', 0.005), // 1.00 ≥ 0.995 → reproduced
      claim('median', '{ csv: paper.csv, where: { pass: bwd }, column: speedup }', 0.02), // 0.99 ≤ 1.00 < 1.01 → inconclusive
      claim('median', '{ csv: paper.csv, where: { pass: fwd }, column: speedup }', 0.05), // 1.00 < 1.17 − 2·0.05 → not reproduced
      claim('median', '{ csv: paper.csv, where: { pass: bwd }, column: speedup }', 0.04), // 1.00 ≥ 1.03 − 0.04 → reproduced
      claim('median', '1', 0.01).replace('groupBy', 'where: { n: [512, 1024, 2048, 4096] }, groupBy'), // even count: median (0.97 + 1.00)/2 = 0.985 → inconclusive
    ].join('\n')}\n`;
    const table = loadTable(writeTable('t8', meta, { 'speed.csv': rows, 'paper.csv': reported }));
    const results = table.meta.claims.map((c) => evaluateClaim(table, c));
    expect(results.map((r) => r.verdict)).toEqual(['inconclusive', 'reproduced', 'not reproduced', 'reproduced', 'inconclusive', 'not reproduced', 'reproduced', 'inconclusive']);
    expect(results[7].evidence).toContain('median 0.985');
    expect(results[0].evidence).toContain('worst 0.950 (n = 512), median 1.000, best 1.100; ≥ 1.000 in 3 of 5');
    expect(results[4].evidence).toContain('against 1.030 = paper.csv speedup where pass = bwd, tolerance 0.020');

    const bad = (name: string, atLeast: string) => () => loadTable(writeTable(name, meta.replace(/claims:[\s\S]*/, `claims:\n${claim('median', atLeast, 0.02)}\n`), { 'speed.csv': rows, 'paper.csv': reported }));
    expect(bad('two-rows', '{ csv: paper.csv, column: speedup }')).toThrow(/two-rows\/meta\.yaml: claims\[0\]\.atLeast: expected exactly one row of paper\.csv with a number in speedup where \{\}, found 2 row\(s\)/);
    expect(bad('no-col', '{ csv: paper.csv, where: { pass: fwd }, column: speed }')).toThrow(/claims\[0\]\.atLeast: column "speed" is not in paper\.csv .*did you mean speedup\?/);
    expect(bad('no-csv', '{ csv: reported.csv, where: { pass: fwd }, column: speedup }')).toThrow(/claims\[0\]\.atLeast\.csv: reported\.csv not found/);
    expect(bad('key', '{ csv: paper.csv, where: { pass: fwd }, colum: speedup }')).toThrow(/claims\[0\]\.atLeast\.colum: unknown key \(did you mean column\?\)/);
    expect(() => parseMeta(meta.replace('over: worst', 'over: min'), 'm.yaml')).toThrow('m.yaml: claims[0].over: expected one of worst | median, found "min"');
  });

  it('plots: one line per group at the mean over seeds, from an x column or from fixed x per column; bad specs fail in one line', () => {
    const rows = trainingRows({ softmax: [0.8, 0.82, 0.81], sigmoid: [0.81, 0.83, 0.82] });
    const plots = `plots:
  - file: curves.svg
    title: accuracy
    csv: metrics.csv
    groupBy: [variant]
    panels:
      - { label: test accuracy (%), x: epoch, column: test_accuracy, scale: 100 }
  - file: final.svg
    title: final
    csv: metrics.csv
    final: epoch
    groupBy: [variant]
    panels:
      - { label: final, logX: true, points: [{ x: 1, column: test_accuracy }, { x: 4, column: train_loss }] }
`;
    const dir = writeTable('t1', compareMeta('at-least').replace('claims:', `${plots}claims:`), { 'metrics.csv': rows });
    const table = loadTable(dir);
    const line = (svg: string, i: number) => [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)][i][1].split(' ').map((p) => p.split(',').map(Number));
    const curves = renderPlot(table, table.meta.plots[0]);
    // softmax: epoch means 61, 71, 81 (%) → three equally spaced x, y falling on screen as accuracy rises.
    const soft = line(curves, 0);
    expect(soft).toHaveLength(3);
    expect(soft[1][0] - soft[0][0]).toBeCloseTo(soft[2][0] - soft[1][0], 5);
    expect(soft[0][1]).toBeGreaterThan(soft[2][1]);
    const fin = renderPlot(table, table.meta.plots[1]);
    expect(line(fin, 0)).toHaveLength(2);
    expect(renderResults([table], tmp.path)).toContain('![accuracy](t1/curves.svg)');
    expect(renderPlots([table]).map((p) => p.path)).toEqual([join(dir, 'curves.svg'), join(dir, 'final.svg')]);
    const bad = (name: string, text: string) => () => loadTable(writeTable(name, compareMeta('at-least').replace('claims:', `${text}claims:`), { 'metrics.csv': rows }));
    expect(bad('p1', plots.replace('x: epoch, column: test_accuracy', 'x: epoch'))).toThrow(/p1\/meta\.yaml: plots\[0\]\.panels\[0\]: a panel needs either x and column/);
    expect(bad('p2', plots.replace('column: test_accuracy, scale', 'column: test_acc, scale'))).toThrow(/p2\/meta\.yaml: plots\[0\]: column "test_acc" is not in metrics\.csv/);
    expect(bad('p3', plots.replace('file: curves.svg', 'file: ../curves.svg'))).toThrow(/plots\[0\]\.file: expected a plain file name ending in \.svg/);
  });

  it('orders tables by `order`, then id', () => {
    const t = (id: string, order: string) => `id: ${id}\ntitle: ${id}\n${order}views: [{ csv: a.csv, columns: [v] }]\n`;
    writeTable('b', t('T2', ''), { 'a.csv': [{ v: 1 }] });
    writeTable('a', t('T6', 'order: 6\n'), { 'a.csv': [{ v: 1 }] });
    writeTable('c', t('T1', ''), { 'a.csv': [{ v: 1 }] });
    expect(loadTables(tmp.path).map((x) => x.meta.id)).toEqual(['T6', 'T1', 'T2']);
  });

  it('bad meta.yaml fails with one line naming the file, the key and the fix', () => {
    const rows = { 'metrics.csv': trainingRows({ softmax: [0.8], sigmoid: [0.8] }) };
    const bad = (name: string, meta: string) => () => loadTable(writeTable(name, meta, rows));
    expect(bad('typo', compareMeta('at-least').replace('groupBy: [variant]', 'groupby: [variant]'))).toThrow(
      /typo\/meta\.yaml: views\[0\]\.groupby: unknown key \(did you mean groupBy\?\)/,
    );
    expect(bad('col', compareMeta('at-least').replace('metric: test_accuracy', 'metric: test_acuracy'))).toThrow(
      /col\/meta\.yaml: claims\[0\]: column "test_acuracy" is not in metrics\.csv \(columns: variant, seed, epoch, test_accuracy, train_loss\); did you mean test_accuracy\?$/,
    );
    expect(bad('csv', compareMeta('at-least').replace('  - csv: metrics.csv', '  - csv: metric.csv'))).toThrow(/csv\/meta\.yaml: views\[0\]\.csv: metric\.csv not found/);
    expect(bad('expect', compareMeta('same'))).toThrow(/claims\[0\]\.expect: expected one of at-least \| match \| better, found "same"/);
    expect(() => parseMeta('id: X\ntitle: Y\nviews: []\nclaims:\n  - { text: t, test: growth, csv: a.csv, x: a, y: b, tolerance: 1 }\n', 'm.yaml')).toThrow(
      'm.yaml: claims[0]: a growth claim needs exactly one of atMost and atLeast',
    );
    const message = (() => {
      try {
        bad('oneline', compareMeta('x'))();
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    })();
    expect(message).toMatch(/^\S+oneline\/meta\.yaml: claims\[0\]\.expect: /);
    expect(message).not.toContain('\n');
  });

  it('rejects two tables with the same id', () => {
    const t = 'id: T1\ntitle: x\nviews: [{ csv: a.csv, columns: [v] }]\n';
    writeTable('one', t, { 'a.csv': [{ v: 1 }] });
    writeTable('two', t, { 'a.csv': [{ v: 2 }] });
    expect(() => loadTables(tmp.path)).toThrow(/two\/meta\.yaml: id: "T1" is also the id of .*one\/meta\.yaml/);
  });
});
