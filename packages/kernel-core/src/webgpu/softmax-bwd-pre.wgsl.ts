/**
 * Softmax backward, first kernel: per query row, rowStats = (m, l, Drow, 0), one vec4 that the dQ and
 * dK/dV kernels read per row (this keeps the dK/dV kernel within 8 storage buffers). m is the
 * forward's row max (exact: a max does not round); l = Σⱼ exp(sᵢⱼ − m) and Drow = Σⱼ Pᵢⱼ dPᵢⱼ with
 * P = exp(s − m) / l are recomputed here as the naive path computes them: every term formed by the
 * same expression, summed one key at a time in index order. One workgroup per 64-query block makes two
 * passes over the key blocks: pass 1 recomputes S for l, pass 2 recomputes S and dP for Drow.
 *
 * Why not reuse the forward's l, or sum in parallel: l and Drow enter every dS of the row, as
 * dS = P(dP − Drow) with P ∝ 1/l, so their rounding errors are common to the whole row and do not
 * average out in dQ = scale·dS·K or dK = scale·dSᵀ·Q. The forward's l is summed per invocation, then
 * across the row's invocations, then rescaled per key block (online softmax); with that l and a Drow
 * summed the same way, dQ and dK reached 2.3× the naive path's error on a short GQA row
 * (`softmax q[2,4,5,32] kv[2,2,35,32]`, test/webgpu.test.ts), an error that a float32 emulation of the
 * kernel reproduced to the last digit and that went away with the naive summation order alone. With
 * the naive order the flash backward performs the naive path's operations, as the sigmoid kernels do.
 *
 * FlashAttention-2 instead uses the identity Drow = dOᵢ·Oᵢ, which saves the dP GEMM here; O's rounding
 * then enters Drow independently of the dP values it must cancel against (2.3× the naive error on
 * about 1 case in 1000 on lavapipe). The price of the naive order is one extra GEMM (S in pass 1) and,
 * per 64-key block, 64 invocations summing their row's 64 terms one by one: 10 GEMMs instead of 9 in
 * the softmax backward (on an H200: 130.7 ms instead of 100.5 ms at N 4096, D 64 with the sums as loops;
 * see the README for the unrolled sums). Sigmoid needs none of this: its dS = P(1 − P)dP has no row coupling.
 */
import {
  PARAMS_WGSL, SHARED_WGSL, SOFTMAX_P_WGSL, cell, cells, colOf, geometry, logit, mainWgsl, queryBlockWgsl, rowOf,
  scoreTile, storageBindings, storeTile, visible, type FlashVariant,
} from './common.wgsl.js';
import type { KernelSource } from './flash-sigmoid-fwd.wgsl.js';

/** Keys per half tile of dP staged for the sequential Drow sum (the stage holds 32 keys × 64 rows). */
const HALF = 32;

