/** CLI for `nx run tfjs-backend-cuda:build-cuda`: kernel-core's nvcc rules (sm_80, sm_90, PTX; fail on spills) over this package's cuda/*.cu. */
import path from 'node:path';
import { cli, runMain } from '@sigattn/common';
import { buildAndReport } from '@sigattn/kernel-core';
import { BACKEND_CUDA_SOURCES, BACKEND_CUDA_SOURCE_DIR } from './device.js';

runMain(async () => {
  const args = await cli('build-cuda')
    .usage('$0 [options]: compile packages/tfjs-backend-cuda/cuda/*.cu with nvcc into cubins for sm_80/sm_90 and PTX; fails on register spills')
    .option('out', { type: 'string', default: path.join(BACKEND_CUDA_SOURCE_DIR, 'build'), describe: 'build directory' })
    .parse();
  return buildAndReport(args.out, { sources: BACKEND_CUDA_SOURCES, sourceDir: BACKEND_CUDA_SOURCE_DIR });
});
