/**
 * T8 "Kernel speed": `npx nx run experiments:paper-t8` (or `tsx experiments/paper/t8/main.ts`).
 * Derives speed.csv and run.json (measurement date, card, inputs with their sha256) from kernel-core's
 * committed benchmark CSVs; deterministic, no GPU needed. By default it takes the newest CUDA run
 * (<card>-<date>-ours.csv, -sdpa.csv, -card.txt) and the newest WebGPU CSVs under
 * packages/kernel-core/benchmarks/. paper-reported.csv (the paper's own speed-ups) is typed by hand, not written here.
 */
import { join } from 'node:path';
import { cli, ConfigError, runMain, sha256File, writeCsv, writeFileAtomic } from '@sigattn/common';
import { newestCudaPrefix, newestWebgpuCsvs, readCudaRun, readWebgpuCsv, SPEED_COLUMNS, speedTable } from './speed.js';

const HERE = 'experiments/paper/t8';
const BENCHMARKS = 'packages/kernel-core/benchmarks';

async function main(): Promise<void> {
  const args = await cli('paper-t8')
    .usage('$0 [--cuda prefix] [--webgpu file.csv …] [--out dir]\n\nT8: kernel speed of FlashSigmoid vs softmax attention, from the committed benchmark CSVs.')
    .option('cuda', { type: 'string', describe: `path prefix <dir>/<card>-<YYYY-MM-DD>[run letter] of the CUDA run's -ours.csv, -sdpa.csv, -card.txt (default: the newest in ${BENCHMARKS}/cuda)` })
    .option('webgpu', { type: 'string', array: true, describe: `WebGPU bench CSVs (default: those with the newest date in ${BENCHMARKS}/webgpu)` })
    .option('webgpu-hidden', { type: 'number', default: 2048, describe: 'hidden size of the WebGPU rows to use (the CUDA runs use 2048)' })
    .option('out', { type: 'string', default: HERE, describe: 'folder for speed.csv and run.json' })
    .parse();
  const cuda = readCudaRun(args.cuda ?? newestCudaPrefix(join(BENCHMARKS, 'cuda')));
  const webgpuFiles = args.webgpu ?? newestWebgpuCsvs(join(BENCHMARKS, 'webgpu'));
  const webgpu = webgpuFiles.flatMap((f) => readWebgpuCsv(f, args['webgpu-hidden']));
  if (webgpu.length === 0) throw new ConfigError(`${webgpuFiles.join(', ')}: no FlashSigmoid/FlashSoftmax rows at hidden ${args['webgpu-hidden']}; pass --webgpu-hidden with a size the run has`);
  const rows = speedTable([...cuda.measurements, ...webgpu]);

  const webgpuDates = [...new Set(webgpu.map((m) => m.date))].sort();
  const adapters = [...new Set(webgpu.map((m) => m.card))];
  const run = {
    date: `${cuda.date} (CUDA), ${webgpuDates.join(', ')} (WebGPU)`,
    machine: `CUDA: ${cuda.machine}; WebGPU: Dawn on Vulkan, adapter ${adapters.join(', ')}`,
    command: 'npx nx run experiments:paper-t8',
    inputs: [...cuda.files, ...webgpuFiles].map((path) => ({ path, sha256: sha256File(path) })),
  };
  writeCsv(join(args.out, 'speed.csv'), rows, SPEED_COLUMNS);
  writeFileAtomic(join(args.out, 'run.json'), `${JSON.stringify(run, null, 2)}\n`);
  const count = (backend: string) => rows.filter((r) => r.backend === backend).length;
  console.log(`wrote ${join(args.out, 'speed.csv')} (${rows.length} rows: ${count('cuda')} CUDA FA2-class, ${count('cuda-hopper')} CUDA Hopper, ${count('webgpu')} WebGPU) and run.json`);
}

runMain(main);
