/**
 * Learning curves of an experiment as SVG (common's lineChartSvg): one panel per metric, one line per
 * variant (the mean over its seeds), x = epoch. Percent metrics are drawn in percent, as the tables show them.
 */
import { lineChartSvg, type ChartSeries } from '@sigattn/common';
import type { MetricsRow } from './loop.js';

export interface Panel {
  metric: string;
  label: string;
  percent?: boolean;
}

/** Mean of `metric` per (variant, epoch) over seeds, one series per variant in first-seen order. */
function meanCurves(rows: readonly MetricsRow[], metric: string, scale: number): ChartSeries[] {
  const acc = new Map<string, Map<number, number[]>>();
  for (const r of rows) {
    const byEpoch = acc.get(String(r.variant)) ?? new Map<number, number[]>();
    acc.set(String(r.variant), byEpoch);
    const v = Number(r[metric]);
    if (!Number.isFinite(v)) continue;
    const list = byEpoch.get(Number(r.epoch)) ?? [];
    list.push(v * scale);
    byEpoch.set(Number(r.epoch), list);
  }
  return [...acc].map(([name, byEpoch]) => ({
    name,
    points: [...byEpoch].map(([e, vs]): [number, number] => [e, vs.reduce((a, b) => a + b, 0) / vs.length]),
  }));
}

/** One panel per metric side by side, a legend of variants below. */
export function curvesSvg(rows: readonly MetricsRow[], title: string, panels: readonly Panel[]): string {
  return lineChartSvg(
    panels.map((p) => ({ title: `${p.label}${p.percent ? ' (%)' : ''}`, xLabel: 'epoch', series: meanCurves(rows, p.metric, p.percent ? 100 : 1) })),
    `${title} (mean over seeds)`,
  );
}
