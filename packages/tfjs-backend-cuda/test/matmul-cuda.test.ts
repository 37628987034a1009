/**
 * The BatchMatMul op cases on cuda against cpu, once per implementation: the own TF32 kernel always,
 * cuBLAS where it loads (test/ops.test.ts runs whichever $SIGATTN_CUDA_MATMUL picks). Skipped without a
 * CUDA driver (SIGATTN_REQUIRE_CUDA=1 makes that a failure).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cudaUnavailableReason, initBackend } from '@sigattn/kernel-core';
import { registerCudaBackend } from '../src/index.js';
import { matmulImpl, setMatmulMode, type MatmulMode } from '../src/kernels/matmul.js';
import { matmulCases } from '../src/testing/cases/matmul.js';
import { runOpCases } from '../src/testing/index.js';

const noCuda = cudaUnavailableReason();
if (noCuda !== null && process.env.SIGATTN_REQUIRE_CUDA === '1') throw new Error(`SIGATTN_REQUIRE_CUDA=1 but ${noCuda}`);

describe.skipIf(noCuda !== null)(`BatchMatMul on cuda${noCuda ? ` (skipped: ${noCuda})` : ''}`, () => {
  const saved = { poison: process.env.SIGATTN_CUDA_POISON, fallback: process.env.SIGATTN_CUDA_FALLBACK };
  afterAll(() => {
    for (const [key, value] of [['SIGATTN_CUDA_POISON', saved.poison], ['SIGATTN_CUDA_FALLBACK', saved.fallback]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    setMatmulMode('auto');
  });

  for (const mode of ['own', 'cublas'] as MatmulMode[]) {
    it(`agrees with cpu on the ${mode} implementation, outputs poisoned, no cpu fallback`, async (ctx) => {
      process.env.SIGATTN_CUDA_POISON = '1';
      process.env.SIGATTN_CUDA_FALLBACK = 'error';
      registerCudaBackend();
      await initBackend('cuda');
      if (mode === 'cublas') {
        setMatmulMode('auto');
        const found = matmulImpl();
        if (found.impl !== 'cublas') ctx.skip(`cuBLAS not available: ${found.detail}`);
      }
      setMatmulMode(mode);
      const rows = await runOpCases(matmulCases, 'cuda');
      const failures = rows.filter((r) => !r.pass).map((r) => `${r.name} ${r.what}: err ${r.maxErr.toExponential(2)} > tol ${r.tol} ${r.detail}`);
      expect(failures).toEqual([]);
    });
  }
});
