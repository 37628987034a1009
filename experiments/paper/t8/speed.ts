/**
 * T8 "Kernel speed": one tidy table of FlashSigmoid against softmax attention, derived from kernel-core's
 * committed benchmark CSVs (packages/kernel-core/benchmarks/cuda/ and webgpu/; BENCHMARKS.md describes how
 * they were measured). Pure functions; main.ts is the CLI that writes speed.csv and run.json.
 *
 * Every ratio is sigmoid TFLOP/s ÷ the other implementation's TFLOP/s at the same shape, i.e. the other's
 * time ÷ sigmoid's time: > 1 means sigmoid is faster. TFLOP/s are recomputed from the measured times with
 * common's attentionTflops (4·B·H·N²·D, causal ×½, backward ×2.5) and checked against the CSVs' own column,
 * so a benchmark that counted FLOPs differently fails instead of skewing the ratios.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { attentionTflops, ConfigError, DataError, readCsv } from '@sigattn/common';

export type Pass = 'fwd' | 'bwd';
/** cuda: the FA2-class kernels (every NVIDIA GPU); cuda-hopper: the sm_90a kernels sigattn runs on Hopper; webgpu: WGSL. */
export type Backend = 'cuda' | 'cuda-hopper' | 'webgpu';
/** The implementations T8 compares; other rows of the benchmark CSVs (naive, tfjs, other SDPA backends) are not used. */
export type Impl = 'sigmoid' | 'softmax' | 'fa2' | 'cudnn';

export interface Measurement {
  backend: Backend;
  card: string;
  date: string;
  impl: Impl;
  pass: Pass;
  D: number;
  causal: boolean;
  N: number;
  B: number;
  H: number;
  ms: number;
  tflops: number;
  /** file:line, for error messages. */
  where: string;
}

/** A type, not an interface, so that it is a common `Row` for writeCsv. */
export type SpeedRow = {
  backend: Backend;
  card: string;
  date: string;
  D: number;
  causal: string;
  N: number;
  B: number;
  H: number;
  pass: Pass;
  sigmoid_tflops: number;
  softmax_tflops: number;
  fa2_tflops: number | null;
  cudnn_tflops: number | null;
  sigmoid_over_softmax: number;
  sigmoid_over_fa2: number | null;
  sigmoid_over_cudnn: number | null;
};

export const SPEED_COLUMNS: readonly (keyof SpeedRow)[] = [
  'backend', 'card', 'date', 'D', 'causal', 'N', 'B', 'H', 'pass',
  'sigmoid_tflops', 'softmax_tflops', 'fa2_tflops', 'cudnn_tflops',
  'sigmoid_over_softmax', 'sigmoid_over_fa2', 'sigmoid_over_cudnn',
];

const CUDA_IMPLS: Record<string, Impl> = { 'ours-sigmoid': 'sigmoid', 'ours-softmax': 'softmax', 'sdpa-flash2': 'fa2', 'sdpa-cudnn': 'cudnn' };
/** The Hopper kernels' rows (cuda-bench on a 9.x device), compared with the same SDPA rows as the FA2-class ones. */
const HOPPER_IMPLS: Record<string, Impl> = { 'ours-hopper-sigmoid': 'sigmoid', 'ours-hopper-softmax': 'softmax' };
const WEBGPU_IMPLS: Record<string, Impl> = { FlashSigmoid: 'sigmoid', FlashSoftmax: 'softmax' };
const DATE = /(\d{4}-\d{2}-\d{2})/;

type CsvRow = Record<string, string | number>;

function requireColumns(rows: readonly CsvRow[], file: string, columns: readonly string[]): void {
  if (rows.length === 0) throw new DataError(`${file}: no rows; expected a benchmark CSV with columns ${columns.join(', ')}`);
  const missing = columns.filter((c) => !(c in rows[0]));
  if (missing.length > 0) throw new DataError(`${file}: missing column(s) ${missing.join(', ')}; expected a benchmark CSV with columns ${columns.join(', ')}`);
}

function positive(row: CsvRow, column: string, at: string): number {
  const v = row[column];
  if (typeof v !== 'number' || !(v > 0)) throw new DataError(`${at}: ${column} = ${JSON.stringify(v)}; expected a positive number`);
  return v;
}

