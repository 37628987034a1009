/** CLI for `nx run kernel-core:build-cuda`: compile, print the ptxas resource table, fail on spills. */
import { cli, runMain } from '@sigattn/common';
import { CUDA_BUILD_DIR, buildCuda, spilledKernels } from './build.js';

runMain(async () => {
  const args = await cli('build-cuda')
    .usage('$0 [options]: compile cuda/*.cu with nvcc ($NVCC, $CUDA_HOME/bin or PATH) into cubins for sm_80/sm_90 and PTX; fails on register spills')
    .option('out', { type: 'string', default: CUDA_BUILD_DIR, describe: 'build directory (cubins, ptx, ptxas-report.txt, manifest.json)' })
    .parse();
  const result = await buildCuda(args.out);
  console.log(`nvcc ${result.nvccVersion} → ${result.buildDir}`);
  console.log('kernel                              arch    regs  stack  spill-st  spill-ld');
  for (const r of result.resources) {
    console.log(
      `${r.kernel.padEnd(36)}${r.arch.padEnd(8)}${String(r.registers).padStart(4)}${String(r.stackBytes).padStart(7)}` +
        `${String(r.spillStoreBytes).padStart(10)}${String(r.spillLoadBytes).padStart(10)}`,
    );
  }
  const spills = spilledKernels(result.resources);
  if (spills.length > 0) {
    console.error(`register spills in: ${spills.map((r) => `${r.kernel}@${r.arch}`).join(', ')}; shrink the tile config in cuda/*.cu`);
    return 1;
  }
  return 0;
});
