/**
 * The op suite (src/testing): on wasm against cpu in CI — which checks the cases themselves — and on
 * cuda against cpu where a CUDA driver is present (SIGATTN_REQUIRE_CUDA=1 makes its absence a failure).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { cudaUnavailableReason, initBackend } from '@sigattn/kernel-core';
import { registerCudaBackend } from '../src/index.js';
import { OP_CASES, runOpCases } from '../src/testing/index.js';

const noCuda = cudaUnavailableReason();
if (noCuda !== null && process.env.SIGATTN_REQUIRE_CUDA === '1') throw new Error(`SIGATTN_REQUIRE_CUDA=1 but ${noCuda}`);

function failures(rows: Awaited<ReturnType<typeof runOpCases>>): string[] {
  return rows.filter((r) => !r.pass).map((r) => `${r.name} ${r.what}: err ${r.maxErr.toExponential(2)} > tol ${r.tol} ${r.detail}`);
}

describe('op cases', () => {
  it('have unique names and at least one kernel each', () => {
    expect(new Set(OP_CASES.map((c) => c.name)).size).toBe(OP_CASES.length);
    for (const c of OP_CASES) expect(c.kernels.length, c.name).toBeGreaterThan(0);
  });

  it('flag an output or gradient that differs on the tested backend, and a kernel that throws', async () => {
    await initBackend('wasm');
    const wrongOnWasm = (x: tf.Tensor) => (tf.getBackend() === 'wasm' ? tf.mul(x, 1.001) : tf.mul(x, 1));
    const rows = await runOpCases([
      { name: 'off by 1e-3', kernels: ['Multiply'], inputs: [{ shape: [5] }], run: wrongOnWasm, grad: true },
      { name: 'throws', kernels: ['Multiply'], inputs: [{ shape: [5] }], run: (x) => (tf.getBackend() === 'wasm' ? tf.reshape(x, [7]) : x) },
    ], 'wasm');
    expect(rows.map((r) => [r.name, r.what, r.pass])).toEqual([['off by 1e-3', 'out0', false], ['off by 1e-3', 'grad0', false], ['throws', 'run', false]]);
  });

  it('agree between wasm and cpu (the cases are sound)', async () => {
    await initBackend('wasm');
    expect(failures(await runOpCases(OP_CASES, 'wasm'))).toEqual([]);
  });

  describe.skipIf(noCuda !== null)(`on cuda${noCuda ? ` (skipped: ${noCuda})` : ''}`, () => {
    it('agree with cpu, with uninitialised outputs poisoned and no cpu fallback', async () => {
      process.env.SIGATTN_CUDA_POISON = '1';
      process.env.SIGATTN_CUDA_FALLBACK = 'error';
      registerCudaBackend();
      await initBackend('cuda');
      expect(failures(await runOpCases(OP_CASES, 'cuda'))).toEqual([]);
    });
  });
});
