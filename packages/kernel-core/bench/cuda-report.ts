/**
 * Side-by-side markdown from <dir>/cuda_bench.csv (ours, bench/cuda-bench.ts) and <dir>/sdpa_bench.csv
 * (tools/sdpa_bench.py), measured on the same card in the same device call. Writes <dir>/cuda_bench.md.
 * A module only (no CLI here: bundled into cuda-bench, a main-module check would fire there too);
 * `cuda-bench.ts --report-only --out DIR` rebuilds the markdown from existing CSVs.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, markdownTable, readCsv, writeFileAtomic } from '@sigattn/common';

/** A CSV row as text (Python writes booleans as True/False, so causal is compared lower-cased). */
type Row = Record<string, string>;

function readRows(file: string): Row[] {
  return readCsv(file).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)])));
}

/** The distinct numeric values of `field` in `rows`, ascending, as text. */
function sortedValues(rows: Row[], field: string): string[] {
  return [...new Set(rows.map((r) => r[field]))].sort((a, b) => Number(a) - Number(b));
}

/**
 * `gemm`: rows of <dir>/gemm_bench.csv (tools/sdpa_bench.py: torch.matmul bf16, M = N = K), the card's dense
 * matrix rate in the same call; when given, the report states it and adds each Hopper kernel's fraction of it.
 */
export function benchMarkdown(rows: Row[], note: string, gemm: Row[] = []): string {
  const key = (r: Row) => `${r.impl} ${r.pass_}`;
  const find = (impl: string, D: string, causal: string, N: string) =>
    rows.find((r) => key(r) === impl && r.D === D && r.N === N && r.causal.toLowerCase() === causal);
  const impls = [...new Set(rows.map(key))];
  const cards = [...new Set(rows.map((r) => r.card))];
  const out = [`TFLOP/s on ${cards.join(' + ')}; ${note}`, ''];
  const gemmRate = Math.max(0, ...gemm.map((r) => Number(r.tflops)));
  if (gemmRate > 0) {
    const sizes = gemm.map((r) => `${r.M}×${r.N}×${r.K}: ${r.tflops}`).join(', ');
    out.push(`Dense bf16 GEMM on the same card in the same call (torch.matmul, TFLOP/s): ${sizes}; the *of GEMM rate* rows divide by the best of these (${gemmRate}).`, '');
  }
  // One table per head dim and causality, over that head dim's sequence lengths (the sweeps differ per D).
  for (const D of sortedValues(rows, 'D')) {
    const NS = sortedValues(rows.filter((r) => r.D === D), 'N');
    for (const causal of ['false', 'true']) {
      const table: string[][] = [];
      for (const impl of impls) {
        const cells = NS.map((N) => find(impl, D, causal, N)?.tflops ?? '—');
        if (cells.some((c) => c !== '—')) table.push([impl, ...cells]);
      }
      const ratio = (a: string, b: string, label: string) => {
        const cells = NS.map((N) => {
          const x = find(a, D, causal, N), y = find(b, D, causal, N);
          return x && y ? `${(Number(x.tflops) / Number(y.tflops)).toFixed(2)}×` : '—';
        });
        if (cells.some((c) => c !== '—')) table.push([`*${label}*`, ...cells]);
      };
      ratio('ours-sigmoid fwd', 'sdpa-flash2 fwd', 'sigmoid fwd / FA2 fwd');
      ratio('ours-sigmoid fwd', 'ours-softmax fwd', 'sigmoid fwd / our softmax fwd');
      ratio('ours-hopper-sigmoid fwd', 'sdpa-flash2 fwd', 'hopper sigmoid fwd / FA2 fwd');
      ratio('ours-hopper-sigmoid fwd', 'sdpa-cudnn fwd', 'hopper sigmoid fwd / cuDNN fwd');
      ratio('ours-hopper-sigmoid fwd', 'ours-hopper-softmax fwd', 'hopper sigmoid fwd / hopper softmax fwd');
      ratio('ours-hopper-sigmoid fwd', 'ours-sigmoid fwd', 'hopper sigmoid fwd / our FA2-class sigmoid fwd');
      ratio('ours-sigmoid bwd', 'sdpa-flash2 bwd', 'sigmoid bwd / FA2 bwd');
      ratio('ours-sigmoid bwd', 'ours-softmax bwd', 'sigmoid bwd / our softmax bwd');
      ratio('ours-hopper-sigmoid bwd', 'sdpa-flash2 bwd', 'hopper sigmoid bwd / FA2 bwd');
      ratio('ours-hopper-sigmoid bwd', 'sdpa-cudnn bwd', 'hopper sigmoid bwd / cuDNN bwd');
      ratio('ours-hopper-sigmoid bwd', 'ours-hopper-softmax bwd', 'hopper sigmoid bwd / hopper softmax bwd');
      ratio('ours-hopper-sigmoid bwd', 'ours-sigmoid bwd', 'hopper sigmoid bwd / our FA2-class sigmoid bwd');
      for (const impl of ['ours-hopper-sigmoid fwd', 'ours-hopper-sigmoid bwd', 'ours-hopper-softmax fwd', 'ours-hopper-softmax bwd']) {
        if (gemmRate === 0) break;
        const cells = NS.map((N) => {
          const x = find(impl, D, causal, N);
          return x ? `${Math.round((100 * Number(x.tflops)) / gemmRate)} %` : '—';
        });
        if (cells.some((c) => c !== '—')) table.push([`*${impl.replace('ours-', '')} of GEMM rate*`, ...cells]);
      }
      out.push(`**D = ${D}, ${causal === 'true' ? 'causal' : 'non-causal'}**`, '');
      out.push(markdownTable(['impl', ...NS.map((n) => `N=${n}`)], table, ['l', ...NS.map(() => 'r' as const)]), '');
    }
  }
  return out.join('\n');
}

export function writeReport(dir: string, note: string): string {
  const ours = path.join(dir, 'cuda_bench.csv'), sdpa = path.join(dir, 'sdpa_bench.csv');
  if (!existsSync(ours)) throw new ConfigError(`cuda-report: ${ours} not found; run bench/cuda-bench.ts --out ${dir} first`);
  const rows = [...readRows(ours), ...(existsSync(sdpa) ? readRows(sdpa) : [])];
  const gemmFile = path.join(dir, 'gemm_bench.csv');
  const gemm = existsSync(gemmFile) ? readRows(gemmFile) : [];
  const cards = new Set(rows.map((r) => r.card));
  if (cards.size > 1) {
    console.warn(`cuda-report: rows come from different cards (${[...cards].join(', ')}); ratios across them are not meaningful`);
  }
  const file = path.join(dir, 'cuda_bench.md');
  writeFileAtomic(file, benchMarkdown(rows, note, gemm));
  return file;
}
