/**
 * RESULTS.md from committed CSVs: every folder experiments/paper/<table>/ with a meta.yaml is one table.
 * meta.yaml says what to show and which claims to check; every number in RESULTS.md is computed here from
 * the CSVs (mean ± std across seeds), never typed. See experiments/paper/README.md for the meta.yaml keys.
 *
 * Verdicts (the rules are printed in RESULTS.md too; s = pooled seed std = √((s_a² + s_b²)/2)):
 *   compare    Δ = candidate − baseline on the final epoch of each seed, signed so that Δ > 0 is better.
 *              at-least (matches or beats): reproduced if Δ ≥ −s, not reproduced if Δ < −2s, else inconclusive.
 *              match (two-sided):           reproduced if |Δ| ≤ s, not reproduced if |Δ| > 2s, else inconclusive.
 *              better:                      reproduced if Δ > s,  not reproduced if Δ ≤ 0,     else inconclusive.
 *              Fewer than 2 seeds on either side: inconclusive.
 *   tolerance  per group, e = |mean(measured)/mean(predicted) − 1|; worst e ≤ tol reproduced, > 2·tol not, else inconclusive.
 *   bound      every row's measured ≤ bound: reproduced, else not reproduced.
 *   growth     p = least-squares slope of log(seed-mean y) on log x over x ≥ from;
 *              at-most e: reproduced if p ≤ e + tol, not reproduced if p > e + 2·tol; at-least e mirrored.
 *   ratio      r = the worst (smallest) or the median of a ratio column over the selected groups (each group's
 *              mean), t = the threshold (a number or one cell of a CSV, e.g. the paper's reported speed-up):
 *              reproduced if r ≥ t − tol, not reproduced if r < t − 2·tol, else inconclusive. For measurements
 *              without seeds (kernel timings); tol is the run-to-run spread of the ratio.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { closestName, ConfigError, lineChartSvg, markdownTable, meanStd, median, readCsv, type ChartSeries } from '@sigattn/common';

export type Cell = string | number;
export type CsvRow = Record<string, Cell>;
export type Verdict = 'reproduced' | 'not reproduced' | 'inconclusive';

export interface ColumnSpec {
  column: string;
  label: string;
  digits: number;
  scale: number;
}

export interface RowSelection {
  csv: string;
  /** column → allowed value(s). */
  where: Record<string, Cell[]>;
  /** Keep, per group and seed, only the row with the largest value of this column (e.g. epoch). */
  final: string | null;
}

export interface ViewSpec extends RowSelection {
  caption: string;
  groupBy: string[];
  columns: ColumnSpec[];
}

/** One number from a CSV of the table: the single row matching `where`, its `column`. */
export interface CsvLookup {
  csv: string;
  where: Record<string, Cell[]>;
  column: string;
}

/** One panel of a plot: y = `column` against the row's `x` column, or against fixed x values of several columns. */
export interface PlotPanelSpec {
  label: string;
  xLabel: string;
  logX: boolean;
  scale: number;
  /** Either a column giving x per row (e.g. epoch) and the y column … */
  x: string | null;
  column: string | null;
  /** … or one point per listed column at its fixed x (e.g. perplexity at ×1, ×2, ×4, ×8). */
  points: { x: number; column: string }[];
}

export interface PlotSpec extends RowSelection {
  /** The SVG's file name in the table folder. */
  file: string;
  title: string;
  /** One line per group (mean over seeds and any other rows of the group at the same x). */
  groupBy: string[];
  panels: PlotPanelSpec[];
}

export type ClaimTest =
  | { test: 'compare'; metric: string; direction: 'higher' | 'lower'; variantColumn: string; baseline: string; candidate: string; expect: 'at-least' | 'match' | 'better'; digits: number; scale: number }
  | { test: 'tolerance'; measured: string; predicted: string; tolerance: number; groupBy: string[] }
  | { test: 'bound'; measured: string; bound: string }
  | { test: 'growth'; x: string; y: string; from: number; atMost: number | null; atLeast: number | null; tolerance: number }
  | { test: 'ratio'; ratio: string; groupBy: string[]; over: 'worst' | 'median'; atLeast: number | CsvLookup; tolerance: number; digits: number };

export type ClaimSpec = RowSelection & { text: string } & ClaimTest;

export interface TableMeta {
  id: string;
  title: string;
  order: number;
  summary: string;
  command: string;
  machine: string;
  date: string;
  seedColumn: string;
  /** The configs/experiments/<name>.yaml files whose runs fill this table (run-table.ts runs and collects them). */
  experiments: string[];
  /** Units the table's configs define whose results are not in the CSVs yet (run.json's `missing`). */
  missing: string[];
  /** run.json's measured cost: summed unit (CPU) seconds and wall seconds, where recorded. */
  cpuSeconds: number | null;
  wallSeconds: number | null;
  plots: PlotSpec[];
  views: ViewSpec[];
  claims: ClaimSpec[];
}

