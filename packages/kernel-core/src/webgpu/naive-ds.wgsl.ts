/**
 * Naive backward, step 1: dP = dO Vᵀ per element, then sigmoid's dS = P(1 − P)dP directly;
 * for softmax it stores dP and naive-softmax-ds-rows finishes dS = P(dP − rowsum(P∘dP)).
 */
import { FLAT_MAIN_WGSL, PARAMS_WGSL, storageBindings, type HeadDim } from './common.wgsl.js';
import type { WebGPUKind } from './host.js';
import type { KernelSource } from './flash-sigmoid-fwd.wgsl.js';

export function naiveDs(kind: WebGPUKind, D: HeadDim): KernelSource {
  const bindings: Array<[string, string, 'read' | 'read_write']> = [['v', 'f32', 'read'], ['dO', 'f32', 'read'], ['ds', 'f32', 'read_write']];
  if (kind === 'sigmoid') bindings.push(['p', 'f32', 'read']);
  const code = `${PARAMS_WGSL}
${storageBindings(bindings)}
${FLAT_MAIN_WGSL}
  if (idx >= P.B * P.H * P.Nq * P.Nk) { return; }
  let j = idx % P.Nk;
  let row = idx / P.Nk;
  let h = (row / P.Nq) % P.H;
  let b = row / (P.Nq * P.H);
  let vOff = ((b * P.Hkv + h / (P.H / P.Hkv)) * P.Nk + j) * ${D}u;
  var dp = 0.0;
  for (var d = 0u; d < ${D}u; d++) { dp += dO[row * ${D}u + d] * v[vOff + d]; }
  ${kind === 'sigmoid' ? 'ds[idx] = p[idx] * (1.0 - p[idx]) * dp;' : 'ds[idx] = dp;'}
}
`;
  return { code, bindings: bindings.map(([n]) => n) };
}