function parseCausal(v: string | number, at: string): boolean {
  const s = String(v).toLowerCase();
  if (s === 'true' || s === 'false') return s === 'true';
  throw new DataError(`${at}: causal = ${JSON.stringify(v)}; expected true or false`);
}

function parsePass(v: string | number, at: string): Pass {
  if (v === 'fwd' || v === 'bwd') return v;
  throw new DataError(`${at}: pass = ${JSON.stringify(v)}; expected fwd or bwd`);
}

/**
 * One benchmark row as a measurement, TFLOP/s recomputed from its time; the CSV's own value must agree (it
 * is rounded to 0.1). `passColumn` names the pass column, which the two benchmarks spell differently.
 */
function measurementOf(row: CsvRow, where: string, id: Pick<Measurement, 'backend' | 'card' | 'date' | 'impl'>, passColumn: string): Measurement {
  const m = {
    ...id,
    pass: parsePass(row[passColumn], where),
    D: positive(row, 'D', where),
    causal: parseCausal(row.causal, where),
    N: positive(row, 'N', where),
    B: positive(row, 'B', where),
    H: positive(row, 'H', where),
    ms: positive(row, 'ms', where),
    where,
  };
  const stated = positive(row, 'tflops', where);
  const tflops = attentionTflops({ batch: m.B, heads: m.H, n: m.N, d: m.D, causal: m.causal }, m.ms, m.pass);
  if (Math.abs(tflops - stated) > Math.max(0.06, 0.005 * tflops)) {
    throw new DataError(
      `${m.where}: tflops ${stated} disagrees with 4·B·H·N²·D${m.causal ? '·½' : ''}${m.pass === 'bwd' ? '·2.5' : ''} / ms = ${tflops.toFixed(2)}; ` +
        'the benchmark counted FLOPs differently from T8 (common attentionTflops); fix the CSV or its producer',
    );
  }
  return { ...m, tflops };
}

/** The date in a benchmark file name (<card>-<YYYY-MM-DD>-…), which is the date of the measurement. */
export function dateInName(path: string): string {
  const m = DATE.exec(basename(path));
  if (m === null) throw new ConfigError(`${path}: no date in the file name; name benchmark files <card>-<YYYY-MM-DD>-ours.csv (the day they were measured)`);
  return m[1];
}

/** Rows of the CUDA CSVs (ours: `<prefix>-ours.csv`, PyTorch SDPA: `<prefix>-sdpa.csv`, columns card,impl,pass_,D,causal,N,B,H,ms,tflops). */
export function readCudaCsv(file: string, date: string): Measurement[] {
  const rows = readCsv(file);
  requireColumns(rows, file, ['card', 'impl', 'pass_', 'D', 'causal', 'N', 'B', 'H', 'ms', 'tflops']);
  return rows.flatMap((row, i) => {
    const where = `${file}:${i + 2}`;
    const hopper = HOPPER_IMPLS[String(row.impl)];
    const impl = hopper ?? CUDA_IMPLS[String(row.impl)];
    if (impl === undefined) return [];
    return [measurementOf(row, where, { backend: hopper ? 'cuda-hopper' : 'cuda', card: String(row.card), date, impl }, 'pass_')];
  });
}

