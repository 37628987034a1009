import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attentionTflops, makeTempDir, parseCsv, readCsv, toCsv, type Row } from '@sigattn/common';
import { cardLine, newestCudaPrefix, newestWebgpuCsvs, readCudaRun, readWebgpuCsv, SPEED_COLUMNS, speedTable } from '../speed.js';

let tmp: { path: string; remove: () => void };
beforeEach(() => {
  tmp = makeTempDir('sigattn-t8-');
});
afterEach(() => tmp.remove());

/** A CUDA bench row whose tflops column is what the time gives (rounded to 0.1, as cuda-bench writes it). */
function cudaRow(impl: string, pass: 'fwd' | 'bwd', N: number, ms: number, causal: string | boolean = 'false', D = 64): Row {
  const B = 16384 / N;
  const H = 2048 / D;
  const tflops = attentionTflops({ batch: B, heads: H, n: N, d: D, causal: String(causal).toLowerCase() === 'true' }, ms, pass);
  return { card: 'NVIDIA H200', impl, pass_: pass, D, causal: String(causal), N, B, H, ms, tflops: Math.round(tflops * 10) / 10 };
}

function write(name: string, rows: Row[]): string {
  const path = join(tmp.path, name);
  writeFileSync(path, toCsv(rows));
  return path;
}

