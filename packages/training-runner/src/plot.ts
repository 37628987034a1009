/**
 * Line plots as standalone SVG (no plotting dependency, viewable in any browser or the file tool):
 * one panel per metric, one line per variant, x = epoch.
 */
import type { EpochMetrics } from './metrics.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string);
}

function panel(rows: readonly EpochMetrics[], metric: keyof EpochMetrics, title: string, x0: number, variants: string[]): string {
  const W = 360;
  const H = 240;
  const pad = { l: 50, r: 10, t: 24, b: 30 };
  const values = rows.map((r) => Number(r[metric]));
  const epochs = rows.map((r) => r.epoch);
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi === lo) [lo, hi] = [lo - 1, hi + 1];
  const maxEpoch = Math.max(...epochs, 2);
  const sx = (e: number) => x0 + pad.l + ((e - 1) / (maxEpoch - 1)) * (W - pad.l - pad.r);
  const sy = (v: number) => pad.t + (1 - (v - lo) / (hi - lo)) * (H - pad.t - pad.b);
  const parts = [
    `<text x="${x0 + W / 2}" y="16" text-anchor="middle" font-size="13">${escapeXml(title)}</text>`,
    `<rect x="${x0 + pad.l}" y="${pad.t}" width="${W - pad.l - pad.r}" height="${H - pad.t - pad.b}" fill="none" stroke="#999"/>`,
  ];
  for (const v of [lo, (lo + hi) / 2, hi]) {
    parts.push(`<text x="${x0 + pad.l - 4}" y="${sy(v) + 4}" text-anchor="end" font-size="10">${v.toPrecision(3)}</text>`);
  }
  for (let e = 1; e <= maxEpoch; e++) parts.push(`<text x="${sx(e)}" y="${H - pad.b + 14}" text-anchor="middle" font-size="10">${e}</text>`);
  parts.push(`<text x="${x0 + W / 2}" y="${H - 4}" text-anchor="middle" font-size="10">epoch</text>`);
  variants.forEach((variant, i) => {
    const pts = rows.filter((r) => r.variant === variant).map((r) => `${sx(r.epoch).toFixed(1)},${sy(Number(r[metric])).toFixed(1)}`);
    parts.push(`<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const p of pts) parts.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="2.5" fill="${COLORS[i % COLORS.length]}"/>`);
  });
  return parts.join('\n');
}

/** Train loss and test accuracy per epoch, one line per variant. */
export function curvesSvg(rows: readonly EpochMetrics[], title: string): string {
  const variants = [...new Set(rows.map((r) => r.variant))];
  const legend = variants
    .map((v, i) => `<rect x="${20 + i * 110}" y="250" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>` +
      `<text x="${36 + i * 110}" y="260" font-size="12">${escapeXml(v)}</text>`)
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="720" height="270" font-family="sans-serif">`,
    `<rect width="720" height="270" fill="white"/>`,
    `<title>${escapeXml(title)}</title>`,
    panel(rows, 'train_loss', `${title}: train loss`, 0, variants),
    panel(rows, 'test_accuracy', `${title}: test accuracy`, 360, variants),
    legend,
    '</svg>',
  ].join('\n');
}
