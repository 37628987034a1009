/** Per-epoch metrics: CSV (via csv-stringify) and the markdown summary table. */
import { stringify } from 'csv-stringify/sync';
import { writeFileAtomic } from '@sigattn/data';

export interface EpochMetrics {
  variant: string;
  epoch: number;
  steps: number;
  train_loss: number;
  test_loss: number;
  test_accuracy: number;
  examples_per_s: number;
  epoch_s: number;
}

export const METRIC_COLUMNS: (keyof EpochMetrics)[] = [
  'variant', 'epoch', 'steps', 'train_loss', 'test_loss', 'test_accuracy', 'examples_per_s', 'epoch_s',
];

export function writeMetricsCsv(path: string, rows: readonly EpochMetrics[]): void {
  writeFileAtomic(path, stringify(rows as unknown as Record<string, unknown>[], { header: true, columns: METRIC_COLUMNS as string[] }));
}

export interface VariantSummary {
  variant: string;
  parameters: number;
  finalTrainLoss: number;
  testAccuracy: number;
  wallSeconds: number;
}

export function markdownTable(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export function summaryTable(rows: readonly VariantSummary[]): string {
  return markdownTable(
    ['variant', 'parameters', 'final train loss', 'test accuracy', 'wall time'],
    rows.map((r) => [
      r.variant,
      r.parameters.toLocaleString('en-US'),
      r.finalTrainLoss.toFixed(4),
      `${(100 * r.testAccuracy).toFixed(2)}%`,
      `${r.wallSeconds.toFixed(1)} s`,
    ]),
  );
}
