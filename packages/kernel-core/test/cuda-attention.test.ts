// GPU correctness of the CUDA forward and backward kernels (src/cuda/check.ts: float64 reference, 2× naive
// same-precision rule, poisoned outputs). Without a driver the file reports itself skipped with the
// reason; under SIGATTN_REQUIRE_CUDA=1 (nx test-cuda, meant for GPU hosts) a missing driver fails.
import { afterAll, describe, expect, it } from 'vitest';
import { cudaDriver, cudaUnavailableReason } from '../src/cuda/driver.js';
import { caseLabel, cudaCheckCases, runCudaCheck } from '../src/cuda/check.js';
import { CudaFlashAttention } from '../src/cuda/flash.js';

const reason = cudaUnavailableReason();
const title = reason === null ? 'CUDA flash attention forward + backward (GPU)' : `CUDA flash attention forward + backward (skipped: ${reason})`;

if (reason !== null && process.env.SIGATTN_REQUIRE_CUDA) {
  it('needs a CUDA GPU (SIGATTN_REQUIRE_CUDA is set)', () => {
    throw new Error(reason);
  });
}

describe.skipIf(reason !== null)(title, () => {
  const flash = reason === null ? new CudaFlashAttention() : null;
  afterAll(() => flash?.dispose());

  cudaCheckCases().forEach((c, n) => {
    it(caseLabel(c), () => {
      const res = runCudaCheck(cudaDriver(), flash!, c, 1000 + n);
      expect(res.lseUnwritten, 'softmax LSE rows left unwritten').toBe(0);
      expect(res.naiveError).toBeGreaterThan(0);
      expect(res.maxError, `O: max err ${res.maxError} vs naive ${res.naiveError}`).toBeLessThanOrEqual(2 * res.naiveError);
      for (const g of res.grads) {
        expect(g.naiveError, `${g.name} naive error`).toBeGreaterThan(0);
        expect(g.maxError, `${g.name}: max err ${g.maxError} vs naive ${g.naiveError}`).toBeLessThanOrEqual(2 * g.naiveError);
      }
    });
  });
});
