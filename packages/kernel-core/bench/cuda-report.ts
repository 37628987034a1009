/**
 * Side-by-side markdown from <dir>/cuda_bench.csv (ours, bench/cuda-bench.ts) and <dir>/sdpa_bench.csv
 * (tools/sdpa_bench.py), measured on the same card in the same device call. Writes <dir>/cuda_bench.md.
 * A module only (no CLI here: bundled into cuda-bench, a main-module check would fire there too);
 * `cuda-bench.ts --report-only --out DIR` rebuilds the markdown from existing CSVs.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, markdownTable, readCsv, writeFileAtomic } from '@sigattn/common';

/** A CSV row as text (Python writes booleans as True/False, so causal is compared lower-cased). */
type Row = Record<string, string>;

function readRows(file: string): Row[] {
  return readCsv(file).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)])));
}

/** A row's implementation and pass, as the tables name them (`ours-hopper-sigmoid fwd`). */
const rowKey = (r: Row) => `${r.impl} ${r.pass_}`;

/** The distinct numeric values of `field` in `rows`, ascending, as text. */
function sortedValues(rows: Row[], field: string): string[] {
  return [...new Set(rows.map((r) => r[field]))].sort((a, b) => Number(a) - Number(b));
}

/**
 * `gemm`: rows of <dir>/gemm_bench.csv (tools/sdpa_bench.py: torch.matmul bf16, M = N = K), the card's dense
 * matrix rate in the same call; when given, the report states it and adds each Hopper kernel's fraction of it.
 */
