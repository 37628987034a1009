/**
 * The fused norm kernels checked without a GPU: the real CudaBackend and norm kernel configs run on an
 * emulated device whose launches decode the parameter bytes by the structs declared in cuda/norm.cu
 * (parsed from the source, so a field written in the wrong order or width fails here) and replay each
 * kernel of norm.cu in TS over the launch's own grid and block — warp rows lane by lane with the values
 * each lane holds, the xor-butterfly and block sums, the column chunks and their in-order sum — rounding
 * every operation to float32 as the explicitly rounded intrinsics do. The norm op cases then run against
 * the composed ops on tfjs cpu with outputs NaN-poisoned (an unwritten element fails); every other kernel
 * (the harness' Mul/Sum) goes through the cpu fallback.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { NORM_COL_TILE, NORM_WARPS_PER_BLOCK, NORM_WARP_MAX, normKernels, planNormColumns, planNormRows } from '../src/kernels/norm.js';
import { runOpCases } from '../src/testing/index.js';
import { normCases } from '../src/testing/cases/norm.js';
import { CudaSourceLayout, EmulatedMemory, caseFailures, emulatedDevice, registerEmulatedBackend, removeEmulatedBackend, type Decoded, type Launch } from './emulated-device.js';

const layout = new CudaSourceLayout('norm.cu');
const { defines, structs: STRUCTS, kernelStruct: KERNEL_STRUCT } = layout;
// The macro-generated warp kernels: norm_fwd_w##K##_f32 for each NORM_FWD_WARP(K).
for (const m of layout.source.matchAll(/^NORM_FWD_WARP\((\d+)\)$/gm)) KERNEL_STRUCT.set(`norm_fwd_w${m[1]}_f32`, 'NormFwdParams');
for (const m of layout.source.matchAll(/^NORM_BWD_WARP\((\d+)\)$/gm)) KERNEL_STRUCT.set(`norm_bwd_dx_w${m[1]}_f32`, 'NormBwdParams');

// ---- the kernels of norm.cu in TS --------------------------------------------------------------

const fr = Math.fround;
const add = (a: number, b: number) => fr(a + b);
const sub = (a: number, b: number) => fr(a - b);
const mul = (a: number, b: number) => fr(a * b);
const div = (a: number, b: number) => fr(a / b);
const rsqrtRn = (v: number) => fr(1 / Math.sqrt(v));
const LAYER = 0;

/** warp_sum: every lane's value after the xor butterfly; all lanes must agree. */
function warpSum(lanes: number[]): number {
  let v = lanes;
  for (let off = 16; off > 0; off >>= 1) v = v.map((x, l) => add(x, v[l ^ off]));
  expect(new Set(v.map((x) => (Number.isNaN(x) ? 'NaN' : x))).size).toBe(1);
  return v[0];
}

/** block_sum over the block's per-thread values (warps' sums, then warp 0 adds them in order). */
function blockSum(threads: number[]): number {
  const warps = threads.length / 32;
  const perWarp = Array.from({ length: warps }, (_, w) => warpSum(threads.slice(32 * w, 32 * w + 32)));
  return warpSum(Array.from({ length: 32 }, (_, l) => (l < warps ? perWarp[l] : 0)));
}

const normMean = (sum: number, C: number, kind: number) => (kind === LAYER ? div(sum, C) : 0);

/** A float32 store that must land inside the allocation (a Float32Array would drop it silently). */
function store(a: Float32Array, i: number, v: number): void {
  if (!(i >= 0 && i < a.length)) throw new Error(`emulated device: store to element ${i} of ${a.length}`);
  a[i] = v;
}

/** The row's elements held by thread t: warp rows lane t's slots t + 32k (k < perLane); block rows the strided loop. */
function owned(t: number, threads: number, perLane: number, C: number): number[] {
  const js: number[] = [];
  if (perLane > 0) for (let k = 0; k < perLane; k++) js.push(t + 32 * k);
  else for (let j = t; j < C; j += threads) js.push(j);
  return js;
}

function fwdRow(mem: EmulatedMemory, p: Decoded, row: number, threads: number, perLane: number): void {
  const C = p.C as number;
  const X = mem.floats(p.x as bigint), G = mem.floats(p.gamma as bigint), Y = mem.floats(p.y as bigint), S = mem.floats(p.stats as bigint);
  const B = p.kind === LAYER ? mem.floats(p.beta as bigint) : null;
  const x = (j: number) => X[row * C + j];
  const reduce = perLane > 0 ? warpSum : blockSum;
  // Warp rows load 0 into the slots past C and add them; block rows never see them.
  const s = Array.from({ length: threads }, (_, t) => owned(t, threads, perLane, C).reduce((acc, j) => add(acc, j < C ? x(j) : 0), 0));
  const mean = normMean(reduce(s), C, p.kind as number);
  const ss = Array.from({ length: threads }, (_, t) => owned(t, threads, perLane, C).filter((j) => j < C).reduce((acc, j) => add(acc, mul(sub(x(j), mean), sub(x(j), mean))), 0));
  const rstd = rsqrtRn(add(div(reduce(ss), C), p.eps as number));
  for (let j = 0; j < C; j++) {
    let o = mul(mul(sub(x(j), mean), rstd), G[j]);
    if (B !== null) o = add(o, B[j]);
    store(Y, row * C + j, o);
  }
  store(S, 2 * row, mean);
  store(S, 2 * row + 1, rstd);
}

