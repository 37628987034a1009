/**
 * Line charts as standalone SVG (no plotting dependency; any browser, GitHub's markdown view and the file
 * tool show them): panels side by side, one line per series, one legend below with the same colour for a
 * series name in every panel. The runner's learning curves and RESULTS.md's plots both draw with this.
 * Output depends only on the input (fixed number formatting), so a regenerated chart is byte-identical.
 */

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const DASHES = ['', '6 3', '2 2'];
const PANEL_W = 360;
const PANEL_H = 250;
const LEGEND_ITEM_W = 170;
const LEGEND_ROW_H = 18;

export interface ChartSeries {
  name: string;
  /** (x, y) points; drawn in x order. Non-finite values are skipped. */
  points: readonly (readonly [number, number])[];
}

export interface ChartPanel {
  title: string;
  xLabel: string;
  series: readonly ChartSeries[];
  /** Log-scaled x axis (e.g. lengths 1, 2, 4, 8); every x must be > 0. */
  logX?: boolean;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string);
}

/** Up to `max` tick values: the distinct x values when there are few, else evenly spaced ones. */
function xTicks(xs: readonly number[], lo: number, hi: number, max = 10): number[] {
  const distinct = [...new Set(xs)].sort((a, b) => a - b);
  if (distinct.length <= max) return distinct;
  return Array.from({ length: 5 }, (_, i) => lo + ((hi - lo) * i) / 4);
}

function panelSvg(p: ChartPanel, x0: number, style: (name: string) => { color: string; dash: string }): string {
  const pad = { l: 62, r: 10, t: 24, b: 34 };
  const series = p.series.map((s) => ({ ...s, points: [...s.points].filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!p.logX || x > 0)).sort((a, b) => a[0] - b[0]) }));
  const xs = series.flatMap((s) => s.points.map(([x]) => x));
  const ys = series.flatMap((s) => s.points.map(([, y]) => y));
  const parts = [`<text x="${x0 + PANEL_W / 2}" y="16" text-anchor="middle" font-size="13">${escapeXml(p.title)}</text>`];
  if (xs.length === 0) return parts.join('\n');
  const tx = (x: number) => (p.logX ? Math.log(x) : x);
  let [xlo, xhi] = [Math.min(...xs), Math.max(...xs)];
  let [ylo, yhi] = [Math.min(...ys), Math.max(...ys)];
  if (xhi === xlo) [xlo, xhi] = p.logX ? [xlo / 2, xhi * 2] : [xlo - 1, xhi + 1];
  if (yhi === ylo) [ylo, yhi] = [ylo - 1, yhi + 1];
  const sx = (x: number) => x0 + pad.l + ((tx(x) - tx(xlo)) / (tx(xhi) - tx(xlo))) * (PANEL_W - pad.l - pad.r);
  const sy = (y: number) => pad.t + (1 - (y - ylo) / (yhi - ylo)) * (PANEL_H - pad.t - pad.b);
  parts.push(
    `<rect x="${x0 + pad.l}" y="${pad.t}" width="${PANEL_W - pad.l - pad.r}" height="${PANEL_H - pad.t - pad.b}" fill="none" stroke="#999"/>`,
    `<text transform="translate(${x0 + 12} ${(pad.t + PANEL_H - pad.b) / 2}) rotate(-90)" text-anchor="middle" font-size="11">${escapeXml(p.title)}</text>`,
  );
  for (const y of [ylo, (ylo + yhi) / 2, yhi]) {
    parts.push(`<text x="${x0 + pad.l - 4}" y="${(sy(y) + 4).toFixed(1)}" text-anchor="end" font-size="10">${y.toPrecision(3)}</text>`);
  }
  for (const x of xTicks(xs, xlo, xhi)) {
    parts.push(`<text x="${sx(x).toFixed(1)}" y="${PANEL_H - pad.b + 14}" text-anchor="middle" font-size="10">${Number(x.toPrecision(3))}</text>`);
  }
  parts.push(`<text x="${x0 + pad.l + (PANEL_W - pad.l - pad.r) / 2}" y="${PANEL_H - 6}" text-anchor="middle" font-size="11">${escapeXml(p.xLabel)}</text>`);
  for (const s of series) {
    if (s.points.length === 0) continue;
    const { color, dash } = style(s.name);
    const pts = s.points.map(([x, y]) => [sx(x).toFixed(1), sy(y).toFixed(1)]);
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${pts.map((q) => q.join(',')).join(' ')}"/>`);
    for (const [x, y] of pts) parts.push(`<circle cx="${x}" cy="${y}" r="2.5" fill="${color}"/>`);
  }
  return parts.join('\n');
}

/** Panels side by side with one legend (wrapped into rows) below; `title` is the SVG's <title>. */
export function lineChartSvg(panels: readonly ChartPanel[], title: string): string {
  const names = [...new Set(panels.flatMap((p) => p.series.map((s) => s.name)))];
  // Colour cycles first, then the dash pattern, so up to 30 series stay distinguishable.
  const style = (name: string) => {
    const i = names.indexOf(name);
    return { color: COLORS[i % COLORS.length], dash: DASHES[Math.floor(i / COLORS.length) % DASHES.length] };
  };
  const width = PANEL_W * Math.max(1, panels.length);
  const perRow = Math.max(1, Math.floor((width - 20) / LEGEND_ITEM_W));
  const legendH = Math.ceil(names.length / perRow) * LEGEND_ROW_H + 6;
  const legend = names.map((name, i) => {
    const { color, dash } = style(name);
    const x = 20 + (i % perRow) * LEGEND_ITEM_W;
    const y = PANEL_H + 4 + Math.floor(i / perRow) * LEGEND_ROW_H;
    return `<line x1="${x}" y1="${y + 6}" x2="${x + 14}" y2="${y + 6}" stroke="${color}" stroke-width="3"${dash ? ` stroke-dasharray="${dash}"` : ''}/><text x="${x + 18}" y="${y + 10}" font-size="11">${escapeXml(name)}</text>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${PANEL_H + legendH}" font-family="sans-serif">`,
    `<rect width="${width}" height="${PANEL_H + legendH}" fill="white"/>`,
    `<title>${escapeXml(title)}</title>`,
    ...panels.map((p, i) => panelSvg(p, i * PANEL_W, style)),
    ...legend,
    '</svg>',
    '',
  ].join('\n');
}
