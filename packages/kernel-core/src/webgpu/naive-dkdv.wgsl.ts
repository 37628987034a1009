/** Naive backward: dK = scale · Σ_heads dSᵀ Q and dV = Σ_heads Pᵀ dO (GQA sums the group's heads). */
import { FLAT_MAIN_WGSL, PARAMS_WGSL, type HeadDim } from './common.wgsl.js';
import type { KernelSource } from './flash-sigmoid-fwd.wgsl.js';

export function naiveDkdv(D: HeadDim): KernelSource {
  const code = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> p : array<f32>;
@group(0) @binding(2) var<storage, read> ds : array<f32>;
@group(0) @binding(3) var<storage, read> q : array<f32>;
@group(0) @binding(4) var<storage, read> dO : array<f32>;
@group(0) @binding(5) var<storage, read_write> dk : array<f32>;
@group(0) @binding(6) var<storage, read_write> dv : array<f32>;
${FLAT_MAIN_WGSL}
  if (idx >= P.B * P.Hkv * P.Nk * ${D}u) { return; }
  let d = idx % ${D}u;
  let j = (idx / ${D}u) % P.Nk;
  let hk = (idx / (${D}u * P.Nk)) % P.Hkv;
  let b = idx / (${D}u * P.Nk * P.Hkv);
  let group = P.H / P.Hkv;
  var accK = 0.0;
  var accV = 0.0;
  for (var g = 0u; g < group; g++) {
    let row0 = (b * P.H + hk * group + g) * P.Nq;
    for (var i = 0u; i < P.Nq; i++) {
      let e = (row0 + i) * P.Nk + j;
      accK += ds[e] * q[(row0 + i) * ${D}u + d];
      accV += p[e] * dO[(row0 + i) * ${D}u + d];
    }
  }
  dk[idx] = P.scale * accK;
  dv[idx] = accV;
}
`;
  return { code, bindings: ['p', 'ds', 'q', 'dO', 'dk', 'dv'] };
}
