/**
 * Softmax backward, first kernel: per query row, rowStats = (m, l, Drow, 0) with (m, l) the forward's
 * row statistics and Drow = Σⱼ Pᵢⱼ dPᵢⱼ — one vec4 the dQ and dK/dV kernels read per row (this keeps
 * the dK/dV kernel within 8 storage buffers). One workgroup per 64-query block loops over the key
 * blocks recomputing S and dP.
 *
 * FlashAttention-2 instead uses the identity Drow = dOᵢ·Oᵢ, which saves these two GEMMs (about 2 of 9
 * in the softmax backward). It is not used because O's rounding enters Drow independently of the dP
 * values it must cancel against in dS = P(dP − Drow): on lavapipe that put dQ/dK up to 2.3× the naive
 * path's error on rows with few keys (about 1 case in 1000), breaking the project's 2× rule, while
 * Σⱼ P dP with the same dP values is the naive computation itself. Sigmoid needs none of this: its
 * dS = P(1 − P)dP has no row coupling.
 */
import {
  PARAMS_WGSL, SHARED_WGSL, SOFTMAX_P_WGSL, cell, cells, colOf, geometry, logit, mainWgsl, queryBlockWgsl, reduceRows, rowOf, rowPartial,
  scoreTile, storageBindings, visible, type FlashVariant,
} from './common.wgsl.js';
import type { KernelSource } from './flash-sigmoid-fwd.wgsl.js';

export function softmaxBwdPre(v: FlashVariant): KernelSource {
  const g = geometry(v);
  const d4 = v.D / 4;
  const X = 'xyzw';
  const bindings: Array<[string, string, 'read' | 'read_write']> = [
    ['q', 'vec4<f32>', 'read'], ['k', 'vec4<f32>', 'read'], ['v', 'vec4<f32>', 'read'], ['dO', 'vec4<f32>', 'read'],
    ['stats', 'f32', 'read'], ['rowStats', 'vec4<f32>', 'read_write'], ['aux', 'f32', 'read'],
  ];
  const groups = Array.from({ length: g.TM / 4 }, (_, rg) => rg);
  const stats = Array.from({ length: g.TM }, (_, lr) =>
    `var st${lr} = vec2<f32>(0.0, 1.0); if (${rowOf(g, lr)} < nQ) { st${lr} = vec2<f32>(stats[2u * (qRow0 + ${rowOf(g, lr)})], stats[2u * (qRow0 + ${rowOf(g, lr)}) + 1u]); }`);
  const terms = cells(g).map(([lr, lc]) => {
    const i = `(q0 + ${rowOf(g, lr)})`;
    const j = `(j0 + ${colOf(g, lc)})`;
    return `let ${cell('pdp', lr, lc)} = select(0.0, softmaxP(${logit(cell('s', lr, lc), i, j)}, st${lr}.x, st${lr}.y) * ${cell('dp', lr, lc)}, ${visible(i, j, 'kEnd')});`;
  });
  const writes: string[] = [];
  for (const rg of groups) {
    for (let r = 0; r < 4; r++) {
      const lr = rg * 4 + r;
      writes.push(`if (${rowOf(g, lr)} < nQ) { rowStats[qRow0 + ${rowOf(g, lr)}] = vec4<f32>(st${lr}.x, st${lr}.y, dr${rg}.${X[r]}, 0.0); }`);
    }
  }
  const code = `${PARAMS_WGSL}
${storageBindings(bindings)}
${SHARED_WGSL}
${SOFTMAX_P_WGSL}
${mainWgsl(g)}
  ${queryBlockWgsl(v.D)}
  ${stats.join('\n  ')}
  ${groups.map((rg) => `var part${rg} = vec4<f32>(0.0);`).join(' ')}
  for (var j0 = 0u; j0 < kEnd; j0 += 64u) {
    let nK = min(64u, kEnd - j0);
    let kBase = (kvRow0 + j0) * ${d4}u;
    ${scoreTile(g, { out: 's', a: 'q', aBase: 'qBase', nA: 'nQ', b: 'k', bBase: 'kBase', nB: 'nK' })}
    ${scoreTile(g, { out: 'dp', a: 'dO', aBase: 'qBase', nA: 'nQ', b: 'v', bBase: 'kBase', nB: 'nK' })}
    ${terms.join('\n    ')}
    ${groups.map((rg) => `part${rg} += ${rowPartial(g, (lr, lc) => cell('pdp', lr, lc), rg, 'add')};`).join('\n    ')}
  }
  ${reduceRows(g, 'dr', (rg) => `part${rg}`, 'add')}
  if (tx == 0u) {
    ${writes.join('\n    ')}
  }
}
`;
  return { code, bindings: bindings.map(([n]) => n) };
}
