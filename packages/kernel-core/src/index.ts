/**
 * `@sigattn/kernel-core`: the attention spec, the `attention` tfjs op with its kernels, and the WebGPU
 * and CUDA hosts. Importing it registers nothing: initBackend() (and the first attention() call)
 * registers the kernels. Test harnesses live at `@sigattn/kernel-core/testing`.
 */
export {
  ATTENTION_KINDS,
  ELEMENTWISE_KINDS,
  isElementwise,
  resolveAttention,
  resolveBias,
  alibiSlopes,
  attentionFlops,
  isVisible,
  alibiTerm,
  biasForm,
  activation,
  activationGrad,
  AttentionSpecError,
  type AttentionKind,
  type ElementwiseKind,
  type AttentionSpec,
  type AttentionShape,
  type ResolvedAttention,
  type AttentionBias,
} from './spec.js';
export { attention } from './tfjs/attention.js';
export { composedAttention, attentionWeights } from './tfjs/composed-attention.js';
export { ATTENTION_FWD, ATTENTION_BWD, type AttentionAttrs } from './tfjs/kernel-names.js';
export { ADAMW_UPDATE, ADAMW_UPDATE_MULTI, type AdamWAttrs, type AdamWMultiAttrs } from './tfjs/adamw-names.js';
export { fusedNorm, composedNorm } from './tfjs/norm.js';
export { NORM_FWD, NORM_BWD, NORM_KINDS, type NormAttrs, type NormKind } from './tfjs/norm-names.js';
export { fusedActivation, composedActivation } from './tfjs/activation.js';
export { ACTIVATION_FWD, ACTIVATION_BWD, ACTIVATION_KINDS, GELU_TANH_A, GELU_TANH_C, type ActivationAttrs, type ActivationKind } from './tfjs/activation-names.js';
export { attrsFromResolved, resolvedFromAttrs } from './tfjs/attrs.js';
export { registerAttentionKernels } from './tfjs/register.js';
export { registerKernelSupport, type KernelSupportCheck } from './tfjs/kernel-support.js';
export { initBackend, BACKENDS, type BackendName } from './tfjs/backend.js';
export { CudaDriver, CudaError, NoCudaDriverError, cudaDriver, cudaUnavailableReason, type CuPtr, type DeviceInfo } from './cuda/driver.js';
export { DeviceTensor, type CudaDtype } from './cuda/tensor.js';
export { buildAndReport, buildCuda, findNvcc, spilledKernels, type CudaSourceSet, type KernelResources } from './cuda/build.js';
export { CudaFlashAttention, cudaBuildDir, CUDA_HEAD_DIMS, CUDA_KINDS, HOPPER_HEAD_DIMS, type CudaKind, type TmaForwardMode } from './cuda/flash.js';
export * from './webgpu/index.js';
