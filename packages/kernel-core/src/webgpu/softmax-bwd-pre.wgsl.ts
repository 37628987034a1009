/**
 * Softmax backward preprocess: Drow = rowsum(dO ∘ O), packed beside the row's LSE as
 * stats[2r] = lse, stats[2r+1] = Drow so the two backward kernels read one buffer (this keeps the
 * dK/dV kernel within WebGPU's default 8 storage buffers). Sigmoid needs neither: its
 * dS = P(1 − P)dP has no row coupling.
 */
import { PARAMS_WGSL, type HeadDim } from './common.wgsl.js';
import type { KernelSource } from './flash-sigmoid-fwd.wgsl.js';

export function softmaxBwdPre(D: HeadDim): KernelSource {
  const d4 = D / 4;
  const code = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> lse : array<f32>;
@group(0) @binding(2) var<storage, read> o : array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> dO : array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> stats : array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * 256u;
  if (row >= P.B * P.H * P.Nq) { return; }
  var acc = vec4<f32>(0.0);
  for (var d = 0u; d < ${d4}u; d++) { acc += o[row * ${d4}u + d] * dO[row * ${d4}u + d]; }
  stats[2u * row] = lse[row];
  stats[2u * row + 1u] = acc.x + acc.y + acc.z + acc.w;
}
`;
  return { code, bindings: ['lse', 'o', 'dO', 'stats'] };
}
