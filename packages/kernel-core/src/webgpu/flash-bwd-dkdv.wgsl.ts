/**
 * Flash backward, dK and dV: one workgroup per 64-key block of one KV head, looping over the query
 * heads that share it (GQA) and over query blocks (causal: from the diagonal on). It computes the
 * TRANSPOSED tiles Sᵀ = K Qᵀ and dPᵀ = V dOᵀ so that each invocation's rows are keys, which is what
 * dV += Pᵀ dO and dK += scale · dSᵀ Q accumulate into. Every dK/dV row has one owner: no atomics.
 */
import {
  PARAMS_WGSL, PROLOGUE_WGSL, SHARED_WGSL, SIGMOID_WGSL, accumulate, KEY_END, logit, outVec, scoreTile,
  storageBindings, visible, writeRows, type FlashVariant,
} from './common.wgsl.js';
import type { AttentionKind } from '../spec.js';
import type { KernelSource } from './flash-sigmoid-fwd.wgsl.js';

export function flashBwdDkdv(kind: AttentionKind, v: FlashVariant): KernelSource {
  const { type, groups } = outVec(v.D);
  const d4 = v.D / 4;
  const bindings: Array<[string, string, 'read' | 'read_write']> = [
    ['q', 'vec4<f32>', 'read'], ['k', 'vec4<f32>', 'read'], ['v', 'vec4<f32>', 'read'], ['dO', 'vec4<f32>', 'read'],
  ];
  if (kind === 'softmax') bindings.push(['stats', 'f32', 'read']);
  bindings.push(['dk', type, 'read_write'], ['dv', type, 'read_write']);
  bindings.push(['aux', 'f32', 'read']);
  const probs: string[] = [];
  const grads: string[] = [];
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      const j = `(j0 + ty * 4u + ${r}u)`;
      const i = `(i0 + tx + ${16 * c}u)`;
      const x = logit(`sT[${r}][${c}]`, i, j);
      const C = 'xyzw'[c];
      probs.push(`let vis${r}${c} = (${i} < P.Nq) && ${visible(i, j, 'kEnd')};`);
      probs.push(kind === 'sigmoid'
        ? `let p${r}${c} = select(0.0, sigm(${x}), vis${r}${c});`
        : `let p${r}${c} = select(0.0, exp(${x} - colLse.${C}), vis${r}${c});`);
      grads.push(kind === 'sigmoid'
        ? `let ds${r}${c} = p${r}${c} * (1.0 - p${r}${c}) * dpT[${r}][${c}];`
        : `let ds${r}${c} = p${r}${c} * (dpT[${r}][${c}] - colD.${C});`);
    }
  }
  // Tile rows k of tP are queries (tx + 16c), each holding the 4 keys of invocation row group ty.
  const store = (n: string) =>
    [0, 1, 2, 3].map((c) => `tP[(tx + ${16 * c}u) * 17u + ty] = vec4<f32>(${n}0${c}, ${n}1${c}, ${n}2${c}, ${n}3${c});`).join('\n    ');
  const colStats = kind === 'softmax' ? `
        var colLse = vec4<f32>(0.0);
        var colD = vec4<f32>(0.0);
        for (var c = 0u; c < 4u; c++) {
          if (tx + 16u * c < nQ) { colLse[c] = stats[2u * (qRow0 + i0 + tx + 16u * c)]; colD[c] = stats[2u * (qRow0 + i0 + tx + 16u * c) + 1u]; }
        }` : '';
  const code = `${PARAMS_WGSL}
${storageBindings(bindings)}
${SHARED_WGSL}
${kind === 'sigmoid' ? SIGMOID_WGSL : ''}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) tid : u32) {
  ${PROLOGUE_WGSL}
  let hk = wg.y;
  let b = wg.z;
  let j0 = wg.x * 64u;
  let nK = min(64u, P.Nk - j0);
  let kRow0 = (b * P.Hkv + hk) * P.Nk + j0;
  let kBase = kRow0 * ${d4}u;
  let group = P.H / P.Hkv;
  let kEnd = ${KEY_END};
  var dkAcc : array<${type}, ${4 * groups}>;
  var dvAcc : array<${type}, ${4 * groups}>;
  // Causal: query i sees key j iff i ≥ j − off, so blocks before the first such row are skipped.
  let iStart = u32(max(i32(j0) - P.coff, 0)) / 64u * 64u;
  // One flat loop over (query head of the group, query block).
  let blocks = select(0u, (P.Nq - iStart + 63u) / 64u, j0 < kEnd && iStart < P.Nq);
  for (var it = 0u; it < group * blocks; it++) {
    let h = hk * group + it / blocks;
    let i0 = iStart + (it % blocks) * 64u;
    let slope = aux[h];
    let qRow0 = (b * P.H + h) * P.Nq;
    let nQ = min(64u, P.Nq - i0);
    let qBase = (qRow0 + i0) * ${d4}u;
    ${colStats}
    ${scoreTile({ out: 'sT', a: 'k', aBase: 'kBase', nA: 'nK', b: 'q', bBase: 'qBase', nB: 'nQ', D: v.D })}
    ${probs.join('\n    ')}
    ${store('p')}
    ${accumulate({ acc: 'dvAcc', x: 'dO', xBase: 'qBase', nX: 'nQ', D: v.D })}
    ${scoreTile({ out: 'dpT', a: 'v', aBase: 'kBase', nA: 'nK', b: 'dO', bBase: 'qBase', nB: 'nQ', D: v.D })}
    ${grads.join('\n    ')}
    ${store('ds')}
    ${accumulate({ acc: 'dkAcc', x: 'q', xBase: 'qBase', nX: 'nQ', D: v.D })}
  }
  ${writeRows({ out: 'dk', acc: 'dkAcc', rowBase: 'kRow0', nRows: 'nK', D: v.D, factor: () => 'P.scale' })}
  ${writeRows({ out: 'dv', acc: 'dvAcc', rowBase: 'kRow0', nRows: 'nK', D: v.D })}
}
`;
  return { code, bindings: bindings.map(([n]) => n) };
}
