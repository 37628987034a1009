/**
 * Which specs a backend's fused kernels cover. A backend whose kernels are narrower than the spec
 * (WebGPU: head dims 32/64/128 only) registers a check here; for specs it rejects, `attention()` runs
 * the composed tfjs ops instead of failing, so any model runs on any backend.
 */
import type { ResolvedAttention } from '../spec.js';

/** Returns null when the backend's fused kernels support `r`, else the reason they don't. */
export type KernelSupportCheck = (r: ResolvedAttention) => string | null;

const checks = new Map<string, KernelSupportCheck>();

export function registerKernelSupport(backend: string, check: KernelSupportCheck): void {
  checks.set(backend, check);
}

export function unsupportedReason(backend: string, r: ResolvedAttention): string | null {
  return checks.get(backend)?.(r) ?? null;
}