function dxRow(mem: EmulatedMemory, p: Decoded, row: number, threads: number, perLane: number): void {
  const C = p.C as number;
  const X = mem.floats(p.x as bigint), G = mem.floats(p.gamma as bigint), S = mem.floats(p.stats as bigint), DY = mem.floats(p.dy as bigint), DX = mem.floats(p.dx as bigint);
  const mean = S[2 * row], rstd = S[2 * row + 1];
  const xh = (j: number) => mul(sub(X[row * C + j], mean), rstd);
  const g = (j: number) => mul(DY[row * C + j], G[j]);
  const mine = (t: number) => owned(t, threads, perLane, C).filter((j) => j < C);
  const reduce = perLane > 0 ? warpSum : blockSum;
  const sg = Array.from({ length: threads }, (_, t) => mine(t).reduce((acc, j) => add(acc, g(j)), 0));
  const sgx = Array.from({ length: threads }, (_, t) => mine(t).reduce((acc, j) => add(acc, mul(g(j), xh(j))), 0));
  const mg = normMean(reduce(sg), C, p.kind as number);
  const mgx = div(reduce(sgx), C);
  for (let j = 0; j < C; j++) store(DX, row * C + j, mul(rstd, sub(sub(g(j), mg), mul(xh(j), mgx))));
}

function rowKernel(mem: EmulatedMemory, p: Decoded, l: Launch, perLane: number, row: typeof fwdRow): void {
  const rows = p.rows as number;
  if (perLane > 0) {
    expect(l.block).toBe(32 * defines.NORM_WARPS_PER_BLOCK);
    expect(32 * perLane).toBeGreaterThanOrEqual(p.C as number);
    expect(l.grid[0] * defines.NORM_WARPS_PER_BLOCK).toBeGreaterThanOrEqual(rows);
    for (let b = 0; b < l.grid[0]; b++) {
      for (let w = 0; w < defines.NORM_WARPS_PER_BLOCK; w++) {
        const r = b * defines.NORM_WARPS_PER_BLOCK + w;
        if (r < rows) row(mem, p, r, 32, perLane);
      }
    }
  } else {
    expect(l.grid[0]).toBe(rows);
    expect(l.block % 32).toBe(0);
    for (let r = 0; r < rows; r++) row(mem, p, r, l.block, 0);
  }
}

function columnsKernel(mem: EmulatedMemory, p: Decoded, l: Launch): void {
  const [C, rows, rpc] = [p.C as number, p.rows as number, p.rowsPerChunk as number];
  const lanes = defines.NORM_COL_LANES, tile = defines.NORM_COL_TILE;
  expect(l.block).toBe(lanes * 32);
  expect(l.grid[0] * tile).toBeGreaterThanOrEqual(C);
  expect(l.grid[1] * rpc).toBeGreaterThanOrEqual(rows);
  const X = mem.floats(p.x as bigint), S = mem.floats(p.stats as bigint), DY = mem.floats(p.dy as bigint), DG = mem.floats(p.dgamma as bigint);
  const DB = p.kind === LAYER ? mem.floats(p.dbeta as bigint) : null;
  for (let bx = 0; bx < l.grid[0]; bx++) {
    for (let chunk = 0; chunk < l.grid[1]; chunk++) {
      const r0 = chunk * rpc, r1 = Math.min(rows, r0 + rpc);
      for (let lane = 0; lane < 32; lane++) {
        const c = bx * tile + lane;
        if (c >= C) continue;
        let g = 0, b = 0;
        for (let t = 0; t < lanes; t++) {
          let ag = 0, ab = 0;
          for (let r = r0 + t; r < r1; r += lanes) {
            const xh = mul(sub(X[r * C + c], S[2 * r]), S[2 * r + 1]);
            const d = DY[r * C + c];
            ag = add(ag, mul(d, xh));
            ab = add(ab, d);
          }
          g = add(g, ag);
          b = add(b, ab);
        }
        store(DG, chunk * C + c, g);
        if (DB !== null) store(DB, chunk * C + c, b);
      }
    }
  }
}

