/**
 * Softmax backward preprocess: per row, rowStats = (m, l, Drow, 0) with (m, l) the forward's row max
 * and row sum and Drow = Σ_d dO·O — one vec4 the two backward kernels read per row (this keeps the
 * dK/dV kernel within 8 storage buffers). Drow runs sequentially over d, the order in which the
 * kernels form dP = dO·v, so a row with one visible key (P = 1, O = v) gets dS = dP − Drow = 0
 * exactly. Sigmoid needs none of this: its dS = P(1 − P)dP has no row coupling.
 */
import { PARAMS_WGSL, type HeadDim } from './common.wgsl.js';
import type { KernelSource } from './flash-sigmoid-fwd.wgsl.js';

export function softmaxBwdPre(D: HeadDim): KernelSource {
  const d4 = D / 4;
  const code = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> stats : array<f32>;
@group(0) @binding(2) var<storage, read> o : array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> dO : array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> rowStats : array<vec4<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * 256u;
  if (row >= P.B * P.H * P.Nq) { return; }
  var acc = 0.0;
  for (var d = 0u; d < ${d4}u; d++) {
    let a = o[row * ${d4}u + d];
    let b = dO[row * ${d4}u + d];
    acc += b.x * a.x; acc += b.y * a.y; acc += b.z * a.z; acc += b.w * a.w;
  }
  rowStats[row] = vec4<f32>(stats[2u * row], stats[2u * row + 1u], acc, 0.0);
}
`;
  return { code, bindings: ['stats', 'o', 'dO', 'rowStats'] };
}
