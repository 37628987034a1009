/**
 * `@sigattn/kernel-core/testing`: what every back end's tests share — the float64 reference, the naive
 * same-precision yardstick, the random-case generator, the one accuracy rule, and the WebGPU and CUDA
 * case runners. Not part of the package's main entry point.
 */
export { suiteSeed } from './seed.js';
export { randomAttentionCase, randomAttentionCases, roundedAttentionCase, type AttentionCase, type RandomCaseOptions } from './random-case.js';
export {
  compareToReference,
  checkAttentionCase,
  expectedAttention,
  formatComparison,
  lseFromStats,
  ATTENTION_OUTPUTS,
  UNIT_ROUNDOFF,
  type AttentionExpectation,
  type AttentionOutputName,
  type CaseCheck,
  type Comparison,
  type OutputDtype,
} from './accuracy.js';
export { referenceAttentionForward, referenceAttentionBackward, type ReferenceForward, type ReferenceGrads } from '../reference/attention-ref64.js';
export { naiveAttentionF32Forward, naiveAttentionF32Backward, type NaiveForward, type NaiveGrads } from '../reference/attention-naive-f32.js';
export { runWebGPUCase, type AttentionOutputs } from '../webgpu/check.js';
export {
  cudaCheckCases, cudaCheckCase, cudaCheckImplementations, runCudaCheck, type CudaCheckCase, type CudaCheckResult,
  cudaDecodeCases, cudaDecodeCase, runCudaDecodeCheck, DECODE_CHECK_KEY_LENGTHS, type CudaDecodeCase,
  cudaVarlenCases, cudaVarlenCase, runCudaVarlenCheck, type CudaVarlenCase, type VarlenCase,
} from '../cuda/check.js';
