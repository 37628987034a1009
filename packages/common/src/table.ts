/** Tables: CSV through csv-stringify / csv-parse, markdown tables, and mean ± std over seeds. */
import { stringify } from 'csv-stringify/sync';
import { parse } from 'csv-parse/sync';
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './fs.js';

export type Row = Record<string, string | number | boolean | null | undefined>;

/**
 * CSV text with a header row; `columns` fixes the order (default: the first row's keys). Booleans are written as
 * `true` / `false` (csv-stringify's default is 1 and an empty cell, which reads back as a number and a blank).
 */
export function toCsv(rows: readonly Row[], columns?: readonly string[]): string {
  const cols = columns ?? (rows.length > 0 ? Object.keys(rows[0]) : []);
  return stringify(rows as Row[], { header: true, columns: cols as string[], cast: { boolean: (v) => String(v) } });
}

export function writeCsv(path: string, rows: readonly Row[], columns?: readonly string[]): void {
  writeFileAtomic(path, toCsv(rows, columns));
}

/** Parse CSV with a header row; numeric-looking cells become numbers, empty cells stay ''. */
export function parseCsv(text: string): Record<string, string | number>[] {
  return parse(text, {
    columns: true,
    skip_empty_lines: true,
    cast: (value) => (value !== '' && !Number.isNaN(Number(value)) ? Number(value) : value),
  }) as Record<string, string | number>[];
}

export function readCsv(path: string): Record<string, string | number>[] {
  return parseCsv(readFileSync(path, 'utf8'));
}

/** A GitHub-flavoured markdown table; `align` marks right-aligned (numeric) columns with 'r'. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly (string | number)[])[], align?: readonly ('l' | 'r')[]): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;
  const rule = headers.map((_, i) => (align?.[i] === 'r' ? '---:' : '---'));
  return [line(headers), line(rule), ...rows.map(line)].join('\n');
}

/** Mean and sample standard deviation (n − 1; 0 for a single value). */
export function meanStd(values: readonly number[]): { mean: number; std: number; n: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN, n };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/** "mean ± std" with `digits` decimals (just the mean for one value). */
export function formatMeanStd(values: readonly number[], digits = 2, scale = 1): string {
  const { mean, std, n } = meanStd(values.map((v) => v * scale));
  if (n === 0) return '—';
  return n === 1 ? mean.toFixed(digits) : `${mean.toFixed(digits)} ± ${std.toFixed(digits)}`;
}