export function benchMarkdown(rows: Row[], note: string, gemm: Row[] = []): string {
  const find = (impl: string, D: string, causal: string, N: string) =>
    rows.find((r) => rowKey(r) === impl && r.D === D && r.N === N && r.causal.toLowerCase() === causal);
  const impls = [...new Set(rows.map(rowKey))];
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

/** The sweep's setting line (the first line of every report; cuda-bench's defaults are 30 reps after 5 warm-up). */
export function benchSetting(reps = 30, warmup = 5): string {
  return `bf16, batch·N = 16k, hidden 2048 (D 64, 128) or 1024 (D 32); median of ${reps} after ${warmup} warm-up`;
}

/**
 * Issue #13's targets for the Hopper FlashSigmoid kernels, at D 64 and 128, N ≥ 4k, causal and not: each a
 * ratio of our sigmoid kernel's TFLOP/s to a PyTorch SDPA backend's at the same shape in the same call.
 */
export const HOPPER_TARGETS = [
  { target: 'forward ≥ 1.15× PyTorch FA2', ours: 'ours-hopper-sigmoid fwd', base: 'sdpa-flash2 fwd', min: 1.15 },
  { target: 'backward ≥ 1.0× PyTorch FA2', ours: 'ours-hopper-sigmoid bwd', base: 'sdpa-flash2 bwd', min: 1.0 },
  { target: 'beyond: forward ≥ 1.05× cuDNN', ours: 'ours-hopper-sigmoid fwd', base: 'sdpa-cudnn fwd', min: 1.05 },
  { target: 'beyond: backward ≥ 1.05× cuDNN', ours: 'ours-hopper-sigmoid bwd', base: 'sdpa-cudnn bwd', min: 1.05 },
] as const;

/** One row per target, head dim and causality: the ratio range over N ≥ minN and whether its minimum meets the target. */
export function targetsMarkdown(rows: Row[], minN = 4096): string {
  const table: string[][] = [];
  for (const t of HOPPER_TARGETS) {
    for (const D of ['64', '128']) {
      for (const causal of ['false', 'true']) {
        const at = (impl: string) => rows.filter((r) => rowKey(r) === impl && r.D === D && r.causal.toLowerCase() === causal && Number(r.N) >= minN);
        const base = at(t.base);
        const ratios = at(t.ours).flatMap((o) => {
          const b = base.find((r) => r.N === o.N);
          return b ? [Number(o.tflops) / Number(b.tflops)] : [];
        });
        const range = ratios.length === 0 ? '—' : `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}×`;
        const verdict = ratios.length === 0 ? 'not measured' : Math.min(...ratios) >= t.min ? '**met**' : 'not met';
        table.push([t.target, D, causal === 'true' ? 'causal' : 'non-causal', String(ratios.length), range, verdict]);
      }
    }
  }
  return markdownTable(['target (hopper sigmoid ÷ baseline)', 'D', 'mask', `N ≥ ${minN / 1024}k points`, 'ratio range', 'verdict'], table,
    ['l', 'r', 'l', 'r', 'r', 'l']);
}

/** The date in a `<card>-<YYYY-MM-DD><run letter>` prefix. */
function prefixDate(prefix: string): string {
  const m = /(\d{4}-\d{2}-\d{2})[a-z]*$/.exec(prefix);
  if (m === null) throw new ConfigError(`cuda-report: ${prefix} does not end in a date (<card>-<YYYY-MM-DD>[run letter])`);
  return m[1];
}

/**
 * The report of one committed run: `<prefix>-ours.csv`, `-sdpa.csv` and (when present) `-gemm.csv` → the targets
 * table and the side-by-side tables, the markdown BENCHMARKS.md embeds between cuda-report markers.
 */
export function committedRunMarkdown(prefix: string): string {
  const report = reportMarkdown(
    { ours: `${prefix}-ours.csv`, sdpa: `${prefix}-sdpa.csv`, gemm: `${prefix}-gemm.csv` },
    `${benchSetting()}; ${prefixDate(prefix)}`,
    "copy the run's cuda_bench.csv there",
  );
  return ['**Issue #13 targets** (generated from the CSVs by `cuda-report`):', '', report].join('\n');
}

/**
 * The targets table and the side-by-side tables from one run's files: `ours` (required; `missing` says how to get
 * it), `sdpa` and `gemm` (used when present). Warns when the rows come from more than one card.
 */
function reportMarkdown(files: { ours: string; sdpa: string; gemm: string }, note: string, missing: string): string {
  if (!existsSync(files.ours)) throw new ConfigError(`cuda-report: ${files.ours} not found; ${missing}`);
  const rows = [...readRows(files.ours), ...(existsSync(files.sdpa) ? readRows(files.sdpa) : [])];
  const cards = new Set(rows.map((r) => r.card));
  if (cards.size > 1) {
    console.warn(`cuda-report: rows come from different cards (${[...cards].join(', ')}); ratios across them are not meaningful`);
  }
  return [targetsMarkdown(rows), '', benchMarkdown(rows, note, existsSync(files.gemm) ? readRows(files.gemm) : [])].join('\n');
}

const BLOCK = /<!-- cuda-report (\S+) -->\n[\s\S]*?<!-- \/cuda-report -->/g;

/**
 * `doc` with every `<!-- cuda-report <prefix> -->…<!-- /cuda-report -->` block regenerated from the committed run
 * at `<prefix>` (relative to the doc's folder).
 */
export function withReportBlocks(doc: string, docDir: string): string {
  return doc.replace(BLOCK, (_m, prefix: string) => `<!-- cuda-report ${prefix} -->\n${committedRunMarkdown(path.join(docDir, prefix))}\n<!-- /cuda-report -->`);
}

/** Rewrites the cuda-report blocks of `docFile` (BENCHMARKS.md) from their committed CSVs; returns whether it changed. */
export function updateReportBlocks(docFile: string): boolean {
  const doc = readFileSync(docFile, 'utf8');
  const next = withReportBlocks(doc, path.dirname(docFile));
  if (next !== doc) writeFileAtomic(docFile, next);
  return next !== doc;
}

export function writeReport(dir: string, note: string): string {
  const files = { ours: path.join(dir, 'cuda_bench.csv'), sdpa: path.join(dir, 'sdpa_bench.csv'), gemm: path.join(dir, 'gemm_bench.csv') };
  const file = path.join(dir, 'cuda_bench.md');
  writeFileAtomic(file, reportMarkdown(files, note, `run bench/cuda-bench.ts --out ${dir} first`));
  return file;
}
