/**
 * Every zoo model's loss and gradients against cpu: on wasm in CI (checks the check), on cuda where a
 * driver exists (SIGATTN_REQUIRE_CUDA=1 makes its absence a failure).
 */
import { describe, expect, it } from 'vitest';
import { cudaUnavailableReason, initBackend } from '@sigattn/kernel-core';
import { registerCudaBackend } from '../src/index.js';
import { runZooCheck, type ZooCheckRow } from '../src/testing/index.js';

const noCuda = cudaUnavailableReason();

const failing = (rows: ZooCheckRow[]) =>
  rows.filter((r) => !r.pass).map((r) => `${r.variant}: loss err ${r.lossErr.toExponential(2)}, grad err ${r.gradErr.toExponential(2)} (${r.worstParam}) > ${r.tol}`);

describe('zoo loss and gradients vs cpu', () => {
  it('wasm matches cpu on every variant', async () => {
    await initBackend('wasm');
    const rows = await runZooCheck('wasm');
    expect(rows.length).toBeGreaterThanOrEqual(40);
    for (const r of rows) expect(r.params, r.variant).toBeGreaterThan(0);
    expect(failing(rows)).toEqual([]);
  }, 300_000);

  describe.skipIf(noCuda !== null)(`on cuda${noCuda ? ` (skipped: ${noCuda})` : ''}`, () => {
    it('cuda matches cpu on every variant, without the cpu fallback', async () => {
      process.env.SIGATTN_CUDA_FALLBACK = 'error';
      registerCudaBackend();
      await initBackend('cuda');
      expect(failing(await runZooCheck('cuda'))).toEqual([]);
    }, 600_000);
  });
});
