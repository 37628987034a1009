/**
 * Flash backward, dQ: one workgroup per 64-query block, looping over key blocks (causal: only up to
 * the diagonal). Recomputes S = QKᵀ and dP = dO Vᵀ, forms dS, and accumulates dQ = scale · dS K in
 * registers — each dQ row is owned by one workgroup, so no atomics are needed (dK/dV are computed
 * by the transposed kernel in flash-bwd-dkdv.wgsl.ts).
 *   sigmoid: dS = P(1 − P) dP            softmax: dS = P (dP − Drow), P = exp(s − lse)
 */
import {
  PARAMS_WGSL, PROLOGUE_WGSL, SHARED_WGSL, SIGMOID_WGSL, accumulate, queryBlockWgsl, logit, outVec, scoreTile,
  storageBindings, visible, writeRows, type FlashVariant,
} from './common.wgsl.js';
import type { AttentionKind } from '../spec.js';
import type { KernelSource } from './flash-sigmoid-fwd.wgsl.js';

export function flashBwdDq(kind: AttentionKind, v: FlashVariant): KernelSource {
  const { type, groups } = outVec(v.D);
  const d4 = v.D / 4;
  const bindings: Array<[string, string, 'read' | 'read_write']> = [
    ['q', 'vec4<f32>', 'read'], ['k', 'vec4<f32>', 'read'], ['v', 'vec4<f32>', 'read'], ['dO', 'vec4<f32>', 'read'],
  ];
  if (kind === 'softmax') bindings.push(['stats', 'f32', 'read']);
  bindings.push(['dq', type, 'read_write']);
  bindings.push(['aux', 'f32', 'read']);
  const body: string[] = [];
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      const i = `(q0 + ty * 4u + ${r}u)`;
      const j = `(j0 + tx + ${16 * c}u)`;
      const x = logit(`s[${r}][${c}]`, i, j);
      const dp = `dp[${r}][${c}]`;
      const R = 'xyzw'[r];
      body.push(kind === 'sigmoid'
        ? `let p${r}${c} = sigm(${x}); let ds${r}${c} = select(0.0, p${r}${c} * (1.0 - p${r}${c}) * ${dp}, ${visible(i, j, 'kEnd')});`
        : `let p${r}${c} = exp(${x} - rowLse.${R}); let ds${r}${c} = select(0.0, p${r}${c} * (${dp} - rowD.${R}), ${visible(i, j, 'kEnd')});`);
    }
  }
  const dsStore = [0, 1, 2, 3].map((c) => `tP[(tx + ${16 * c}u) * 17u + ty] = vec4<f32>(ds0${c}, ds1${c}, ds2${c}, ds3${c});`);
  const rowStats = kind === 'softmax' ? `
  var rowLse = vec4<f32>(0.0);
  var rowD = vec4<f32>(0.0);
  for (var r = 0u; r < 4u; r++) {
    if (ty * 4u + r < nQ) { rowLse[r] = stats[2u * (qRow0 + ty * 4u + r)]; rowD[r] = stats[2u * (qRow0 + ty * 4u + r) + 1u]; }
  }` : '';
  const code = `${PARAMS_WGSL}
${storageBindings(bindings)}
${SHARED_WGSL}
${kind === 'sigmoid' ? SIGMOID_WGSL : ''}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) tid : u32) {
  ${PROLOGUE_WGSL}
  ${queryBlockWgsl(v.D)}
  ${rowStats}
  var acc : array<${type}, ${4 * groups}>;
  for (var j0 = 0u; j0 < kEnd; j0 += 64u) {
    let nK = min(64u, kEnd - j0);
    let kBase = (kvRow0 + j0) * ${d4}u;
    ${scoreTile({ out: 's', a: 'q', aBase: 'qBase', nA: 'nQ', b: 'k', bBase: 'kBase', nB: 'nK', D: v.D })}
    ${scoreTile({ out: 'dp', a: 'dO', aBase: 'qBase', nA: 'nQ', b: 'v', bBase: 'kBase', nB: 'nK', D: v.D })}
    ${body.join('\n    ')}
    ${dsStore.join('\n    ')}
    ${accumulate({ acc: 'acc', x: 'k', xBase: 'kBase', nX: 'nK', D: v.D })}
  }
  ${writeRows({ out: 'dq', acc: 'acc', rowBase: 'qRow0', nRows: 'nQ', D: v.D, factor: () => 'P.scale' })}
}
`;
  return { code, bindings: bindings.map(([n]) => n) };
}