export interface LoadedTable {
  dir: string;
  meta: TableMeta;
  csvs: Record<string, CsvRow[]>;
}

export interface ClaimResult {
  text: string;
  verdict: Verdict;
  evidence: string;
}

/** This machine, as run.json's `machine` records it: core count × CPU model, Node version, platform. */
export function machineDescription(): string {
  const cpu = cpus();
  return `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, ${process.platform}`;
}

// ───────────────────────────── meta.yaml reading, with one-line errors ─────────────────────────────

type Tree = Record<string, unknown>;

class MetaReader {
  constructor(readonly file: string) {}

  fail(key: string, message: string): never {
    throw new ConfigError(`${this.file}: ${key}: ${message}`);
  }

  obj(v: unknown, key: string): Tree {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(key, `expected a mapping, found ${JSON.stringify(v)}`);
    return v as Tree;
  }

  known(t: Tree, key: string, keys: readonly string[]): void {
    for (const k of Object.keys(t)) {
      if (!keys.includes(k)) {
        const hint = closestName(k, keys);
        this.fail(`${key}${key ? '.' : ''}${k}`, `unknown key${hint ? ` (did you mean ${hint}?)` : ''}; known keys: ${keys.join(', ')}`);
      }
    }
  }

  str(t: Tree, k: string, key: string, fallback?: string): string {
    const v = t[k];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'string' || v === '') this.fail(`${key}${k}`, `expected a non-empty string, found ${JSON.stringify(v)}`);
    return v;
  }

  num(t: Tree, k: string, key: string, fallback?: number): number {
    const v = t[k];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`${key}${k}`, `expected a number, found ${JSON.stringify(v)}`);
    return v;
  }

  strList(t: Tree, k: string, key: string): string[] {
    const v = t[k] ?? [];
    if (!Array.isArray(v) || v.some((e) => typeof e !== 'string')) this.fail(`${key}${k}`, `expected a list of column names, found ${JSON.stringify(v)}`);
    return v as string[];
  }

  oneOf<T extends string>(t: Tree, k: string, key: string, options: readonly T[], fallback?: T): T {
    const v = t[k] ?? fallback;
    if (typeof v !== 'string' || !options.includes(v as T)) this.fail(`${key}${k}`, `expected one of ${options.join(' | ')}, found ${JSON.stringify(t[k])}`);
    return v as T;
  }

  selection(t: Tree, key: string): RowSelection {
    const where: Record<string, Cell[]> = {};
    const w = t.where === undefined ? {} : this.obj(t.where, `${key}where`);
    for (const [col, v] of Object.entries(w)) {
      const list = Array.isArray(v) ? v : [v];
      if (list.some((e) => typeof e !== 'string' && typeof e !== 'number')) this.fail(`${key}where.${col}`, `expected a value or a list of values, found ${JSON.stringify(v)}`);
      where[col] = list as Cell[];
    }
    return { csv: this.str(t, 'csv', key), where, final: t.final === undefined ? null : this.str(t, 'final', key) };
  }

  columns(v: unknown, key: string): ColumnSpec[] {
    if (!Array.isArray(v) || v.length === 0) this.fail(key, `expected a list of columns (names or { column, label, digits, scale }), found ${JSON.stringify(v)}`);
    return v.map((c, i) => {
      const at = `${key}[${i}]`;
      if (typeof c === 'string') return { column: c, label: c, digits: 3, scale: 1 };
      const t = this.obj(c, at);
      this.known(t, at, ['column', 'label', 'digits', 'scale']);
      const column = this.str(t, 'column', `${at}.`);
      return { column, label: this.str(t, 'label', `${at}.`, column), digits: this.num(t, 'digits', `${at}.`, 3), scale: this.num(t, 'scale', `${at}.`, 1) };
    });
  }
}

