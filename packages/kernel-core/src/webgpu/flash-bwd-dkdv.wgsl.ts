/**
 * Flash backward, dK and dV: one workgroup per 64-key block of one KV head, looping over the query
 * heads that share it (GQA) and over query blocks (causal: from the diagonal on). It computes the
 * TRANSPOSED tiles Sᵀ = K Qᵀ and dPᵀ = V dOᵀ so that each invocation's rows are keys, which is what
 * dV += Pᵀ dO and dK += scale · dSᵀ Q accumulate into. Every dK/dV row has one owner: no atomics.
 * The sums over queries run head by head, query by query — the naive path's order.
 */
import {
  KEY_END, PARAMS_WGSL, SHARED_WGSL, SIGMOID_WGSL, SOFTMAX_P_WGSL, accumulate, backwardBindings, cell, cells, colOf, declareAcc, geometry, logit,
  mainWgsl, rowOf, scoreTile, storageBindings, storeTile, visible, writeRows, type FlashVariant,
} from './common.wgsl.js';
import type { WebGPUKind } from './host.js';
import type { KernelSource } from './flash-sigmoid-fwd.wgsl.js';

export function flashBwdDkdv(kind: WebGPUKind, v: FlashVariant): KernelSource {
  const g = geometry(v);
  const d4 = v.D / 4;
  const bindings = backwardBindings(kind, ['dk', 'dv']);
  // Tile rows are keys j, tile cols are queries i.
  const probs: string[] = [];
  const grads: string[] = [];
  for (const [lr, lc] of cells(g)) {
    const j = `(j0 + ${rowOf(g, lr)})`;
    const i = `(i0 + ${colOf(g, lc)})`;
    const x = logit(cell('sT', lr, lc), i, j);
    const p = cell('p', lr, lc);
    probs.push(`let ${cell('vis', lr, lc)} = (${i} < P.Nq) && ${visible(i, j, 'kEnd')};`);
    probs.push(kind === 'sigmoid'
      ? `let ${p} = select(0.0, sigm(${x}), ${cell('vis', lr, lc)});`
      : `let ${p} = select(0.0, softmaxP(${x}, cs${lc}.x, cs${lc}.y), ${cell('vis', lr, lc)});`);
    grads.push(kind === 'sigmoid'
      ? `let ${cell('ds', lr, lc)} = ${p} * (1.0 - ${p}) * ${cell('dpT', lr, lc)};`
      : `let ${cell('ds', lr, lc)} = ${p} * (${cell('dpT', lr, lc)} - cs${lc}.z);`);
  }
  const colStats = kind === 'softmax'
    ? Array.from({ length: g.TN }, (_, lc) =>
      `var cs${lc} = vec4<f32>(0.0, 1.0, 0.0, 0.0); if (${colOf(g, lc)} < nQ) { cs${lc} = rowStats[qRow0 + i0 + ${colOf(g, lc)}]; }`).join('\n    ')
    : '';
  const code = `${PARAMS_WGSL}
${storageBindings(bindings)}
${SHARED_WGSL}
${kind === 'sigmoid' ? SIGMOID_WGSL : SOFTMAX_P_WGSL}
${mainWgsl(g)}
  let hk = wg.y;
  let b = wg.z;
  let j0 = wg.x * 64u;
  let nK = min(64u, P.Nk - j0);
  let kRow0 = (b * P.Hkv + hk) * P.Nk + j0;
  let kBase = kRow0 * ${d4}u;
  let group = P.H / P.Hkv;
  let kEnd = ${KEY_END};
  ${declareAcc(g, 'dkAcc')}
  ${declareAcc(g, 'dvAcc')}
  // Causal: query i sees key j iff i ≥ j − coff, so blocks before the first such row are skipped.
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
    ${scoreTile(g, { out: 'sT', a: 'k', aBase: 'kBase', nA: 'nK', b: 'q', bBase: 'qBase', nB: 'nQ' })}
    ${probs.join('\n    ')}
    ${storeTile(g, (lr, lc) => cell('p', lr, lc))}
    ${accumulate(g, { acc: 'dvAcc', x: 'dO', xBase: 'qBase', nX: 'nQ' })}
    ${scoreTile(g, { out: 'dpT', a: 'v', aBase: 'kBase', nA: 'nK', b: 'dO', bBase: 'qBase', nB: 'nQ' })}
    ${grads.join('\n    ')}
    ${storeTile(g, (lr, lc) => cell('ds', lr, lc))}
    ${accumulate(g, { acc: 'dkAcc', x: 'q', xBase: 'qBase', nX: 'nQ' })}
  }
  ${writeRows(g, { out: 'dk', acc: 'dkAcc', rowBase: 'kRow0', nRows: 'nK', value: (a) => `P.scale * ${a}` })}
  ${writeRows(g, { out: 'dv', acc: 'dvAcc', rowBase: 'kRow0', nRows: 'nK' })}
}
`;
  return { code, bindings: bindings.map(([n]) => n) };
}
