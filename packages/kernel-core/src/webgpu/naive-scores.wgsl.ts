/**
 * Naive attention, step 1: the full [B, H, Nq, Nk] score matrix, one invocation per element.
 * sigmoid writes P = σ(s) (0 where masked) and the contract's row statistics (m, l) = (0, 1);
 * softmax writes the logit (−∞ where masked) for naive-softmax-rows to normalise. The naive path is the same-precision baseline for tests
 * (the flash kernels must stay within 2× its error) and for benchmarks.
 */
import { FLAT_MAIN_WGSL, PARAMS_WGSL, SIGMOID_WGSL, KEY_END, logit, storageBindings, visible, type HeadDim } from './common.wgsl.js';
import type { WebGPUKind } from './host.js';
import type { KernelSource } from './flash-sigmoid-fwd.wgsl.js';

export function naiveScores(kind: WebGPUKind, D: HeadDim): KernelSource {
  const bindings: Array<[string, string, 'read' | 'read_write']> = [['q', 'f32', 'read'], ['k', 'f32', 'read'], ['s', 'f32', 'read_write']];
  if (kind === 'sigmoid') bindings.push(['stats', 'f32', 'read_write']);
  bindings.push(['aux', 'f32', 'read']);
  const x = logit('dotv', 'i', 'j');
  const code = `${PARAMS_WGSL}
${storageBindings(bindings)}
${SIGMOID_WGSL}
${FLAT_MAIN_WGSL}
  if (idx >= P.B * P.H * P.Nq * P.Nk) { return; }
  let j = idx % P.Nk;
  let i = (idx / P.Nk) % P.Nq;
  let h = (idx / (P.Nk * P.Nq)) % P.H;
  let b = idx / (P.Nk * P.Nq * P.H);
  let hk = h / (P.H / P.Hkv);
  let slope = aux[h];
  let kEnd = ${KEY_END};
  let qOff = ((b * P.H + h) * P.Nq + i) * ${D}u;
  let kOff = ((b * P.Hkv + hk) * P.Nk + j) * ${D}u;
  var dotv = 0.0;
  for (var d = 0u; d < ${D}u; d++) { dotv += q[qOff + d] * k[kOff + d]; }
  let vis = ${visible('i', 'j', 'kEnd')};
  ${kind === 'sigmoid'
    ? `s[idx] = select(0.0, sigm(${x}), vis);
  if (j == 0u) { stats[2u * (idx / P.Nk)] = 0.0; stats[2u * (idx / P.Nk) + 1u] = 1.0; }`
    : `s[idx] = select(bitcast<f32>(0xff800000u + 0u * idx), ${x}, vis);`}
}
`;
  return { code, bindings: bindings.map(([n]) => n) };
}
