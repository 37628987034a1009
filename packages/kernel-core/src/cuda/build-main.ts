/** CLI for `nx run kernel-core:build-cuda`: compile, print the ptxas resource table, fail on spills. */
import { buildCuda, spilledKernels } from './build.js';

const result = await buildCuda();
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
  process.exit(1);
}
