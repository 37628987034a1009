/**
 * Side-by-side markdown from <dir>/cuda_bench.csv (ours, bench/cuda-bench.ts) and <dir>/sdpa_bench.csv
 * (tools/sdpa_bench.py), measured on the same card in the same device call. Writes <dir>/cuda_bench.md.
 * A module only (no CLI here: bundled into cuda-bench, a main-module check would fire there too);
 * `cuda-bench.ts --report-only --out DIR` rebuilds the markdown from existing CSVs.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

type Row = Record<string, string>;

/** Minimal CSV reader for our own files (no quoted commas); tolerates \r\n from Python's csv module. */
export function readCsv(file: string): Row[] {
  const [head, ...lines] = readFileSync(file, 'utf8').trim().split(/\r?\n/);
  const cols = head.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((x, i) => [cols[i], x])));
}

const NS = ['512', '1024', '2048', '4096', '8192', '16384'];

export function benchMarkdown(rows: Row[], note: string): string {
  const key = (r: Row) => `${r.impl} ${r.pass_}`;
  const find = (impl: string, D: string, causal: string, N: string) =>
    rows.find((r) => key(r) === impl && r.D === D && r.N === N && r.causal.toLowerCase() === causal);
  const impls = [...new Set(rows.map(key))];
  const cards = [...new Set(rows.map((r) => r.card))];
  const out = [`TFLOP/s on ${cards.join(' + ')}; ${note}`, ''];
  for (const D of ['64', '128']) {
    for (const causal of ['false', 'true']) {
      out.push(`**D = ${D}, ${causal === 'true' ? 'causal' : 'non-causal'}**`, '');
      out.push(`| impl | ${NS.map((n) => `N=${n}`).join(' | ')} |`, `|---|${NS.map(() => '---:').join('|')}|`);
      for (const impl of impls) {
        const cells = NS.map((N) => find(impl, D, causal, N)?.tflops ?? '—');
        if (cells.some((c) => c !== '—')) out.push(`| ${impl} | ${cells.join(' | ')} |`);
      }
      const ratio = (a: string, b: string, label: string) => {
        const cells = NS.map((N) => {
          const x = find(a, D, causal, N), y = find(b, D, causal, N);
          return x && y ? `${(Number(x.tflops) / Number(y.tflops)).toFixed(2)}×` : '—';
        });
        if (cells.some((c) => c !== '—')) out.push(`| *${label}* | ${cells.join(' | ')} |`);
      };
      ratio('ours-sigmoid fwd', 'sdpa-flash2 fwd', 'sigmoid fwd / FA2 fwd');
      ratio('ours-sigmoid fwd', 'ours-softmax fwd', 'sigmoid fwd / our softmax fwd');
      ratio('ours-sigmoid bwd', 'sdpa-flash2 bwd', 'sigmoid bwd / FA2 bwd');
      ratio('ours-sigmoid bwd', 'ours-softmax bwd', 'sigmoid bwd / our softmax bwd');
      out.push('');
    }
  }
  return out.join('\n');
}

export function writeReport(dir: string, note: string): string | null {
  const ours = path.join(dir, 'cuda_bench.csv'), sdpa = path.join(dir, 'sdpa_bench.csv');
  if (!existsSync(ours)) throw new Error(`cuda-report: ${ours} not found; run bench/cuda-bench.ts first`);
  const rows = [...readCsv(ours), ...(existsSync(sdpa) ? readCsv(sdpa) : [])];
  const cards = new Set(rows.map((r) => r.card));
  if (cards.size > 1) {
    console.warn(`cuda-report: rows come from different cards (${[...cards].join(', ')}); ratios across them are not meaningful`);
  }
  const md = benchMarkdown(rows, note);
  const file = path.join(dir, 'cuda_bench.md');
  writeFileSync(`${file}.tmp`, md);
  renameSync(`${file}.tmp`, file);
  return file;
}
