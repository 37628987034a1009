export {
  resolveAttention,
  resolveBias,
  alibiSlopes,
  attentionFlops,
  isVisible,
  alibiTerm,
  AttentionSpecError,
  type AttentionKind,
  type AttentionSpec,
  type AttentionShape,
  type ResolvedAttention,
  type SigmoidBias,
} from './spec.js';
export { attention } from './tfjs/attention.js';
export { composedAttention } from './tfjs/composed-attention.js';
export { ATTENTION_FWD, ATTENTION_BWD, type AttentionAttrs } from './tfjs/kernel-names.js';
export { attrsFromResolved, resolvedFromAttrs } from './tfjs/attrs.js';
export { flashAttentionForward } from './tfjs/kernels/flash-attention-fwd.js';
export { flashAttentionBackward } from './tfjs/kernels/flash-attention-bwd.js';
export { initBackend, BACKENDS, type BackendName } from './tfjs/backend.js';
export {
  referenceAttentionForward,
  referenceAttentionBackward,
  type ReferenceForward,
  type ReferenceGrads,
} from './reference/attention-ref64.js';
export {
  naiveAttentionF32Forward,
  naiveAttentionF32Backward,
  type NaiveForward,
  type NaiveGrads,
} from './reference/attention-naive-f32.js';
export { makeRng, testSeed, randomNormalF32, type Rng } from './testing/rng.js';
export { randomAttentionCase, type AttentionCase, type RandomCaseOptions } from './testing/random-case.js';
export {
  compareToReference,
  formatComparison,
  expectedAttention,
  checkAttentionCase,
  lseFromStats,
  type Comparison,
  type AttentionExpectation,
  type AttentionOutputName,
} from './testing/compare.js';
export { CudaDriver, CudaError, NoCudaDriverError, cudaDriver, cudaUnavailableReason, type CuPtr, type DeviceInfo } from './cuda/driver.js';
export { DeviceTensor, type CudaDtype } from './cuda/tensor.js';
export { CudaFlashAttention, cudaBuildDir, CUDA_HEAD_DIMS } from './cuda/flash.js';
export * from './webgpu/index.js';
import { registerWebGPUAttentionKernels } from './webgpu/tfjs-kernels.js';
registerWebGPUAttentionKernels();