function readPlot(r: MetaReader, v: unknown, key: string): PlotSpec {
  const t = r.obj(v, key);
  r.known(t, key, ['file', 'title', 'csv', 'where', 'final', 'groupBy', 'panels']);
  const file = r.str(t, 'file', `${key}.`);
  if (!/^[a-z0-9][a-z0-9-]*\.svg$/.test(file)) r.fail(`${key}.file`, `expected a plain file name ending in .svg (lower-case, digits, dashes), found ${JSON.stringify(file)}`);
  const panels = (Array.isArray(t.panels) && t.panels.length > 0 ? t.panels : r.fail(`${key}.panels`, `expected a non-empty list of panels, found ${JSON.stringify(t.panels)}`)).map((pv, i) => {
    const at = `${key}.panels[${i}]`;
    const pt = r.obj(pv, at);
    r.known(pt, at, ['label', 'xLabel', 'logX', 'scale', 'x', 'column', 'points']);
    const points = pt.points === undefined ? [] : (Array.isArray(pt.points) ? pt.points : r.fail(`${at}.points`, 'expected a list of { x, column }')).map((q, j) => {
      const qt = r.obj(q, `${at}.points[${j}]`);
      r.known(qt, `${at}.points[${j}]`, ['x', 'column']);
      return { x: r.num(qt, 'x', `${at}.points[${j}].`), column: r.str(qt, 'column', `${at}.points[${j}].`) };
    });
    const x = pt.x === undefined ? null : r.str(pt, 'x', `${at}.`);
    const column = pt.column === undefined ? null : r.str(pt, 'column', `${at}.`);
    const byColumn = x !== null && column !== null && points.length === 0;
    const byPoints = x === null && column === null && points.length > 0;
    if (!byColumn && !byPoints) {
      r.fail(at, 'a panel needs either x and column (a column of x values and the y column) or points (a list of { x, column })');
    }
    const logX = pt.logX === undefined ? false : pt.logX === true ? true : pt.logX === false ? false : r.fail(`${at}.logX`, `expected true or false, found ${JSON.stringify(pt.logX)}`);
    return { label: r.str(pt, 'label', `${at}.`), xLabel: r.str(pt, 'xLabel', `${at}.`, x ?? 'x'), logX, scale: r.num(pt, 'scale', `${at}.`, 1), x, column, points };
  });
  return { ...r.selection(t, `${key}.`), file, title: r.str(t, 'title', `${key}.`), groupBy: r.strList(t, 'groupBy', `${key}.`), panels };
}

const CLAIM_KEYS: Record<ClaimTest['test'], readonly string[]> = {
  compare: ['metric', 'direction', 'variantColumn', 'baseline', 'candidate', 'expect', 'digits', 'scale'],
  tolerance: ['measured', 'predicted', 'tolerance', 'groupBy'],
  bound: ['measured', 'bound'],
  growth: ['x', 'y', 'from', 'atMost', 'atLeast', 'tolerance'],
  ratio: ['ratio', 'groupBy', 'over', 'atLeast', 'tolerance', 'digits'],
};

