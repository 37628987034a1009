/**
 * Learning curves as standalone SVG (no plotting dependency, viewable in any browser or the file tool):
 * one panel per metric, one line per variant (the mean over its seeds), x = epoch. Each panel's y axis
 * is labelled with the metric and its unit; percent metrics are drawn in percent, as the tables show them.
 */
import type { MetricsRow } from './loop.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const W = 360;
const H = 250;

export interface Panel {
  metric: string;
  label: string;
  percent?: boolean;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string);
}

/** Mean of `metric` per (variant, epoch) over seeds. */
function meanCurves(rows: readonly MetricsRow[], metric: string, scale: number): Map<string, [number, number][]> {
  const acc = new Map<string, Map<number, number[]>>();
  for (const r of rows) {
    const v = Number(r[metric]);
    if (!Number.isFinite(v)) continue;
    const byEpoch = acc.get(String(r.variant)) ?? new Map<number, number[]>();
    acc.set(String(r.variant), byEpoch);
    const list = byEpoch.get(Number(r.epoch)) ?? [];
    list.push(v * scale);
    byEpoch.set(Number(r.epoch), list);
  }
  return new Map(
    [...acc].map(([variant, byEpoch]) => [
      variant,
      [...byEpoch].sort((a, b) => a[0] - b[0]).map(([e, vs]): [number, number] => [e, vs.reduce((a, b) => a + b, 0) / vs.length]),
    ]),
  );
}

function panel(rows: readonly MetricsRow[], p: Panel, x0: number, variants: string[]): string {
  const pad = { l: 62, r: 10, t: 24, b: 34 };
  const curves = meanCurves(rows, p.metric, p.percent ? 100 : 1);
  const values = [...curves.values()].flatMap((c) => c.map(([, v]) => v));
  const epochs = [...curves.values()].flatMap((c) => c.map(([e]) => e));
  if (values.length === 0) return '';
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi === lo) [lo, hi] = [lo - 1, hi + 1];
  const maxEpoch = Math.max(...epochs, 2);
  const sx = (e: number) => x0 + pad.l + ((e - 1) / (maxEpoch - 1)) * (W - pad.l - pad.r);
  const sy = (v: number) => pad.t + (1 - (v - lo) / (hi - lo)) * (H - pad.t - pad.b);
  const yTitle = `${p.label}${p.percent ? ' (%)' : ''}`;
  const parts = [
    `<text x="${x0 + W / 2}" y="16" text-anchor="middle" font-size="13">${escapeXml(yTitle)}</text>`,
    `<rect x="${x0 + pad.l}" y="${pad.t}" width="${W - pad.l - pad.r}" height="${H - pad.t - pad.b}" fill="none" stroke="#999"/>`,
    `<text transform="translate(${x0 + 12} ${(pad.t + H - pad.b) / 2}) rotate(-90)" text-anchor="middle" font-size="11">${escapeXml(yTitle)}</text>`,
  ];
  for (const v of [lo, (lo + hi) / 2, hi]) {
    parts.push(`<text x="${x0 + pad.l - 4}" y="${sy(v) + 4}" text-anchor="end" font-size="10">${v.toPrecision(3)}</text>`);
  }
  const tickEvery = Math.max(1, Math.ceil(maxEpoch / 10));
  for (let e = 1; e <= maxEpoch; e += tickEvery) parts.push(`<text x="${sx(e)}" y="${H - pad.b + 14}" text-anchor="middle" font-size="10">${e}</text>`);
  parts.push(`<text x="${x0 + pad.l + (W - pad.l - pad.r) / 2}" y="${H - 6}" text-anchor="middle" font-size="11">epoch</text>`);
  variants.forEach((variant, i) => {
    const pts = (curves.get(variant) ?? []).map(([e, v]) => [sx(e).toFixed(1), sy(v).toFixed(1)]);
    parts.push(`<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="2" points="${pts.map((q) => q.join(',')).join(' ')}"/>`);
    for (const [x, y] of pts) parts.push(`<circle cx="${x}" cy="${y}" r="2.5" fill="${COLORS[i % COLORS.length]}"/>`);
  });
  return parts.join('\n');
}

/** One panel per metric side by side, a legend of variants below. */
export function curvesSvg(rows: readonly MetricsRow[], title: string, panels: readonly Panel[]): string {
  const variants = [...new Set(rows.map((r) => String(r.variant)))];
  const width = W * panels.length;
  const legend = variants
    .map((v, i) => `<rect x="${20 + i * 130}" y="${H + 4}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/><text x="${36 + i * 130}" y="${H + 14}" font-size="12">${escapeXml(v)}</text>`)
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H + 24}" font-family="sans-serif">`,
    `<rect width="${width}" height="${H + 24}" fill="white"/>`,
    `<title>${escapeXml(title)} (mean over seeds)</title>`,
    ...panels.map((p, i) => panel(rows, p, i * W, variants)),
    legend,
    '</svg>',
  ].join('\n');
}
