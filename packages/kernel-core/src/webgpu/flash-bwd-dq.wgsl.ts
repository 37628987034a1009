/**
 * Flash backward, dQ: one workgroup per 64-query block, looping over key blocks (causal: only up to
 * the diagonal). Recomputes S = QKᵀ and dP = dO Vᵀ, forms dS, and accumulates dQ = scale · dS K in
 * registers — each dQ row is owned by one workgroup, so no atomics are needed (dK/dV are computed
 * by the transposed kernel in flash-bwd-dkdv.wgsl.ts).
 *   sigmoid: dS = P(1 − P) dP            softmax: dS = P (dP − Drow), P = exp(s − m) / l
 * (m, l, Drow per row come from softmax-bwd-pre.wgsl.ts.)
 */
import {
  PARAMS_WGSL, SHARED_WGSL, SIGMOID_WGSL, SOFTMAX_P_WGSL, accumulate, backwardBindings, cell, cells, colOf, declareAcc, geometry, logit, mainWgsl,
  queryBlockWgsl, rowOf, scoreTile, storageBindings, storeTile, visible, writeRows, type FlashVariant,
} from './common.wgsl.js';
import type { WebGPUKind } from './host.js';
import type { KernelSource } from './flash-sigmoid-fwd.wgsl.js';

export function flashBwdDq(kind: WebGPUKind, v: FlashVariant): KernelSource {
  const g = geometry(v);
  const d4 = v.D / 4;
  const bindings = backwardBindings(kind, ['dq']);
  const body = cells(g).map(([lr, lc]) => {
    const i = `(q0 + ${rowOf(g, lr)})`;
    const j = `(j0 + ${colOf(g, lc)})`;
    const x = logit(cell('s', lr, lc), i, j);
    const dp = cell('dp', lr, lc);
    const p = cell('p', lr, lc);
    return kind === 'sigmoid'
      ? `let ${p} = sigm(${x}); let ${cell('ds', lr, lc)} = select(0.0, ${p} * (1.0 - ${p}) * ${dp}, ${visible(i, j, 'kEnd')});`
      : `let ${p} = softmaxP(${x}, st${lr}.x, st${lr}.y); let ${cell('ds', lr, lc)} = select(0.0, ${p} * (${dp} - st${lr}.z), ${visible(i, j, 'kEnd')});`;
  });
  const rowStats = kind === 'softmax'
    ? Array.from({ length: g.TM }, (_, lr) =>
      `var st${lr} = vec4<f32>(0.0, 1.0, 0.0, 0.0); if (${rowOf(g, lr)} < nQ) { st${lr} = rowStats[qRow0 + ${rowOf(g, lr)}]; }`).join('\n  ')
    : '';
  const code = `${PARAMS_WGSL}
${storageBindings(bindings)}
${SHARED_WGSL}
${kind === 'sigmoid' ? SIGMOID_WGSL : SOFTMAX_P_WGSL}
${mainWgsl(g)}
  ${queryBlockWgsl(v.D)}
  ${rowStats}
  ${declareAcc(g, 'acc')}
  for (var j0 = 0u; j0 < kEnd; j0 += 64u) {
    let nK = min(64u, kEnd - j0);
    let kBase = (kvRow0 + j0) * ${d4}u;
    ${scoreTile(g, { out: 's', a: 'q', aBase: 'qBase', nA: 'nQ', b: 'k', bBase: 'kBase', nB: 'nK' })}
    ${scoreTile(g, { out: 'dp', a: 'dO', aBase: 'qBase', nA: 'nQ', b: 'v', bBase: 'kBase', nB: 'nK' })}
    ${body.join('\n    ')}
    ${storeTile(g, (lr, lc) => cell('ds', lr, lc))}
    ${accumulate(g, { acc: 'acc', x: 'k', xBase: 'kBase', nX: 'nK' })}
  }
  ${writeRows(g, { out: 'dq', acc: 'acc', rowBase: 'qRow0', nRows: 'nQ', value: (a) => `P.scale * ${a}` })}
}
`;
  return { code, bindings: bindings.map(([n]) => n) };
}