export function parseMeta(text: string, file: string, run: Tree = {}): TableMeta {
  const r = new MetaReader(file);
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${file}: invalid YAML: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`);
  }
  const t = r.obj(data, '(top level)');
  r.known(t, '', ['id', 'title', 'order', 'summary', 'command', 'machine', 'date', 'seedColumn', 'experiments', 'views', 'plots', 'claims']);
  const views = (Array.isArray(t.views) ? t.views : r.fail('views', `expected a list of views, found ${JSON.stringify(t.views)}`)).map((v, i) => {
    const key = `views[${i}]`;
    const vt = r.obj(v, key);
    r.known(vt, key, ['csv', 'where', 'final', 'caption', 'groupBy', 'columns']);
    return { ...r.selection(vt, `${key}.`), caption: r.str(vt, 'caption', `${key}.`, ''), groupBy: r.strList(vt, 'groupBy', `${key}.`), columns: r.columns(vt.columns, `${key}.columns`) };
  });
  const claims = (t.claims === undefined ? [] : Array.isArray(t.claims) ? t.claims : r.fail('claims', 'expected a list')).map((c, i): ClaimSpec => {
    const key = `claims[${i}]`;
    const ct = r.obj(c, key);
    const test = r.oneOf(ct, 'test', `${key}.`, ['compare', 'tolerance', 'bound', 'growth', 'ratio'] as const);
    r.known(ct, key, ['text', 'test', 'csv', 'where', 'final', ...CLAIM_KEYS[test]]);
    const base = { ...r.selection(ct, `${key}.`), text: r.str(ct, 'text', `${key}.`) };
    const k = `${key}.`;
    switch (test) {
      case 'compare':
        return {
          ...base,
          test,
          metric: r.str(ct, 'metric', k),
          direction: r.oneOf(ct, 'direction', k, ['higher', 'lower'] as const),
          variantColumn: r.str(ct, 'variantColumn', k, 'variant'),
          baseline: r.str(ct, 'baseline', k),
          candidate: r.str(ct, 'candidate', k),
          expect: r.oneOf(ct, 'expect', k, ['at-least', 'match', 'better'] as const, 'at-least'),
          digits: r.num(ct, 'digits', k, 3),
          scale: r.num(ct, 'scale', k, 1),
        };
      case 'tolerance':
        return { ...base, test, measured: r.str(ct, 'measured', k), predicted: r.str(ct, 'predicted', k), tolerance: r.num(ct, 'tolerance', k), groupBy: r.strList(ct, 'groupBy', k) };
      case 'bound':
        return { ...base, test, measured: r.str(ct, 'measured', k), bound: r.str(ct, 'bound', k) };
      case 'growth': {
        const atMost = ct.atMost === undefined ? null : r.num(ct, 'atMost', k);
        const atLeast = ct.atLeast === undefined ? null : r.num(ct, 'atLeast', k);
        if ((atMost === null) === (atLeast === null)) r.fail(`${key}`, 'a growth claim needs exactly one of atMost and atLeast (the power-law exponent)');
        return { ...base, test, x: r.str(ct, 'x', k), y: r.str(ct, 'y', k), from: r.num(ct, 'from', k, -Infinity), atMost, atLeast, tolerance: r.num(ct, 'tolerance', k) };
      }
      case 'ratio': {
        let atLeast: number | CsvLookup;
        if (typeof ct.atLeast === 'number') atLeast = r.num(ct, 'atLeast', k);
        else {
          const lt = r.obj(ct.atLeast, `${k}atLeast`);
          r.known(lt, `${k}atLeast`, ['csv', 'where', 'column']);
          const sel = r.selection(lt, `${k}atLeast.`);
          atLeast = { csv: sel.csv, where: sel.where, column: r.str(lt, 'column', `${k}atLeast.`) };
        }
        return {
          ...base,
          test,
          ratio: r.str(ct, 'ratio', k),
          groupBy: r.strList(ct, 'groupBy', k),
          over: r.oneOf(ct, 'over', k, ['worst', 'median'] as const),
          atLeast,
          tolerance: r.num(ct, 'tolerance', k),
          digits: r.num(ct, 'digits', k, 3),
        };
      }
    }
  });
  const fromRun = (k: string) => (typeof run[k] === 'string' || typeof run[k] === 'number' ? String(run[k]) : undefined);
  const wall = fromRun('wall_seconds');
  const cpu = fromRun('cpu_seconds');
  return {
    id: r.str(t, 'id', ''),
    title: r.str(t, 'title', ''),
    order: r.num(t, 'order', '', 1000),
    summary: r.str(t, 'summary', '', ''),
    command: r.str(t, 'command', '', fromRun('command') ?? ''),
    // meta.yaml's machine (when the table ran on more than one) replaces run.json's; the measured times stay.
    machine: [r.str(t, 'machine', '', fromRun('machine') ?? ''), wall && `${wall} s wall`, cpu && `${cpu} s CPU`].filter(Boolean).join(', ') || 'not recorded',
    date: r.str(t, 'date', '', fromRun('date') ?? 'not recorded'),
    seedColumn: r.str(t, 'seedColumn', '', 'seed'),
    experiments: t.experiments === undefined ? [] : r.strList(t, 'experiments', ''),
    missing: Array.isArray(run.missing) ? run.missing.map(String) : [],
    plots: (t.plots === undefined ? [] : Array.isArray(t.plots) ? t.plots : r.fail('plots', 'expected a list')).map((p, i) => readPlot(r, p, `plots[${i}]`)),
    cpuSeconds: cpu === undefined ? null : Number(cpu),
    wallSeconds: wall === undefined ? null : Number(wall),
    views,
    claims,
  };
}

/** Every column a selection, view or claim names must exist in its CSV. */
function checkColumns(table: LoadedTable): void {
  const file = join(table.dir, 'meta.yaml');
  const check = (csv: string, key: string, columns: (string | null)[]) => {
    const rows = table.csvs[csv];
    const have = rows.length > 0 ? Object.keys(rows[0]) : [];
    for (const c of columns) {
      if (c === null || have.includes(c)) continue;
      const hint = closestName(c, have);
      throw new ConfigError(`${file}: ${key}: column "${c}" is not in ${csv} (columns: ${have.join(', ')})${hint ? `; did you mean ${hint}?` : ''}`);
    }
  };
  table.meta.views.forEach((v, i) =>
    check(v.csv, `views[${i}]`, [...Object.keys(v.where), v.final, ...v.groupBy, ...v.columns.map((c) => c.column)]),
  );
  table.meta.plots.forEach((p, i) =>
    check(p.csv, `plots[${i}]`, [...Object.keys(p.where), p.final, ...p.groupBy, ...p.panels.flatMap((q) => [q.x, q.column, ...q.points.map((pt) => pt.column)])]),
  );
  table.meta.claims.forEach((c, i) => {
    const cols: (string | null)[] = [...Object.keys(c.where), c.final];
    if (c.test === 'compare') cols.push(c.metric, c.variantColumn);
    if (c.test === 'tolerance') cols.push(c.measured, c.predicted, ...c.groupBy);
    if (c.test === 'bound') cols.push(c.measured, c.bound);
    if (c.test === 'growth') cols.push(c.x, c.y);
    if (c.test === 'ratio') cols.push(c.ratio, ...c.groupBy);
    check(c.csv, `claims[${i}]`, cols);
    if (c.test === 'ratio' && typeof c.atLeast !== 'number') {
      const at = c.atLeast;
      check(at.csv, `claims[${i}].atLeast`, [...Object.keys(at.where), at.column]);
      const matches = selectRows(table.csvs[at.csv], { ...at, final: null }, [], '');
      if (matches.length !== 1 || typeof matches[0][at.column] !== 'number') {
        throw new ConfigError(`${file}: claims[${i}].atLeast: expected exactly one row of ${at.csv} with a number in ${at.column} where ${JSON.stringify(at.where)}, found ${matches.length} row(s); make where pick one row`);
      }
    }
  });
}

/** The threshold of a ratio claim: the number, or the one CSV cell it names (checkColumns made sure there is one). */
function ratioThreshold(table: LoadedTable, atLeast: number | CsvLookup): { value: number; source: string } {
  if (typeof atLeast === 'number') return { value: atLeast, source: '' };
  const row = selectRows(table.csvs[atLeast.csv], { ...atLeast, final: null }, [], '')[0];
  const where = Object.entries(atLeast.where).map(([c, v]) => `${c} = ${v.join(' | ')}`);
  return { value: Number(row[atLeast.column]), source: ` = ${atLeast.csv} ${atLeast.column}${where.length > 0 ? ` where ${where.join(', ')}` : ''}` };
}

/** Read one table folder: meta.yaml, the CSVs it names, and run.json (machine, date, wall time) if present. */
export function loadTable(dir: string): LoadedTable {
  const metaFile = join(dir, 'meta.yaml');
  const runFile = join(dir, 'run.json');
  const run = existsSync(runFile) ? (JSON.parse(readFileSync(runFile, 'utf8')) as Tree) : {};
  const meta = parseMeta(readFileSync(metaFile, 'utf8'), metaFile, run);
  const csvs: Record<string, CsvRow[]> = {};
  const selections = [
    ...meta.views.map((v, i) => [`views[${i}]`, v.csv] as const),
    ...meta.claims.map((c, i) => [`claims[${i}]`, c.csv] as const),
    ...meta.plots.map((p, i) => [`plots[${i}]`, p.csv] as const),
    ...meta.claims.flatMap((c, i) => (c.test === 'ratio' && typeof c.atLeast !== 'number' ? [[`claims[${i}].atLeast`, c.atLeast.csv] as const] : [])),
  ];
  for (const [key, csv] of selections) {
    if (csv in csvs) continue;
    const path = join(dir, csv);
    if (!existsSync(path)) throw new ConfigError(`${metaFile}: ${key}.csv: ${csv} not found in ${dir}; commit the CSV or fix the name`);
    csvs[csv] = readCsv(path);
  }
  const table = { dir, meta, csvs };
  checkColumns(table);
  return table;
}

/** Every experiments/paper/<table>/ folder with a meta.yaml, ordered by meta `order`, then id. */
export function loadTables(paperDir: string): LoadedTable[] {
  const tables = readdirSync(paperDir)
    .filter((d) => statSync(join(paperDir, d)).isDirectory() && existsSync(join(paperDir, d, 'meta.yaml')))
    .map((d) => loadTable(join(paperDir, d)));
  const seen = new Map<string, string>();
  for (const t of tables) {
    const other = seen.get(t.meta.id);
    if (other !== undefined) throw new ConfigError(`${join(t.dir, 'meta.yaml')}: id: "${t.meta.id}" is also the id of ${join(other, 'meta.yaml')}; ids must be unique`);
    seen.set(t.meta.id, t.dir);
  }
  return tables.sort((a, b) => a.meta.order - b.meta.order || a.meta.id.localeCompare(b.meta.id));
}

// ───────────────────────────── selection and aggregation ─────────────────────────────

const keyOf = (row: CsvRow, cols: readonly string[]) => JSON.stringify(cols.map((c) => row[c]));

/** Rows of the selection: the where filter, then (with `final`) the last row of each group and seed. */
export function selectRows(rows: readonly CsvRow[], sel: RowSelection, groupBy: readonly string[], seedColumn: string): CsvRow[] {
  let out = rows.filter((row) => Object.entries(sel.where).every(([col, values]) => values.some((v) => String(v) === String(row[col]))));
  if (sel.final !== null) {
    const finalCol = sel.final;
    const last = new Map<string, CsvRow>();
    for (const row of out) {
      const k = keyOf(row, [...groupBy, seedColumn]);
      const prev = last.get(k);
      if (prev === undefined || Number(row[finalCol]) > Number(prev[finalCol])) last.set(k, row);
    }
    out = [...last.values()];
  }
  return out;
}

/** Groups in first-appearance order. */
export function groupRows(rows: readonly CsvRow[], groupBy: readonly string[]): CsvRow[][] {
  const groups = new Map<string, CsvRow[]>();
  for (const row of rows) {
    const k = keyOf(row, groupBy);
    const g = groups.get(k);
    if (g === undefined) groups.set(k, [row]);
    else g.push(row);
  }
  return [...groups.values()];
}

function numbers(rows: readonly CsvRow[], column: string): number[] {
  return rows.map((r) => r[column]).filter((v): v is number => typeof v === 'number');
}

/** A numeric cell's value; NaN for text and empty cells (readCsv parses numbers). */
const cellNumber = (v: Cell | undefined): number => (typeof v === 'number' ? v : NaN);

function formatCell(rows: readonly CsvRow[], col: ColumnSpec): string {
  const values = numbers(rows, col.column);
  if (values.length === 0) {
    const texts = [...new Set(rows.map((r) => String(r[col.column] ?? '')))];
    return texts.length === 1 ? texts[0] || '—' : texts.join(' / ');
  }
  const { mean, std } = meanStd(values.map((v) => v * col.scale));
  // A value that is the same on every seed (a formula of n, a setting) has no spread to show.
  return values.every((v) => v === values[0]) ? mean.toFixed(col.digits) : `${mean.toFixed(col.digits)} ± ${std.toFixed(col.digits)}`;
}

export function renderView(table: LoadedTable, view: ViewSpec): string {
  const rows = selectRows(table.csvs[view.csv], view, view.groupBy, table.meta.seedColumn);
  const groups = groupRows(rows, view.groupBy);
  const seeds = new Set(rows.map((r) => r[table.meta.seedColumn]).filter((s) => s !== undefined)).size;
  const headers = [...view.groupBy, ...view.columns.map((c) => c.label)];
  const body = groups.map((g) => [...view.groupBy.map((c) => String(g[0][c])), ...view.columns.map((c) => formatCell(g, c))]);
  const align = headers.map((_, i) => (i < view.groupBy.length ? 'l' : 'r') as 'l' | 'r');
  const note = seeds > 1 ? ` Mean ± std over ${seeds} seeds (\`${table.meta.seedColumn}\`).` : '';
  return `${view.caption ? `${view.caption}` : `From \`${view.csv}\`.`}${note}\n\n${markdownTable(headers, body, align)}`;
}

// ───────────────────────────── verdicts ─────────────────────────────

const fix = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : String(v));

export function evaluateClaim(table: LoadedTable, claim: ClaimSpec): ClaimResult {
  const { seedColumn } = table.meta;
  const all = table.csvs[claim.csv];
  const done = (verdict: Verdict, evidence: string): ClaimResult => ({ text: claim.text, verdict, evidence });
  switch (claim.test) {
    case 'compare': {
      const rows = selectRows(all, claim, [claim.variantColumn], seedColumn);
      const side = (name: string) => meanStd(numbers(rows.filter((r) => String(r[claim.variantColumn]) === name), claim.metric).map((v) => v * claim.scale));
      const b = side(claim.baseline);
      const c = side(claim.candidate);
      if (b.n === 0 || c.n === 0) return done('inconclusive', `no rows for ${b.n === 0 ? claim.baseline : claim.candidate} in ${claim.csv}`);
      const sign = claim.direction === 'higher' ? 1 : -1;
      const delta = sign * (c.mean - b.mean);
      const s = Math.sqrt((b.std ** 2 + c.std ** 2) / 2);
      const d = claim.digits;
      const evidence =
        `${claim.metric}: ${claim.candidate} ${fix(c.mean, d)} ± ${fix(c.std, d)} (${c.n} seeds) vs ${claim.baseline} ${fix(b.mean, d)} ± ${fix(b.std, d)} (${b.n}); ` +
        `Δ = ${fix(delta, d)} (${claim.direction} is better), pooled std s = ${fix(s, d)}`;
      if (b.n < 2 || c.n < 2) return done('inconclusive', `${evidence}; fewer than 2 seeds`);
      if (claim.expect === 'match') return done(Math.abs(delta) <= s ? 'reproduced' : Math.abs(delta) > 2 * s ? 'not reproduced' : 'inconclusive', evidence);
      if (claim.expect === 'better') return done(delta > s ? 'reproduced' : delta <= 0 ? 'not reproduced' : 'inconclusive', evidence);
      return done(delta >= -s ? 'reproduced' : delta < -2 * s ? 'not reproduced' : 'inconclusive', evidence);
    }
    case 'tolerance': {
      const rows = selectRows(all, claim, claim.groupBy, seedColumn);
      let worst = -1;
      let worstGroup = '';
      for (const g of groupRows(rows, claim.groupBy)) {
        const m = meanStd(numbers(g, claim.measured)).mean;
        const p = meanStd(numbers(g, claim.predicted)).mean;
        const e = Math.abs(m / p - 1);
        if (!(e <= worst)) {
          worst = e;
          worstGroup = `${claim.groupBy.map((c) => `${c} = ${g[0][c]}`).join(', ')}: ${fix(m, 4)} vs ${fix(p, 4)}`;
        }
      }
      if (worst < 0) return done('inconclusive', `no rows selected from ${claim.csv}`);
      const evidence = `largest |${claim.measured}/${claim.predicted} − 1| = ${(100 * worst).toFixed(2)} % (${worstGroup}); tolerance ${(100 * claim.tolerance).toFixed(1)} %`;
      return done(worst <= claim.tolerance ? 'reproduced' : worst > 2 * claim.tolerance ? 'not reproduced' : 'inconclusive', evidence);
    }
    case 'bound': {
      const rows = selectRows(all, claim, [], seedColumn);
      if (rows.length === 0) return done('inconclusive', `no rows selected from ${claim.csv}`);
      const ratios = rows.map((r) => Number(r[claim.measured]) / Number(r[claim.bound]));
      const worst = Math.max(...ratios);
      const over = ratios.filter((q) => !(q <= 1)).length;
      return done(over === 0 ? 'reproduced' : 'not reproduced', `${claim.measured} ≤ ${claim.bound} in ${rows.length - over} of ${rows.length} rows; largest ratio ${fix(worst, 3)}`);
    }
    case 'growth': {
      const rows = selectRows(all, claim, [claim.x], seedColumn);
      const points = groupRows(rows, [claim.x])
        .map((g) => ({ x: Number(g[0][claim.x]), y: meanStd(numbers(g, claim.y)).mean }))
        .filter((p) => p.x >= claim.from && p.x > 0 && p.y > 0);
      if (points.length < 2) return done('inconclusive', `fewer than 2 points with ${claim.x} ≥ ${claim.from} in ${claim.csv}`);
      const lx = points.map((p) => Math.log(p.x));
      const ly = points.map((p) => Math.log(p.y));
      const mx = lx.reduce((a, v) => a + v, 0) / lx.length;
      const my = ly.reduce((a, v) => a + v, 0) / ly.length;
      const slope = lx.reduce((a, v, i) => a + (v - mx) * (ly[i] - my), 0) / lx.reduce((a, v) => a + (v - mx) ** 2, 0);
      const tol = claim.tolerance;
      const evidence =
        `seed-mean ${claim.y} ∝ ${claim.x}^${fix(slope, 2)} (log–log fit over ${claim.x} ${fix(points[0].x, 0)}…${fix(points[points.length - 1].x, 0)}); ` +
        (claim.atMost !== null ? `expected exponent ≤ ${claim.atMost} (+${tol})` : `expected exponent ≥ ${claim.atLeast} (−${tol})`);
      if (claim.atMost !== null) return done(slope <= claim.atMost + tol ? 'reproduced' : slope > claim.atMost + 2 * tol ? 'not reproduced' : 'inconclusive', evidence);
      const atLeast = claim.atLeast as number;
      return done(slope >= atLeast - tol ? 'reproduced' : slope < atLeast - 2 * tol ? 'not reproduced' : 'inconclusive', evidence);
    }
    case 'ratio': {
      const rows = selectRows(all, claim, claim.groupBy, seedColumn);
      const groups = groupRows(rows, claim.groupBy)
        .map((g) => ({ name: claim.groupBy.map((c) => `${c} = ${g[0][c]}`).join(', '), r: meanStd(numbers(g, claim.ratio)).mean }))
        .filter((g) => Number.isFinite(g.r));
      if (groups.length === 0) return done('inconclusive', `no rows with a number in ${claim.ratio} selected from ${claim.csv}`);
      const sorted = [...groups].sort((a, b) => a.r - b.r);
      const med = median(groups.map((g) => g.r));
      const r = claim.over === 'worst' ? sorted[0].r : med;
      const t = ratioThreshold(table, claim.atLeast);
      const tol = claim.tolerance;
      const d = claim.digits;
      const meeting = groups.filter((g) => g.r >= t.value).length;
      const evidence =
        `${claim.ratio} over ${groups.length} (${claim.groupBy.join(', ')}) groups: worst ${fix(sorted[0].r, d)} (${sorted[0].name}), median ${fix(med, d)}, best ${fix(sorted[sorted.length - 1].r, d)}; ` +
        `≥ ${fix(t.value, d)} in ${meeting} of ${groups.length}; judged on the ${claim.over} against ${fix(t.value, d)}${t.source}, tolerance ${fix(tol, d)}`;
      return done(r >= t.value - tol ? 'reproduced' : r < t.value - 2 * tol ? 'not reproduced' : 'inconclusive', evidence);
    }
  }
}

// ───────────────────────────── RESULTS.md ─────────────────────────────

export const VERDICT_RULES = [
  'Every number below is computed from the committed CSVs by `experiments/paper/results.ts`; each claim gets a verdict by a fixed rule',
  '(s = pooled seed std = √((s_a² + s_b²)/2), Δ = candidate − baseline on each seed’s final epoch, signed so that Δ > 0 is better):',
  '',
  '| test | reproduced | not reproduced | otherwise |',
  '| --- | --- | --- | --- |',
  '| compare, at-least (matches or beats) | Δ ≥ −s | Δ < −2s | inconclusive |',
  '| compare, match (two-sided) | \\|Δ\\| ≤ s | \\|Δ\\| > 2s | inconclusive |',
  '| compare, better | Δ > s | Δ ≤ 0 | inconclusive |',
  '| tolerance (measured vs formula) | worst \\|measured/predicted − 1\\| ≤ tol | > 2·tol | inconclusive |',
  '| bound | measured ≤ bound in every row | any row above | — |',
  '| growth (log–log exponent p) | p ≤ e + tol (at most e) | p > e + 2·tol | inconclusive |',
  '| ratio (r = worst or median over the rows, threshold t) | r ≥ t − tol | r < t − 2·tol | inconclusive |',
  '',
  'A comparison with fewer than 2 seeds on either side is inconclusive.',
].join('\n');

/** What each table cost (run.json's summed unit time and wall time), with the total. */
function costTable(tables: readonly LoadedTable[]): string {
  const hours = (sec: number | null) => (sec === null ? 'not recorded' : (sec / 3600).toFixed(2));
  const rows = tables.map(({ meta }) => [meta.id, hours(meta.cpuSeconds), meta.wallSeconds === null ? 'not recorded' : `${(meta.wallSeconds / 60).toFixed(1)} min`, meta.missing.length > 0 ? `${meta.missing.length} unit(s) missing` : 'complete']);
  const total = tables.reduce((sum, { meta }) => sum + (meta.cpuSeconds ?? 0), 0);
  rows.push(['all', `${hours(total)}`, '', '']);
  return [
    '## Cost',
    '',
    'CPU hours = the summed time of every unit as recorded in the CSVs (each unit trains in one single-threaded wasm',
    'process, so this is roughly what the table costs on one core of similar speed; T6 records its process CPU time);',
    'wall = the recorded run on the machine the table names (not recorded where the runs were collected from elsewhere',
    'without it). The GPU benchmark of T8 is not counted.',
    '',
    markdownTable(['table', 'CPU hours', 'wall', 'runs'], rows, ['l', 'r', 'r', 'l']),
  ].join('\n');
}

/** One plot as SVG: per panel, one line per group, the mean of its selected rows at each x. */
export function renderPlot(table: LoadedTable, plot: PlotSpec): string {
  const rows = selectRows(table.csvs[plot.csv], plot, plot.groupBy, table.meta.seedColumn);
  const groups = groupRows(rows, plot.groupBy);
  const panels = plot.panels.map((panel) => {
    const series: ChartSeries[] = groups.map((g) => {
      const byX = new Map<number, number[]>();
      const add = (x: number, y: number) => {
        if (!Number.isFinite(x) || !Number.isFinite(y)) return;
        byX.set(x, [...(byX.get(x) ?? []), y * panel.scale]);
      };
      for (const row of g) {
        if (panel.x !== null && panel.column !== null) add(Number(row[panel.x]), cellNumber(row[panel.column]));
        for (const pt of panel.points) add(pt.x, cellNumber(row[pt.column]));
      }
      return { name: plot.groupBy.map((c) => String(g[0][c])).join(' '), points: [...byX].map(([x, ys]): [number, number] => [x, meanStd(ys).mean]) };
    });
    return { title: panel.label, xLabel: panel.xLabel, logX: panel.logX, series };
  });
  return lineChartSvg(panels, `${table.meta.id}: ${plot.title} (mean over seeds)`);
}

/** Every table's plots: the file each goes to and its SVG text. */
export function renderPlots(tables: readonly LoadedTable[]): { path: string; svg: string }[] {
  return tables.flatMap((t) => t.meta.plots.map((p) => ({ path: join(t.dir, p.file), svg: renderPlot(t, p) })));
}

export function renderResults(tables: readonly LoadedTable[], root: string): string {
  const evaluated = tables.map((t) => ({ table: t, results: t.meta.claims.map((c) => evaluateClaim(t, c)) }));
  const summary = evaluated.flatMap(({ table, results }) => results.map((r) => [table.meta.id, r.text, `**${r.verdict}**`]));
  const sections = evaluated.map(({ table, results }) => {
    const { meta } = table;
    const src = relative(root, table.dir).split('\\').join('/');
    return [
      `## ${meta.id} — ${meta.title}`,
      '',
      ...(meta.summary ? [meta.summary.trim(), ''] : []),
      `Source: \`${src}/\`${meta.command ? ` (\`${meta.command}\`)` : ''}. Run: ${meta.date}; ${meta.machine}.`,
      ...(meta.experiments.length > 0 ? ['', `Configs: ${meta.experiments.map((e) => `\`configs/experiments/${e}.yaml\``).join(', ')}.`] : []),
      ...(meta.missing.length > 0 ? ['', `**Not all runs are in:** ${meta.missing.length} unit(s) missing (${meta.missing.join(', ')}); the numbers below are from the units that finished.`] : []),
      '',
      ...meta.views.flatMap((v) => [renderView(table, v), '']),
      ...meta.plots.flatMap((p) => [`![${p.title}](${src}/${p.file})`, '']),
      ...(results.length > 0 ? ['Claims:', '', ...results.map((r) => `- **${r.verdict}** — ${r.text} Measured: ${r.evidence}.`), ''] : []),
    ].join('\n');
  });
  return [
    '# Results',
    '',
    'Generated by `npx nx run experiments:results` from `experiments/paper/<table>/` (CSVs + `meta.yaml`); do not edit by hand.',
    '',
    VERDICT_RULES,
    '',
    '## Summary',
    '',
    summary.length > 0 ? markdownTable(['table', 'claim', 'verdict'], summary) : 'No claims yet.',
    '',
    costTable(tables),
    '',
    ...sections,
  ].join('\n').replace(/\n{3,}/g, '\n\n');
}
