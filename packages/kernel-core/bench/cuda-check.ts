/**
 * GPU correctness run (forward + backward) without vitest (for the offline GPU bundle): the same cases as
 * test/cuda-attention.test.ts. Prints one line per case and `N passed, N failed`; exit 1 on failure.
 *   tsx packages/kernel-core/bench/cuda-check.ts
 */
import { cudaDriver } from '../src/cuda/driver.js';
import { cudaCheckCases, runCudaCheck } from '../src/cuda/check.js';
import { CudaFlashAttention } from '../src/cuda/flash.js';

const driver = cudaDriver();
console.log(`device: ${driver.info.name} (sm_${driver.info.computeCapability.join('')}, ${driver.info.smCount} SMs, driver ${driver.info.driverVersion})`);
const flash = new CudaFlashAttention(driver);
let passed = 0, failed = 0;
cudaCheckCases().forEach((c, n) => {
  const r = runCudaCheck(driver, flash, c, 1000 + n);
  if (r.ok) passed++;
  else failed++;
  const fmt = (name: string, e: number, n: number) => `${name} ${e.toExponential(2)} ≤ ${(2 * n).toExponential(2)}?`;
  console.log(`${r.ok ? 'PASS' : 'FAIL'} ${r.label}: ` +
    [fmt('O', r.maxError, r.naiveError), ...r.grads.map((g) => fmt(g.name, g.maxError, g.naiveError))].join(', ') +
    (r.lseUnwritten ? `, ${r.lseUnwritten} LSE rows unwritten` : ''));
});
flash.dispose();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
