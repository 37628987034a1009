/**
 * FlashSigmoid forward: O = σ(scale·QKᵀ + b − ALiBi) V, tiled 64 queries × 64 keys per step.
 * Unlike softmax there is no running row max, no row sum, no rescale of O and no final
 * normalisation: each P tile depends only on its own S tile, and the bias is folded into the logit.
 * Grid: (⌈Nq/64⌉, H, B). Causal: key blocks past the last row's diagonal are never visited.
 */
import {
  PARAMS_WGSL, SHARED_WGSL, SIGMOID_WGSL, accumulate, cell, cells, colOf, declareAcc, geometry, logit, mainWgsl,
  queryBlockWgsl, rowOf, scoreTile, storageBindings, storeTile, visible, writeRows, type FlashVariant,
} from './common.wgsl.js';

export interface KernelSource { code: string; bindings: string[] }

export function flashSigmoidFwd(v: FlashVariant): KernelSource {
  const g = geometry(v);
  const d4 = v.D / 4;
  const bindings: Array<[string, string, 'read' | 'read_write']> = [
    ['q', 'vec4<f32>', 'read'], ['k', 'vec4<f32>', 'read'], ['v', 'vec4<f32>', 'read'],
    ['o', 'vec4<f32>', 'read_write'], ['stats', 'f32', 'read_write'], ['aux', 'f32', 'read'],
  ];
  const probs = cells(g).map(([lr, lc]) => {
    const i = `(q0 + ${rowOf(g, lr)})`;
    const j = `(j0 + ${colOf(g, lc)})`;
    return `let ${cell('p', lr, lc)} = select(0.0, sigm(${logit(cell('s', lr, lc), i, j)}), ${visible(i, j, 'kEnd')});`;
  });
  const statsRows = Array.from({ length: g.TM }, (_, lr) =>
    `if (${rowOf(g, lr)} < nQ) { stats[2u * (qRow0 + ${rowOf(g, lr)})] = 0.0; stats[2u * (qRow0 + ${rowOf(g, lr)}) + 1u] = 1.0; }`);
  const code = `${PARAMS_WGSL}
${storageBindings(bindings)}
${SHARED_WGSL}
${SIGMOID_WGSL}
${mainWgsl(g)}
  ${queryBlockWgsl(v.D)}
  ${declareAcc(g, 'acc')}
  for (var j0 = 0u; j0 < kEnd; j0 += 64u) {
    let nK = min(64u, kEnd - j0);
    let kBase = (kvRow0 + j0) * ${d4}u;
    ${scoreTile(g, { out: 's', a: 'q', aBase: 'qBase', nA: 'nQ', b: 'k', bBase: 'kBase', nB: 'nK' })}
    ${probs.join('\n    ')}
    ${storeTile(g, (lr, lc) => cell('p', lr, lc))}
    ${accumulate(g, { acc: 'acc', x: 'v', xBase: 'kBase', nX: 'nK' })}
  }
  ${writeRows(g, { out: 'o', acc: 'acc', rowBase: 'qRow0', nRows: 'nQ' })}
  // Row statistics of the contract: sigmoid has none; (m, l) = (0, 1) makes the LSE 0.
  if (tx == 0u) {
    ${statsRows.join('\n    ')}
  }
}
`;
  return { code, bindings: bindings.map(([n]) => n) };
}