function finishKernel(mem: EmulatedMemory, p: Decoded): void {
  const C = p.C as number;
  const PG = mem.floats(p.partialGamma as bigint), DG = mem.floats(p.dgamma as bigint);
  const [PB, DB] = p.dbeta === 0n ? [null, null] : [mem.floats(p.partialBeta as bigint), mem.floats(p.dbeta as bigint)];
  for (let c = 0; c < C; c++) {
    let g = 0, b = 0;
    for (let k = 0; k < (p.chunks as number); k++) {
      g = add(g, PG[k * C + c]);
      if (PB !== null) b = add(b, PB[k * C + c]);
    }
    store(DG, c, g);
    if (DB !== null) store(DB, c, b);
  }
}

const launched = new Map<string, number>();

function runKernel(mem: EmulatedMemory, kernel: string, p: Decoded, l: Launch): void {
  launched.set(kernel, (launched.get(kernel) ?? 0) + 1);
  const warp = /^norm_(fwd|bwd_dx)_w(\d+)_f32$/.exec(kernel);
  if (warp) return rowKernel(mem, p, l, Number(warp[2]), warp[1] === 'fwd' ? fwdRow : dxRow);
  switch (kernel) {
    case 'norm_fwd_block_f32': return rowKernel(mem, p, l, 0, fwdRow);
    case 'norm_bwd_dx_block_f32': return rowKernel(mem, p, l, 0, dxRow);
    case 'norm_bwd_columns_f32': return columnsKernel(mem, p, l);
    case 'norm_bwd_finish_f32': return finishKernel(mem, p);
    default: throw new Error(`emulated device: no emulation of ${kernel}`);
  }
}

const mem = new EmulatedMemory();

function onLaunch(mod: string, kernel: string, l: Launch, params: Uint8Array): void {
  expect(mod).toBe('norm');
  runKernel(mem, kernel, layout.decode(kernel, params), l);
}

// ---- the suite ---------------------------------------------------------------------------------

const BACKEND = 'cuda-norm-emulated';

describe('norm kernels on an emulated device', () => {
  afterAll(() => removeEmulatedBackend(BACKEND));

  it('the launch structs parse from norm.cu and the host constants match its #defines', () => {
    expect(STRUCTS.get('NormFwdParams')!.map((f) => f.offset)).toEqual([0, 8, 16, 24, 32, 40, 48, 52, 56]);
    expect(STRUCTS.get('NormBwdParams')!.map((f) => f.offset)).toEqual([0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 76]);
    expect(STRUCTS.get('NormFinishParams')!.map((f) => f.offset)).toEqual([0, 8, 16, 24, 32, 40]);
    expect(KERNEL_STRUCT.size).toBe(16);
    expect(defines.NORM_WARPS_PER_BLOCK).toBe(NORM_WARPS_PER_BLOCK);
    expect(defines.NORM_COL_TILE).toBe(NORM_COL_TILE);
  });

  it('plans: warp rows hold the whole row, column chunks cover every row once and none is empty', () => {
    for (const C of [1, 4, 31, 32, 33, 64, 257, 1000, 1024, 1025, 1536, 4096]) {
      const p = planNormRows(10, C);
      if (C <= NORM_WARP_MAX) expect(p.perLane * 32 >= C && (p.perLane === 1 || p.perLane * 16 < C)).toBe(true);
      else expect(p.variant).toBe('block');
      for (const rows of [0, 1, 3, 50, 63, 64, 65, 1000, 1040, 4160, 100_000, 1_000_000]) {
        const cp = planNormColumns(rows, C);
        expect(cp.chunks).toBeGreaterThanOrEqual(1);
        expect(cp.chunks).toBeLessThanOrEqual(1024);
        expect(cp.chunks * cp.rowsPerChunk).toBeGreaterThanOrEqual(rows);
        expect((cp.chunks - 1) * cp.rowsPerChunk < rows || (rows === 0 && cp.chunks === 1)).toBe(true);
        expect(cp.colBlocks * NORM_COL_TILE).toBeGreaterThanOrEqual(C);
      }
    }
  });

  it('agree with the composed ops on tfjs cpu on every norm op case, with outputs poisoned', async () => {
    registerEmulatedBackend(BACKEND, normKernels, () => emulatedDevice(mem, onLaunch));
    // The emulation replays every thread in TS; the 1.5M-element case is left to the GPU run (its paths,
    // block rows with several column chunks, are covered by the smaller [70,1536] case).
    const cases = normCases.filter((c) => c.inputs[0].shape.reduce((a, b) => a * b, 1) <= 300_000);
    expect(cases.length).toBe(normCases.length - 1);
    const rows = await runOpCases(cases, BACKEND);
    expect(caseFailures(rows)).toEqual([]);
    // Each case compared its output and a gradient per input.
    expect(rows.length).toBe(cases.reduce((n, c) => n + 1 + c.inputs.length, 0));
    await tf.setBackend('cpu');
    // Every kernel of norm.cu ran.
    expect([...KERNEL_STRUCT.keys()].filter((k) => !launched.has(k))).toEqual([]);
  }, 120_000);
});
