/**
 * FlashSoftmax forward (FlashAttention-2 online softmax), the baseline FlashSigmoid is measured
 * against: the same tiles, plus what sigmoid does not need — per 64-key block a row max shared by
 * the TX invocations of each row (through workgroup memory, two extra barriers), the rescale of the
 * running O and row sums by exp(m_old − m_new), and a final normalisation. It writes the row
 * statistics (m, l): the row max and Σ exp(s − m), so the backward recomputes P = exp(s − m) / l
 * exactly as the naive path computes it (a single f32 LSE would cost |LSE|·2⁻²⁴ of relative error
 * in every P). A fully masked row gets O = 0 and (m, l) = (−∞, 0).
 */
import {
  PARAMS_WGSL, SHARED_WGSL, accumulate, cell, cells, colOf, declareAcc, geometry, logit, mainWgsl, queryBlockWgsl,
  reduceRows, rowOf, rowPartial, scoreTile, storageBindings, storeTile, visible, writeRows, type FlashVariant,
} from './common.wgsl.js';
import type { KernelSource } from './flash-sigmoid-fwd.wgsl.js';

export function flashSoftmaxFwd(v: FlashVariant): KernelSource {
  const g = geometry(v);
  const d4 = v.D / 4;
  const RG = g.TM / 4;
  const bindings: Array<[string, string, 'read' | 'read_write']> = [
    ['q', 'vec4<f32>', 'read'], ['k', 'vec4<f32>', 'read'], ['v', 'vec4<f32>', 'read'],
    ['o', 'vec4<f32>', 'read_write'], ['stats', 'f32', 'read_write'], ['aux', 'f32', 'read'],
  ];
  const X = 'xyzw';
  const logits: string[] = [];
  const probs: string[] = [];
  for (const [lr, lc] of cells(g)) {
    const i = `(q0 + ${rowOf(g, lr)})`;
    const j = `(j0 + ${colOf(g, lc)})`;
    logits.push(`let ${cell('vis', lr, lc)} = ${visible(i, j, 'kEnd')};`);
    logits.push(`let ${cell('x', lr, lc)} = select(-1e30, ${logit(cell('s', lr, lc), i, j)}, ${cell('vis', lr, lc)});`);
    probs.push(`let ${cell('p', lr, lc)} = select(0.0, exp(${cell('x', lr, lc)} - m${Math.floor(lr / 4)}.${X[lr % 4]}), ${cell('vis', lr, lc)});`);
  }
  const perGroup = (f: (rg: number) => string) => Array.from({ length: RG }, (_, rg) => f(rg)).join('\n    ');
  // O = O·alpha + (this block's P·V), the block summed in its own registers: the sum over keys is
  // then blocked (64 keys sequentially, then one add per block) instead of one long sequential sum, so
  // the rescales add no error beyond it. Without this the online rescaling left O at up to 1.96× the
  // naive path's error on long rows (lavapipe, N = 237), too close to the 2× rule.
  const rescale = [];
  for (let lr = 0; lr < g.TM; lr++) {
    for (let og = 0; og < g.OG; og++) rescale.push(`acc_${lr}_${og} = acc_${lr}_${og} * alpha${Math.floor(lr / 4)}.${X[lr % 4]} + pv_${lr}_${og};`);
  }
  const statsRows: string[] = [];
  for (let rg = 0; rg < RG; rg++) {
    for (let r = 0; r < 4; r++) {
      const row = rowOf(g, rg * 4 + r);
      statsRows.push(`if (${row} < nQ) { let ok = ls${rg}.${X[r]} > 0.0; stats[2u * (qRow0 + ${row})] = select(negInf, m${rg}.${X[r]}, ok); ` +
        `stats[2u * (qRow0 + ${row}) + 1u] = ls${rg}.${X[r]}; }`);
    }
  }
  const code = `${PARAMS_WGSL}
${storageBindings(bindings)}
${SHARED_WGSL}
${mainWgsl(g)}
  ${queryBlockWgsl(v.D)}
  ${declareAcc(g, 'acc')}
  ${perGroup((rg) => `var m${rg} = vec4<f32>(-1e30); var l${rg} = vec4<f32>(0.0);`)}
  for (var j0 = 0u; j0 < kEnd; j0 += 64u) {
    let nK = min(64u, kEnd - j0);
    let kBase = (kvRow0 + j0) * ${d4}u;
    ${scoreTile(g, { out: 's', a: 'q', aBase: 'qBase', nA: 'nQ', b: 'k', bBase: 'kBase', nB: 'nK' })}
    ${logits.join('\n    ')}
    ${reduceRows(g, 'bm', (rg) => rowPartial(g, (lr, lc) => cell('x', lr, lc), rg, 'max'), 'max')}
    ${perGroup((rg) => `let mNew${rg} = max(m${rg}, bm${rg}); let alpha${rg} = exp(m${rg} - mNew${rg}); m${rg} = mNew${rg};`)}
    ${probs.join('\n    ')}
    ${perGroup((rg) => `l${rg} = l${rg} * alpha${rg} + ${rowPartial(g, (lr, lc) => cell('p', lr, lc), rg, 'add')};`)}
    ${storeTile(g, (lr, lc) => cell('p', lr, lc))}
    ${declareAcc(g, 'pv')}
    ${accumulate(g, { acc: 'pv', x: 'v', xBase: 'kBase', nX: 'nK' })}
    ${rescale.join('\n    ')}
  }
  // Each invocation summed only its own columns of each row: finish the row sums.
  ${reduceRows(g, 'ls', (rg) => `l${rg}`, 'add')}
  ${writeRows(g, { out: 'o', acc: 'acc', rowBase: 'qRow0', nRows: 'nQ', value: (a, lr) => `select(vec4<f32>(0.0), ${a} / ls${Math.floor(lr / 4)}.${X[lr % 4]}, ls${Math.floor(lr / 4)}.${X[lr % 4]} > 0.0)` })}
  if (tx == 0u) {
    let negInf = bitcast<f32>(0xff800000u + 0u * tid);
    ${statsRows.join('\n    ')}
  }
}
`;
  return { code, bindings: bindings.map(([n]) => n) };
}