/** The flash rows of a WebGPU bench CSV (bench/webgpu.ts) at one hidden size; naive and tfjs rows are not kernels T8 compares. */
export function readWebgpuCsv(file: string, hidden: number): Measurement[] {
  const rows = readCsv(file);
  requireColumns(rows, file, ['adapter', 'date', 'impl', 'row', 'pass', 'hidden', 'B', 'H', 'N', 'D', 'causal', 'ms', 'tflops']);
  return rows.flatMap((row, i) => {
    const where = `${file}:${i + 2}`;
    const impl = WEBGPU_IMPLS[String(row.impl)];
    if (row.row !== 'flash' || impl === undefined || row.hidden !== hidden) return [];
    const date = DATE.exec(String(row.date));
    if (date === null) throw new DataError(`${where}: date = ${JSON.stringify(row.date)}; expected an ISO timestamp`);
    return [measurementOf(row, where, { backend: 'webgpu', card: String(row.adapter), date: date[1], impl }, 'pass')];
  });
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * One row per (backend, pass, D, causal, N): every implementation's TFLOP/s and sigmoid's ratio to each.
 * Each point needs a sigmoid and a softmax row; FA2 and cuDNN are optional (the WebGPU runs have none).
 * All rows of a point must have the same shape (B, H) and card, and no implementation may appear twice.
 */
export function speedTable(measurements: readonly Measurement[]): SpeedRow[] {
  const points = new Map<string, Partial<Record<Impl, Measurement>>>();
  for (const m of measurements) {
    const key = JSON.stringify([m.backend, m.pass, m.D, m.causal, m.N]);
    const point = points.get(key) ?? {};
    const prev = point[m.impl];
    if (prev !== undefined) throw new DataError(`${m.where}: a second ${m.impl} ${m.pass} row for D ${m.D}, causal ${m.causal}, N ${m.N} (the first is ${prev.where}); keep one measurement per point`);
    point[m.impl] = m;
    points.set(key, point);
  }
  const rows: SpeedRow[] = [];
  for (const point of points.values()) {
    const any = (point.sigmoid ?? point.softmax ?? point.fa2 ?? point.cudnn) as Measurement;
    const at = `${any.backend} ${any.pass}, D ${any.D}, causal ${any.causal}, N ${any.N}`;
    const { sigmoid, softmax } = point;
    if (sigmoid === undefined || softmax === undefined) {
      throw new DataError(`${any.where}: ${at} has no ${sigmoid === undefined ? 'sigmoid' : 'softmax'} row; T8 needs both kinds at every point (rerun the benchmark for both)`);
    }
    for (const other of [softmax, point.fa2, point.cudnn]) {
      if (other === undefined) continue;
      if (other.B !== sigmoid.B || other.H !== sigmoid.H) {
        throw new DataError(`${other.where}: ${at}: B·H = ${other.B}·${other.H}, but the sigmoid row (${sigmoid.where}) has ${sigmoid.B}·${sigmoid.H}; a speed ratio needs the same shape`);
      }
      if (other.card !== sigmoid.card) throw new DataError(`${other.where}: card "${other.card}" differs from the sigmoid row's "${sigmoid.card}" (${sigmoid.where}); compare runs on one card`);
    }
    const ratio = (m: Measurement | undefined) => (m === undefined ? null : round(sigmoid.tflops / m.tflops, 4));
    rows.push({
      backend: sigmoid.backend,
      card: sigmoid.card,
      date: sigmoid.date,
      D: sigmoid.D,
      causal: String(sigmoid.causal),
      N: sigmoid.N,
      B: sigmoid.B,
      H: sigmoid.H,
      pass: sigmoid.pass,
      sigmoid_tflops: round(sigmoid.tflops, 2),
      softmax_tflops: round(softmax.tflops, 2),
      fa2_tflops: point.fa2 === undefined ? null : round(point.fa2.tflops, 2),
      cudnn_tflops: point.cudnn === undefined ? null : round(point.cudnn.tflops, 2),
      sigmoid_over_softmax: ratio(softmax) as number,
      sigmoid_over_fa2: ratio(point.fa2),
      sigmoid_over_cudnn: ratio(point.cudnn),
    });
  }
  const order = (r: SpeedRow) => [['cuda', 'cuda-hopper', 'webgpu'].indexOf(r.backend), r.pass === 'fwd' ? 0 : 1, r.D, r.causal === 'true' ? 1 : 0, r.N];
  return rows.sort((a, b) => {
    const x = order(a);
    const y = order(b);
    const i = x.findIndex((v, k) => v !== y[k]);
    return i < 0 ? 0 : x[i] - y[i];
  });
}

/**
 * The card line for run.json from `<prefix>-card.txt`: nvidia-smi's CSV (a header with `name`, then the
 * values) and optionally a line "<torch version> <cuda version>", e.g.
 * "NVIDIA H200 (max SM clock 1980 MHz, 143771 MiB, driver 580.159.04), PyTorch 2.11.0+cu130, CUDA 13.0".
 */
export function cardLine(text: string, file: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const header = (lines[0] ?? '').split(',').map((s) => s.trim());
  const values = (lines[1] ?? '').split(',').map((s) => s.trim());
  if (header[0] !== 'name' || values.length !== header.length) {
    throw new DataError(`${file}: expected nvidia-smi --query-gpu=name,clocks.max.sm,memory.total,driver_version --format=csv output (a header starting with "name", then one line of values)`);
  }
  const field = (prefix: string) => values[header.findIndex((h) => h.startsWith(prefix))];
  const details = [
    field('clocks.max.sm') && `max SM clock ${field('clocks.max.sm')}`,
    field('memory.total'),
    field('driver_version') && `driver ${field('driver_version')}`,
  ].filter(Boolean);
  const [torch, cuda] = (lines[2] ?? '').split(/\s+/);
  return [`${values[0]}${details.length > 0 ? ` (${details.join(', ')})` : ''}`, torch && `PyTorch ${torch}`, cuda && `CUDA ${cuda}`].filter(Boolean).join(', ');
}

/**
 * The newest `<card>-<date>[run letter]` prefix in the CUDA folder with an `-ours.csv`: the latest date, and on that date
 * the latest run (no letter, then a, b, …: several device calls a day). One card per run, else pass --cuda.
 */
export function newestCudaPrefix(dir: string): string {
  const RUN = /-(\d{4}-\d{2}-\d{2})([a-z]?)-ours\.csv$/;
  const runs = existsSync(dir)
    ? readdirSync(dir).flatMap((f) => {
        const m = RUN.exec(f);
        return m === null ? [] : [{ prefix: f.slice(0, -'-ours.csv'.length), run: `${m[1]}${m[2]}` }];
      })
    : [];
  if (runs.length === 0) throw new ConfigError(`${dir}: no <card>-<YYYY-MM-DD>[run letter]-ours.csv; copy bench-cuda's CSVs there (experiments/paper/README.md, T8) or pass --cuda`);
  const newest = runs.map((r) => r.run).sort().at(-1) as string;
  const candidates = runs.filter((r) => r.run === newest).map((r) => r.prefix);
  if (candidates.length > 1) throw new ConfigError(`${dir}: several cards measured in run ${newest} (${candidates.join(', ')}); pass --cuda ${join(dir, candidates[0])}`);
  return join(dir, candidates[0]);
}

/** The WebGPU CSVs with the newest date in their name (one run per file, several files per session). */
export function newestWebgpuCsvs(dir: string): string[] {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /-\d{4}-\d{2}-\d{2}(-.*)?\.csv$/.test(f)).sort() : [];
  if (files.length === 0) throw new ConfigError(`${dir}: no <card>-<YYYY-MM-DD>-….csv; copy bench-webgpu's CSVs there or pass --webgpu`);
  const newest = files.map((f) => dateInName(f)).sort().at(-1) as string;
  const picked = files.filter((f) => dateInName(f) === newest);
  const cards = new Set(picked.map((f) => f.slice(0, f.indexOf(newest) - 1)));
  if (cards.size > 1) throw new ConfigError(`${dir}: several cards measured on ${newest} (${[...cards].join(', ')}); pass --webgpu for the files of one card`);
  return picked.map((f) => join(dir, f));
}