describe('T8 speed table', () => {
  it('pairs sigmoid with softmax, FA2 and cuDNN at each point; ratios are sigmoid TFLOP/s ÷ the other (= other time ÷ sigmoid time)', () => {
    write('h200-2026-12-01-ours.csv', [
      cudaRow('ours-sigmoid', 'fwd', 4096, 2.0),
      cudaRow('ours-softmax', 'fwd', 4096, 2.5),
      cudaRow('ours-sigmoid', 'bwd', 4096, 8.0),
      cudaRow('ours-softmax', 'bwd', 4096, 8.2),
    ]);
    // PyTorch writes causal as False; the sdpa-math row is not a kernel T8 compares.
    write('h200-2026-12-01-sdpa.csv', [
      cudaRow('sdpa-flash2', 'fwd', 4096, 2.2, 'False'),
      cudaRow('sdpa-cudnn', 'fwd', 4096, 1.0, 'False'),
      cudaRow('sdpa-math', 'fwd', 4096, 9.0, 'False'),
    ]);
    writeFileSync(join(tmp.path, 'h200-2026-12-01-card.txt'), 'name, clocks.max.sm [MHz], memory.total [MiB], driver_version\nNVIDIA H200, 1980 MHz, 143771 MiB, 580.159.04\n2.11.0+cu130 13.0\n');
    const run = readCudaRun(newestCudaPrefix(tmp.path));
    expect(run.date).toBe('2026-12-01');
    expect(run.machine).toBe('NVIDIA H200 (max SM clock 1980 MHz, 143771 MiB, driver 580.159.04), PyTorch 2.11.0+cu130, CUDA 13.0');
    expect(run.files.map((f) => f.slice(tmp.path.length + 1))).toEqual(['h200-2026-12-01-ours.csv', 'h200-2026-12-01-sdpa.csv', 'h200-2026-12-01-card.txt']);
    const rows = speedTable(run.measurements);
    expect(rows.map((r) => r.pass)).toEqual(['fwd', 'bwd']);
    const [fwd, bwd] = rows;
    expect(fwd).toMatchObject({ backend: 'cuda', D: 64, causal: 'false', N: 4096, B: 4, H: 32, sigmoid_over_softmax: 1.25, sigmoid_over_fa2: 1.1, sigmoid_over_cudnn: 0.5 });
    // 4·4·32·4096²·64 FLOP in 2 ms.
    expect(fwd.sigmoid_tflops).toBeCloseTo((4 * 4 * 32 * 4096 ** 2 * 64) / 2e-3 / 1e12, 2);
    expect(bwd).toMatchObject({ sigmoid_over_softmax: 1.025, fa2_tflops: null, cudnn_tflops: null, sigmoid_over_fa2: null });
  });

  it('puts the Hopper kernels beside the same SDPA rows as a cuda-hopper backend, and takes the latest run of the latest day', () => {
    write('h200-2026-12-01-ours.csv', [cudaRow('ours-sigmoid', 'fwd', 4096, 9.0), cudaRow('ours-softmax', 'fwd', 4096, 9.0)]);
    write('h200-2026-12-01b-ours.csv', [
      cudaRow('ours-sigmoid', 'fwd', 4096, 2.4),
      cudaRow('ours-softmax', 'fwd', 4096, 2.6),
      cudaRow('ours-hopper-sigmoid', 'fwd', 4096, 1.6),
      cudaRow('ours-hopper-softmax', 'fwd', 4096, 2.0),
      cudaRow('ours-sigmoid', 'fwd', 8192, 9.6),
      cudaRow('ours-softmax', 'fwd', 8192, 10.4),
    ]);
    write('h200-2026-12-01b-sdpa.csv', [cudaRow('sdpa-flash2', 'fwd', 4096, 2.4, 'False'), cudaRow('sdpa-flash2', 'fwd', 8192, 9.6, 'False')]);
    write('h200-2026-11-30c-ours.csv', [cudaRow('ours-sigmoid', 'fwd', 4096, 9.0)]);
    const prefix = newestCudaPrefix(tmp.path);
    expect(prefix).toBe(join(tmp.path, 'h200-2026-12-01b'));
    const rows = speedTable(readCudaRun(prefix).measurements);
    // The FA2-class point at 8192 has no Hopper twin, so the cuda-hopper backend gets no 8192 row.
    expect(rows.map((r) => `${r.backend} ${r.N}`)).toEqual(['cuda 4096', 'cuda 8192', 'cuda-hopper 4096']);
    expect(rows[2]).toMatchObject({ sigmoid_over_softmax: 1.25, sigmoid_over_fa2: 1.5, cudnn_tflops: null });
    expect(rows[0]).toMatchObject({ sigmoid_over_fa2: 1 });
    write('a100-2026-12-01b-ours.csv', [cudaRow('ours-sigmoid', 'fwd', 4096, 9.0)]);
    expect(() => newestCudaPrefix(tmp.path)).toThrow(/several cards measured in run 2026-12-01b \(.*\); pass --cuda/);
  });

  it('reads only the flash rows of the WebGPU CSVs at the chosen hidden size', () => {
    const base = { adapter: 'nvidia / nvidia-h200', date: '2026-11-28T08:21:37.021Z', D: 64, causal: 'false', N: 1024, B: 16 };
    const row = (kind: string, impl: string, r: string, hidden: number, ms: number) => {
      const H = hidden / 64;
      return { ...base, kind, row: r, impl, pass: 'fwd', hidden, H, ms, tflops: attentionTflops({ batch: 16, heads: H, n: 1024, d: 64, causal: false }, ms, 'fwd') };
    };
    write('h200-2026-11-27-a.csv', [row('sigmoid', 'FlashSigmoid', 'flash', 2048, 9)]);
    const file = write('h200-2026-11-28-a.csv', [
      row('sigmoid', 'FlashSigmoid', 'flash', 2048, 1.0),
      row('softmax', 'FlashSoftmax', 'flash', 2048, 1.1),
      row('softmax', 'FlashSoftmax', 'flash', 1024, 0.6),
      row('sigmoid', 'naive WGSL', 'naive', 2048, 50),
    ]);
    expect(newestWebgpuCsvs(tmp.path)).toEqual([file]);
    const rows = speedTable(readWebgpuCsv(file, 2048));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ backend: 'webgpu', date: '2026-11-28', card: 'nvidia / nvidia-h200', H: 32, sigmoid_over_softmax: 1.1, fa2_tflops: null });
  });

  it('bad benchmark files fail with one line naming the file (and row) and the fix', () => {
    const run = (rows: Row[], sdpa: Row[] = []) => () => {
      write('h200-2026-12-01-ours.csv', rows);
      if (sdpa.length > 0) write('h200-2026-12-01-sdpa.csv', sdpa);
      return speedTable(readCudaRun(join(tmp.path, 'h200-2026-12-01')).measurements);
    };
    const sig = cudaRow('ours-sigmoid', 'fwd', 1024, 1);
    const soft = cudaRow('ours-softmax', 'fwd', 1024, 1.1);
    expect(run([sig])).toThrow(/ours\.csv:2: cuda fwd, D 64, causal false, N 1024 has no softmax row; T8 needs both kinds/);
    expect(run([sig, soft, sig])).toThrow(/ours\.csv:4: a second sigmoid fwd row for D 64, causal false, N 1024 \(the first is .*ours\.csv:2\)/);
    expect(run([sig, { ...soft, tflops: 100 }])).toThrow(/ours\.csv:3: tflops 100 disagrees with 4·B·H·N²·D \/ ms = \d+\.\d\d; the benchmark counted FLOPs differently/);
    expect(run([sig, { ...soft, causal: 'yes' }])).toThrow(/ours\.csv:3: causal = "yes"; expected true or false/);
    expect(run([sig, soft], [{ ...cudaRow('sdpa-flash2', 'fwd', 1024, 1, 'False'), B: 8, tflops: (sig.tflops as number) / 2 }])).toThrow(
      /sdpa\.csv:2: cuda fwd, D 64, causal false, N 1024: B·H = 8·32, but the sigmoid row .* has 16·32; a speed ratio needs the same shape/,
    );
    expect(run([{ card: 'x', impl: 'ours-sigmoid' }])).toThrow(/ours\.csv: missing column\(s\) pass_, D, causal, N, B, H, ms, tflops/);
    expect(() => readCudaRun(join(tmp.path, 'h200-2026-12-02'))).toThrow(/h200-2026-12-02-ours\.csv not found; --cuda takes the path prefix/);
    expect(() => readCudaRun(join(tmp.path, 'h200'))).toThrow(/h200: no date in the file name; name benchmark files <card>-<YYYY-MM-DD>-ours\.csv/);
    expect(() => newestCudaPrefix(join(tmp.path, 'none'))).toThrow(/none: no <card>-<YYYY-MM-DD>\[run letter\]-ours\.csv/);
    expect(() => cardLine('GPU 0: H200\n', 'c.txt')).toThrow(/^c\.txt: expected nvidia-smi/);
  });

  it('the committed speed.csv is what the committed benchmark CSVs give (run npx nx run experiments:paper-t8 after adding a benchmark)', () => {
    const cuda = readCudaRun(newestCudaPrefix('packages/kernel-core/benchmarks/cuda'));
    const webgpu = newestWebgpuCsvs('packages/kernel-core/benchmarks/webgpu').flatMap((f) => readWebgpuCsv(f, 2048));
    const expected = parseCsv(toCsv(speedTable([...cuda.measurements, ...webgpu]), SPEED_COLUMNS));
    expect(readCsv('experiments/paper/t8/speed.csv')).toEqual(expected);
  });
});
