/** Naive softmax backward, step 2: dS = P(dP − Σ_j P·dP) per row, in place over dP. */
import { FLAT_MAIN_WGSL, PARAMS_WGSL } from './common.wgsl.js';
import type { KernelSource } from './flash-sigmoid-fwd.wgsl.js';

export function naiveSoftmaxDsRows(): KernelSource {
  const code = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> p : array<f32>;
@group(0) @binding(2) var<storage, read_write> ds : array<f32>;
${FLAT_MAIN_WGSL}
  if (idx >= P.B * P.H * P.Nq) { return; }
  let base = idx * P.Nk;
  var dr = 0.0;
  for (var j = 0u; j < P.Nk; j++) { dr += p[base + j] * ds[base + j]; }
  for (var j = 0u; j < P.Nk; j++) { ds[base + j] = p[base + j] * (ds[base + j] - dr); }
}
`;
  return { code, bindings: ['p', 'ds'] };
}