export interface CudaInputs {
  measurements: Measurement[];
  files: string[];
  date: string;
  machine: string;
}

/** `<prefix>-ours.csv` (required), `<prefix>-sdpa.csv` and `<prefix>-card.txt` (used when present). */
export function readCudaRun(prefix: string): CudaInputs {
  const date = dateInName(prefix);
  const ours = `${prefix}-ours.csv`;
  const sdpa = `${prefix}-sdpa.csv`;
  const card = `${prefix}-card.txt`;
  if (!existsSync(ours)) throw new ConfigError(`${ours} not found; --cuda takes the path prefix <dir>/<card>-<YYYY-MM-DD> of the -ours.csv / -sdpa.csv / -card.txt files`);
  const files = [ours, sdpa, card].filter((f) => existsSync(f));
  const measurements = [...readCudaCsv(ours, date), ...(existsSync(sdpa) ? readCudaCsv(sdpa, date) : [])];
  // The SDPA baselines also stand beside the Hopper kernels, at the points the run measured them.
  const hopperPoints = new Set(measurements.filter((m) => m.backend === 'cuda-hopper').map((m) => JSON.stringify([m.pass, m.D, m.causal, m.N])));
  const baselines = measurements.filter((m) => m.backend === 'cuda' && (m.impl === 'fa2' || m.impl === 'cudnn'));
  measurements.push(...baselines.filter((m) => hopperPoints.has(JSON.stringify([m.pass, m.D, m.causal, m.N]))).map((m) => ({ ...m, backend: 'cuda-hopper' as const })));
  const machine = existsSync(card) ? cardLine(readFileSync(card, 'utf8'), card) : (measurements[0]?.card ?? 'not recorded');
  return { measurements, files, date, machine };
}
