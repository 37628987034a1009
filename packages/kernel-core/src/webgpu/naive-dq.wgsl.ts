/** Naive backward: dQ = scale · dS K, one invocation per element. */
import { FLAT_MAIN_WGSL, PARAMS_WGSL, type HeadDim } from './common.wgsl.js';
import type { KernelSource } from './flash-sigmoid-fwd.wgsl.js';

export function naiveDq(D: HeadDim): KernelSource {
  const code = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> ds : array<f32>;
@group(0) @binding(2) var<storage, read> k : array<f32>;
@group(0) @binding(3) var<storage, read_write> dq : array<f32>;
${FLAT_MAIN_WGSL}
  if (idx >= P.B * P.H * P.Nq * ${D}u) { return; }
  let d = idx % ${D}u;
  let row = idx / ${D}u;
  let h = (row / P.Nq) % P.H;
  let b = row / (P.Nq * P.H);
  let kOff = (b * P.Hkv + h / (P.H / P.Hkv)) * P.Nk * ${D}u + d;
  var acc = 0.0;
  for (var j = 0u; j < P.Nk; j++) { acc += ds[row * P.Nk + j] * k[kOff + j * ${D}u]; }
  dq[idx] = P.scale * acc;
}
`;
  return { code, bindings: ['ds', 'k', 'dq'] };
}
