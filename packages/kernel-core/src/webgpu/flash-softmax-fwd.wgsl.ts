/**
 * FlashSoftmax forward (FlashAttention-2 online softmax), the baseline FlashSigmoid is measured
 * against. Per 64-key block it needs what sigmoid does not: a cross-invocation row max (16
 * invocations share a row, reduced through workgroup memory with two extra barriers), the rescale
 * of the running O and row sums by exp(m_old − m_new), and a final normalisation that writes the
 * log-sum-exp (−∞ for a fully masked row, whose O is 0).
 */
import {
  PARAMS_WGSL, PROLOGUE_WGSL, SHARED_WGSL, accumulate, queryBlockWgsl, logit, outVec, scoreTile,
  storageBindings, visible, writeRows, type FlashVariant,
} from './common.wgsl.js';
import type { KernelSource } from './flash-sigmoid-fwd.wgsl.js';

export function flashSoftmaxFwd(v: FlashVariant): KernelSource {
  const { type, groups } = outVec(v.D);
  const d4 = v.D / 4;
  const bindings: Array<[string, string, 'read' | 'read_write']> = [
    ['q', 'vec4<f32>', 'read'], ['k', 'vec4<f32>', 'read'], ['v', 'vec4<f32>', 'read'],
    ['o', type, 'read_write'], ['lse', 'f32', 'read_write'],
  ];
  bindings.push(['aux', 'f32', 'read']);
  const logits: string[] = [];
  const probs: string[] = [];
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      const i = `(q0 + ty * 4u + ${r}u)`;
      const j = `(j0 + tx + ${16 * c}u)`;
      logits.push(`let vis${r}${c} = ${visible(i, j, 'kEnd')};`);
      logits.push(`let x${r}${c} = select(-1e30, ${logit(`s[${r}][${c}]`, i, j)}, vis${r}${c});`);
      probs.push(`let p${r}${c} = select(0.0, exp(x${r}${c} - m.${'xyzw'[r]}), vis${r}${c});`);
    }
  }
  const rowMax = `vec4<f32>(${[0, 1, 2, 3].map((r) => `max(max(x${r}0, x${r}1), max(x${r}2, x${r}3))`).join(', ')})`;
  const rowSum = `vec4<f32>(${[0, 1, 2, 3].map((r) => `p${r}0 + p${r}1 + p${r}2 + p${r}3`).join(', ')})`;
  const rescale = Array.from({ length: 4 * groups }, (_, n) => `acc[${n}] *= alpha.${'xyzw'[Math.floor(n / groups)]};`);
  const pStore = [0, 1, 2, 3].map((c) => `tP[(tx + ${16 * c}u) * 17u + ty] = vec4<f32>(p0${c}, p1${c}, p2${c}, p3${c});`);
  const code = `${PARAMS_WGSL}
${storageBindings(bindings)}
${SHARED_WGSL}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) tid : u32) {
  ${PROLOGUE_WGSL}
  ${queryBlockWgsl(v.D)}
  var acc : array<${type}, ${4 * groups}>;
  var m = vec4<f32>(-1e30);
  var l = vec4<f32>(0.0);
  for (var j0 = 0u; j0 < kEnd; j0 += 64u) {
    let nK = min(64u, kEnd - j0);
    let kBase = (kvRow0 + j0) * ${d4}u;
    ${scoreTile({ out: 's', a: 'q', aBase: 'qBase', nA: 'nQ', b: 'k', bBase: 'kBase', nB: 'nK', D: v.D })}
    ${logits.join('\n    ')}
    // Row max over the 16 invocations that share each row.
    workgroupBarrier();
    stage[ty * 16u + tx] = ${rowMax};
    workgroupBarrier();
    var bm = stage[ty * 16u];
    for (var t = 1u; t < 16u; t++) { bm = max(bm, stage[ty * 16u + t]); }
    let mNew = max(m, bm);
    let alpha = exp(m - mNew);
    m = mNew;
    ${probs.join('\n    ')}
    l = l * alpha + ${rowSum};
    ${rescale.join(' ')}
    ${pStore.join('\n    ')}
    ${accumulate({ acc: 'acc', x: 'v', xBase: 'kBase', nX: 'nK', D: v.D })}
  }
  // Each invocation summed only its own 4 columns per row: finish the row sums.
  workgroupBarrier();
  stage[ty * 16u + tx] = l;
  workgroupBarrier();
  var ls = vec4<f32>(0.0);
  for (var t = 0u; t < 16u; t++) { ls += stage[ty * 16u + t]; }
  let inv = select(vec4<f32>(0.0), 1.0 / ls, ls > vec4<f32>(0.0));
  let oRow0 = (b * P.H + h) * P.Nq + q0;
  ${writeRows({ out: 'o', acc: 'acc', rowBase: 'oRow0', nRows: 'nQ', D: v.D, factor: (r) => `inv.${'xyzw'[r]}` })}
  if (tx == 0u) {
    let negInf = bitcast<f32>(0xff800000u + 0u * tid);
    let lseRow = select(vec4<f32>(negInf), m + log(ls), ls > vec4<f32>(0.0));
    for (var r = 0u; r < 4u; r++) { if (ty * 4u + r < nQ) { lse[oRow0 + ty * 4u + r] = lseRow[r]; } }
  }
}
`;
  return { code, bindings: bindings.map(([n]) => n) };
}
