/**
 * The cuda backend's checks on a GPU host (the offline bundle's `cuda-backend-check`): the op suite and
 * the zoo's loss/gradients, both against tfjs's cpu backend, with new outputs NaN-poisoned and the cpu
 * fallback disabled. Prints the failures and a summary, writes both tables as CSV; exit 1 on any failure.
 */
import { cli, runMain, writeCsv, type Row } from '@sigattn/common';
import { initBackend } from '@sigattn/kernel-core';
import * as tf from '@tensorflow/tfjs';
import { fallbackCounts, registerCudaBackend, type CudaBackend } from '../src/index.js';
import { OP_CASES, runOpCases, runZooCheck } from '../src/testing/index.js';

runMain(async () => {
  const a = await cli('cuda-backend-check')
    .usage('$0 [options]: op suite + zoo loss/gradient check of the tfjs cuda backend against cpu')
    .option('out', { type: 'string', default: 'bench-results/cuda-backend', describe: 'folder for ops.csv and zoo.csv' })
    .option('only', { type: 'string', default: 'ops,zoo', describe: 'ops, zoo or both' })
    .option('filter', { type: 'string', default: '', describe: 'only op cases / variants whose name contains this' })
    .option('allow-fallback', { type: 'boolean', default: false, describe: 'let kernels without a cuda kernel run on the cpu fallback (a smoke test of the core)' })
    .parse();
  process.env.SIGATTN_CUDA_POISON = '1';
  if (!a.allowFallback) process.env.SIGATTN_CUDA_FALLBACK = 'error';
  registerCudaBackend();
  await initBackend('cuda');
  console.log(`device: ${(tf.backend() as unknown as CudaBackend).device.driver.info.name}`);
  let failed = 0;
  if (a.only.includes('ops')) {
    const rows = await runOpCases(OP_CASES.filter((c) => c.name.includes(a.filter)), 'cuda');
    writeCsv(`${a.out}/ops.csv`, rows as unknown as Row[]);
    const bad = rows.filter((r) => !r.pass);
    for (const r of bad) console.log(`FAIL op ${r.name} ${r.what}: err ${r.maxErr.toExponential(2)} > ${r.tol} ${r.detail}`);
    console.log(`ops: ${rows.length - bad.length} passed, ${bad.length} failed (${new Set(rows.map((r) => r.name)).size} cases)`);
    failed += bad.length;
  }
  if (a.only.includes('zoo')) {
    await initBackend('cuda');
    const rows = await runZooCheck('cuda');
    const picked = rows.filter((r) => r.variant.includes(a.filter));
    writeCsv(`${a.out}/zoo.csv`, picked as unknown as Row[]);
    const bad = picked.filter((r) => !r.pass);
    for (const r of picked) {
      console.log(`${r.pass ? 'ok  ' : 'FAIL'} zoo ${r.variant}: loss ${r.lossRef.toFixed(4)} err ${r.lossErr.toExponential(2)}, grad err ${r.gradErr.toExponential(2)} (${r.worstParam}), tol ${r.tol}`);
    }
    console.log(`zoo: ${picked.length - bad.length} passed, ${bad.length} failed`);
    const fallbacks = [...fallbackCounts()].map(([k, n]) => `${k}×${n}`).join(', ');
    if (fallbacks) console.log(`cpu fallback calls: ${fallbacks}`);
    failed += bad.length;
  }
  return failed === 0 ? 0 : 1;
});