export function softmaxBwdPre(v: FlashVariant): KernelSource {
  const g = geometry(v);
  const bindings: Array<[string, string, 'read' | 'read_write']> = [
    ['q', 'vec4<f32>', 'read'], ['k', 'vec4<f32>', 'read'], ['v', 'vec4<f32>', 'read'], ['dO', 'vec4<f32>', 'read'],
    ['stats', 'f32', 'read'], ['rowStats', 'vec4<f32>', 'read_write'], ['aux', 'f32', 'read'],
  ];
  const rows = Array.from({ length: g.TM }, (_, lr) => lr);
  // The forward's row max of each of the invocation's rows (0 for rows past nQ, which see no key).
  const rowMax = rows.map((lr) => `var m${lr} = 0.0; if (${rowOf(g, lr)} < nQ) { m${lr} = stats[2u * (qRow0 + ${rowOf(g, lr)})]; }`);
  const at = (lr: number, lc: number) => ({ i: `(q0 + ${rowOf(g, lr)})`, j: `(j0 + ${colOf(g, lc)})` });
  const expTerms = cells(g).map(([lr, lc]) => {
    const { i, j } = at(lr, lc);
    return `let ${cell('e', lr, lc)} = select(0.0, exp(${logit(cell('s', lr, lc), i, j)} - m${lr}), ${visible(i, j, 'kEnd')});`;
  });
  const probs = cells(g).map(([lr, lc]) => {
    const { i, j } = at(lr, lc);
    return `let ${cell('p', lr, lc)} = select(0.0, softmaxP(${logit(cell('s', lr, lc), i, j)}, m${lr}, l${lr}), ${visible(i, j, 'kEnd')});`;
  });
  // dP of the keys [c0, c0 + 32) of the tile into stage[key − c0][row group], as vec4s of 4 rows.
  const stageDp = (c0: number) => {
    const lines: string[] = [];
    for (let lc = 0; lc < g.TN; lc++) {
      for (let rg = 0; rg < g.TM / 4; rg++) {
        const comps = [0, 1, 2, 3].map((r) => cell('dp', rg * 4 + r, lc)).join(', ');
        lines.push(`if (${colOf(g, lc)} >= ${c0}u && ${colOf(g, lc)} < ${c0 + HALF}u) { ` +
          `stage[(${colOf(g, lc)} - ${c0}u) * 16u + ${rg * g.TY}u + ty] = vec4<f32>(${comps}); }`);
      }
    }
    return lines.join('\n    ');
  };
  // Invocation tid < 64 owns row tid of the block; tP[key][row group ^ key group] holds 4 rows (storeTile).
  // The sums are unrolled over all 64 keys of the tile: keys past nK hold P = 0 and dP = 0, and adding an
  // exact 0 leaves the sum unchanged, so the order is still the naive one, while the compiler can issue
  // every load ahead of the dependent adds (a loop kept each load's latency inside the chain).
  const tileValue = (key: number) => `tP[${key * 16}u + ((tid / 4u) ^ ${Math.floor(key / 4)}u)][tid % 4u]`;
  const lsumTerms = Array.from({ length: 64 }, (_, c) => `lsum += ${tileValue(c)};`);
  const drowHalf = (c0: number) => `
    workgroupBarrier();
    ${stageDp(c0)}
    workgroupBarrier();
    if (tid < 64u) {
      ${Array.from({ length: HALF }, (_, c) => `drow += ${tileValue(c0 + c)} * stage[${c * 16}u + tid / 4u][tid % 4u];`).join('\n      ')}
    }`;
  const code = `${PARAMS_WGSL}
${storageBindings(bindings)}
${SHARED_WGSL}
${SOFTMAX_P_WGSL}
${mainWgsl(g)}
  ${queryBlockWgsl(v.D)}
  ${rowMax.join('\n  ')}
  // Pass 1: l of row tid, one key at a time.
  var lsum = 0.0;
  for (var j0 = 0u; j0 < kEnd; j0 += 64u) {
    let nK = min(64u, kEnd - j0);
    let kBase = (kvRow0 + j0) * ${v.D / 4}u;
    ${scoreTile(g, { out: 's', a: 'q', aBase: 'qBase', nA: 'nQ', b: 'k', bBase: 'kBase', nB: 'nK' })}
    ${expTerms.join('\n    ')}
    ${storeTile(g, (lr, lc) => cell('e', lr, lc))}
    workgroupBarrier();
    if (tid < 64u) {
      ${lsumTerms.join('\n      ')}
    }
  }
  // Hand every invocation the l of its rows.
  workgroupBarrier();
  if (tid < 64u) { stage[tid] = vec4<f32>(lsum, 0.0, 0.0, 0.0); }
  workgroupBarrier();
  ${rows.map((lr) => `let l${lr} = stage[${rowOf(g, lr)}].x;`).join('\n  ')}
  // Pass 2: Drow of row tid, one key at a time, P and dP formed as in the naive kernels.
  var drow = 0.0;
  for (var j0 = 0u; j0 < kEnd; j0 += 64u) {
    let nK = min(64u, kEnd - j0);
    let kBase = (kvRow0 + j0) * ${v.D / 4}u;
    ${scoreTile(g, { out: 's', a: 'q', aBase: 'qBase', nA: 'nQ', b: 'k', bBase: 'kBase', nB: 'nK' })}
    ${scoreTile(g, { out: 'dp', a: 'dO', aBase: 'qBase', nA: 'nQ', b: 'v', bBase: 'kBase', nB: 'nK' })}
    ${probs.join('\n    ')}
    ${storeTile(g, (lr, lc) => cell('p', lr, lc))}
    ${drowHalf(0)}
    ${drowHalf(HALF)}
  }
  if (tid < nQ) {
    rowStats[qRow0 + tid] = vec4<f32>(stats[2u * (qRow0 + tid)], lsum, drow, 0.0);
  }
}
`;
  return { code, bindings: bindings.map(([n]) => n) };
}
