/** Conversions between the resolved spec and the plain kernel attributes of kernel-names.ts. */
import type { ResolvedAttention } from '../spec.js';
import type { AttentionAttrs } from './kernel-names.js';

export function attrsFromResolved(r: ResolvedAttention): AttentionAttrs {
  return {
    kind: r.kind,
    scale: r.scale,
    bias: r.bias,
    causal: r.causal,
    alibiSlopes: r.alibiSlopes === null ? null : Array.from(r.alibiSlopes),
    keyLengths: r.keyLengths === null ? null : Array.from(r.keyLengths),
  };
}

/**
 * Rebuild the resolved spec inside a kernel from the input shapes and the attributes. The attributes
 * were produced by `attrsFromResolved` after `resolveAttention` validated them, so this only reshapes.
 */
export function resolvedFromAttrs(qShape: readonly number[], kShape: readonly number[], attrs: AttentionAttrs): ResolvedAttention {
  const [B, H, Nq, D] = qShape;
  const [, Hkv, Nk] = kShape;
  return {
    B, H, Hkv, Nq, Nk, D,
    kind: attrs.kind,
    scale: attrs.scale,
    bias: attrs.bias,
    causal: attrs.causal,
    alibiSlopes: attrs.alibiSlopes === null ? null : Float64Array.from(attrs.alibiSlopes),
    keyLengths: attrs.keyLengths === null ? null : Int32Array.from(attrs.keyLengths),
  };
}
