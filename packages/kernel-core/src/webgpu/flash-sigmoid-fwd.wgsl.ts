/**
 * FlashSigmoid forward: O = σ(scale·QKᵀ + b − ALiBi) V, tiled 64 queries × 64 keys per step.
 * Unlike softmax there is no running row max, no row sum, no rescale of O and no final
 * normalisation: each P tile depends only on its own S tile, and the bias is folded into the logit.
 * Grid: (⌈Nq/64⌉, H, B). Causal: key blocks past the last row's diagonal are never visited.
 */
import {
  PARAMS_WGSL, PROLOGUE_WGSL, SHARED_WGSL, SIGMOID_WGSL, accumulate, queryBlockWgsl, logit, outVec, scoreTile,
  storageBindings, visible, writeRows, type FlashVariant,
} from './common.wgsl.js';

export interface KernelSource { code: string; bindings: string[] }

export function flashSigmoidFwd(v: FlashVariant): KernelSource {
  const { type, groups } = outVec(v.D);
  const d4 = v.D / 4;
  const bindings: Array<[string, string, 'read' | 'read_write']> = [
    ['q', 'vec4<f32>', 'read'], ['k', 'vec4<f32>', 'read'], ['v', 'vec4<f32>', 'read'],
    ['o', type, 'read_write'], ['lse', 'f32', 'read_write'],
  ];
  bindings.push(['aux', 'f32', 'read']);
  const probs: string[] = [];
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      const i = `(q0 + ty * 4u + ${r}u)`;
      const j = `(j0 + tx + ${16 * c}u)`;
      probs.push(`p${r}${c} = select(0.0, sigm(${logit(`s[${r}][${c}]`, i, j)}), ${visible(i, j, 'kEnd')});`);
    }
  }
  const pDecl = Array.from({ length: 16 }, (_, n) => `var p${Math.floor(n / 4)}${n % 4} : f32;`).join(' ');
  const pStore = [0, 1, 2, 3].map((c) => `tP[(tx + ${16 * c}u) * 17u + ty] = vec4<f32>(p0${c}, p1${c}, p2${c}, p3${c});`);
  const code = `${PARAMS_WGSL}
${storageBindings(bindings)}
${SHARED_WGSL}
${SIGMOID_WGSL}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) tid : u32) {
  ${PROLOGUE_WGSL}
  ${queryBlockWgsl(v.D)}
  var acc : array<${type}, ${4 * groups}>;
  ${pDecl}
  for (var j0 = 0u; j0 < kEnd; j0 += 64u) {
    let nK = min(64u, kEnd - j0);
    let kBase = (kvRow0 + j0) * ${d4}u;
    ${scoreTile({ out: 's', a: 'q', aBase: 'qBase', nA: 'nQ', b: 'k', bBase: 'kBase', nB: 'nK', D: v.D })}
    ${probs.join('\n    ')}
    ${pStore.join('\n    ')}
    ${accumulate({ acc: 'acc', x: 'v', xBase: 'kBase', nX: 'nK', D: v.D })}
  }
  let oRow0 = (b * P.H + h) * P.Nq + q0;
  ${writeRows({ out: 'o', acc: 'acc', rowBase: 'oRow0', nRows: 'nQ', D: v.D })}
  // The contract's lse output is unused for sigmoid and defined as 0.
  if (tx == 0u) {
    for (var r = 0u; r < 4u; r++) { if (ty * 4u + r < nQ) { lse[oRow0 + ty * 4u + r] = 0.0; } }
  }
}
`;
  return { code, bindings: bindings.map(([n]) => n) };
}
