/** Naive softmax, step 2: normalise each score row in place and write its (row max, row sum) — (−∞, 0) if fully masked. */
import { FLAT_MAIN_WGSL, PARAMS_WGSL, SOFTMAX_P_WGSL } from './common.wgsl.js';
import type { KernelSource } from './flash-sigmoid-fwd.wgsl.js';

export function naiveSoftmaxRows(): KernelSource {
  const code = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read_write> s : array<f32>;
@group(0) @binding(2) var<storage, read_write> stats : array<f32>;
${SOFTMAX_P_WGSL}
${FLAT_MAIN_WGSL}
  if (idx >= P.B * P.H * P.Nq) { return; }
  let base = idx * P.Nk;
  let negInf = bitcast<f32>(0xff800000u + 0u * idx);
  var m = negInf;
  for (var j = 0u; j < P.Nk; j++) { m = max(m, s[base + j]); }
  if (m == negInf) {
    for (var j = 0u; j < P.Nk; j++) { s[base + j] = 0.0; }
    stats[2u * idx] = negInf;
    stats[2u * idx + 1u] = 0.0;
    return;
  }
  var l = 0.0;
  for (var j = 0u; j < P.Nk; j++) { l += exp(s[base + j] - m); }
  for (var j = 0u; j < P.Nk; j++) { s[base + j] = softmaxP(s[base + j], m, l); }
  stats[2u * idx] = m;
  stats[2u * idx + 1u] = l;
}
`;
  return { code, bindings: ['s', 'stats'] };
}
