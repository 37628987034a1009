/** CLI for `nx run kernel-core:build-cuda`: compile, print the ptxas resource table, fail on spills. */
import { cli, runMain } from '@sigattn/common';
import { CUDA_BUILD_DIR, buildAndReport } from './build.js';

runMain(async () => {
  const args = await cli('build-cuda')
    .usage('$0 [options]: compile cuda/*.cu with nvcc ($NVCC, $CUDA_HOME/bin or PATH) into cubins for sm_80/sm_90 and PTX; fails on register spills')
    .option('out', { type: 'string', default: CUDA_BUILD_DIR, describe: 'build directory (cubins, ptx, ptxas-report.txt, manifest.json)' })
    .parse();
  return buildAndReport(args.out);
});
