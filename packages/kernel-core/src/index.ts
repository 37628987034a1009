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
export { initBackend, BACKENDS, type BackendName } from './tfjs/backend.js';
