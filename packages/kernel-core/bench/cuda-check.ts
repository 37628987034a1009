/**
 * GPU correctness run (forward + backward) without vitest (for the offline GPU bundle, `run.sh
 * cuda-check`): the cases of test/cuda-attention.test.ts — per CUDA kind, --cases random cases of the
 * shared generator plus one long one per ten — under the accuracy rule. Prints one line per case and
 * `N passed, N failed`; exit 1 on failure. On a Hopper GPU every case runs through both kernel
 * families, forward and backward (sm_90a wgmma and FA2; ratios labelled `o@hopper`, `dq@fa2`, ...; D = 32 has FA2 only);
 * SIGATTN_CUDA_HOPPER=0 checks the FA2 kernels only. Then the decode cases (lines starting `decode`): one
 * query per head against caches of 1…4096 keys through forward() (routed to the split-K decode kernel),
 * O and the softmax LSE under the same rule, each run twice and required bit-identical. Then the varlen
 * cases (lines starting `varlen`): packed batches of 3–5 ragged sequences (one of 1 query, one of > 128)
 * through forwardVarlen and backwardVarlen (FA2-class varlen kernels): O, the softmax LSE and dQ/dK/dV of each
 * sequence under the same rule (`o@varlen[s]`, `lse@varlen[s]`, `dq@varlen[s]`, ...).
 *   tsx packages/kernel-core/bench/cuda-check.ts [--seed 1] [--cases 100]   (--help lists the options)
 */
import { cli, runMain } from '@sigattn/common';
import { cudaDriver } from '../src/cuda/driver.js';
import {
  type CudaCheckResult, cudaCheckCases, cudaCheckImplementations, cudaDecodeCases, cudaVarlenCases, runCudaCheck, runCudaDecodeCheck, runCudaVarlenCheck,
} from '../src/cuda/check.js';
import { CUDA_HEAD_DIMS, CUDA_KINDS, type CudaFlashAttention } from '../src/cuda/flash.js';

runMain(async () => {
  const args = await cli('cuda-check')
    .usage('$0 [options]: the CUDA kernels vs the float64 reference on this machine\'s GPU')
    .option('seed', { type: 'number', default: 1, describe: 'seed of the random cases (each case prints the seed that replays it)' })
    .option('cases', { type: 'number', default: 100, describe: 'short random cases per kind (plus one long case per ten)' })
    .check((a) => Number.isInteger(a.seed) || `--seed must be an integer, got ${a.seed}`)
    .check((a) => (Number.isInteger(a.cases) && a.cases > 0) || `--cases must be a positive integer, got ${a.cases}`)
    .parse();
  const driver = cudaDriver();
  console.log(`device: ${driver.info.name} (sm_${driver.info.computeCapability.join('')}, ${driver.info.smCount} SMs, driver ${driver.info.driverVersion})`);
  const flashes = cudaCheckImplementations(driver);
  // Which forward kernels each case runs (the Hopper ones only on 9.x with their cubins built, for HOPPER_HEAD_DIMS).
  const impls = (f: CudaFlashAttention) => CUDA_KINDS.flatMap((k) => CUDA_HEAD_DIMS.map((d) => `${k} D${d} ${f.forwardImpl(k, d)}`)).join(', ');
  console.log(`forward implementations: ${flashes.map(impls).join(' | ')}`);
  let passed = 0, failed = 0;
  const report = (title: string, r: CudaCheckResult) => {
    if (r.ok) passed++;
    else failed++;
    const ratios = r.comparisons.map((x) => `${x.output} ${x.ratio.toFixed(2)}`).join(', ');
    console.log(`${r.ok ? 'PASS' : 'FAIL'} ${title} ${r.label}: error / max(naive, floor) ${ratios}${r.ok ? '' : `\n  ${r.message}`}`);
  };
  for (const c of cudaCheckCases(args.seed, args.cases)) report(c.title, runCudaCheck(driver, flashes, c));
  // The decode kernel is the same on every device (no Hopper variant): one implementation is enough.
  for (const c of cudaDecodeCases(args.seed)) report(c.title, runCudaDecodeCheck(driver, flashes[0], c));
  // The varlen kernels are FA2-class on every device: one implementation is enough.
  for (const c of cudaVarlenCases(args.seed)) report(c.title, runCudaVarlenCheck(driver, flashes[0], c));
  for (const f of flashes) f.dispose();
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
});
