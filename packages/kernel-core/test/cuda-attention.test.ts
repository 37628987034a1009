// GPU correctness of the CUDA forward and backward kernels: the shared random cases (≥ 100 per kind,
// src/cuda/check.ts) under the project's accuracy rule, outputs poisoned. Without a driver the file
// reports itself skipped with the reason; under SIGATTN_REQUIRE_CUDA=1 (nx test-cuda, meant for GPU
// hosts) a missing driver fails.
import { afterAll, describe, expect, it } from 'vitest';
import { cudaDriver, cudaUnavailableReason } from '../src/cuda/driver.js';
import {
  cudaCheckCases, cudaCheckImplementations, cudaDecodeCases, cudaVarlenCases, runCudaCheck, runCudaDecodeCheck, runCudaVarlenCheck, suiteSeed,
} from '@sigattn/kernel-core/testing';

const reason = cudaUnavailableReason();
const seed = suiteSeed(20261204);
const title = reason === null ? `CUDA flash attention forward + backward (GPU, seed ${seed})` : `CUDA flash attention forward + backward (skipped: ${reason})`;

if (reason !== null && process.env.SIGATTN_REQUIRE_CUDA) {
  it('needs a CUDA GPU (SIGATTN_REQUIRE_CUDA is set)', () => {
    throw new Error(reason);
  });
}

describe.skipIf(reason !== null)(title, () => {
  // On a Hopper GPU: the sm_90a forward kernels and the FA2 ones, each case through both.
  const flashes = reason === null ? cudaCheckImplementations(cudaDriver()) : [];
  afterAll(() => flashes.forEach((f) => f.dispose()));

  for (const c of cudaCheckCases(seed)) {
    it(c.title, () => {
      expect(runCudaCheck(cudaDriver(), flashes, c).message).toBe('');
    });
  }
  // Decode (Nq = 1 against a KV cache of 1…4096 keys, the split-K kernel forward() routes to): O, the softmax LSE, bit-reproducible.
  for (const c of cudaDecodeCases(seed)) {
    it(c.title, () => {
      expect(runCudaDecodeCheck(cudaDriver(), flashes[0], c).message).toBe('');
    });
  }
  // Varlen (packed ragged sequences through forwardVarlen): O of each sequence.
  for (const c of cudaVarlenCases(seed)) {
    it(c.title, () => {
      expect(runCudaVarlenCheck(cudaDriver(), flashes[0], c).message).toBe('');
    });
  }
});
