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
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import type { CudaDevice } from '../src/device.js';
import { BACKEND_CUDA_SOURCE_DIR } from '../src/device.js';
import { CudaBackend } from '../src/backend.js';
import { cpuFallback } from '../src/fallback.js';
import { NORM_COL_TILE, NORM_WARPS_PER_BLOCK, NORM_WARP_MAX, normKernels, planNormColumns, planNormRows } from '../src/kernels/norm.js';
import { runOpCases } from '../src/testing/index.js';
import { normCases } from '../src/testing/cases/norm.js';

// ---- struct layouts from the .cu source --------------------------------------------------------

type Kind = 'ptr' | 'i64' | 'i32' | 'f32';
type Field = { name: string; kind: Kind; offset: number };
const source = readFileSync(`${BACKEND_CUDA_SOURCE_DIR}norm.cu`, 'utf8');
const defines: Record<string, number> = {};
for (const m of source.matchAll(/^#define (\w+) (\d+)$/gm)) defines[m[1]] = Number(m[2]);

function parseStructs(): Map<string, Field[]> {
  const structs = new Map<string, Field[]>();
  for (const m of source.matchAll(/struct (\w+) \{([^}]*)\};/g)) {
    const fields: Field[] = [];
    let offset = 0;
    for (const line of m[2].split('\n')) {
      const f = /^\s*(const )?(float\*|long long|int|float) (\w+(?:, \w+)*);/.exec(line);
      if (!f) continue;
      const kind: Kind = f[2] === 'float*' ? 'ptr' : f[2] === 'long long' ? 'i64' : f[2] === 'int' ? 'i32' : 'f32';
      const size = kind === 'ptr' || kind === 'i64' ? 8 : 4;
      for (const name of f[3].split(', ')) {
        offset = Math.ceil(offset / size) * size;
        fields.push({ name, kind, offset });
        offset += size;
      }
    }
    structs.set(m[1], fields);
  }
  return structs;
}
const STRUCTS = parseStructs();
const KERNEL_STRUCT = new Map(
  [...source.matchAll(/extern "C" __global__ void (?:__launch_bounds__\(\d+\) )?(\w+)\((\w+) p\)/g)].map((m) => [m[1], m[2]]),
);
// The macro-generated warp kernels: norm_fwd_w##K##_f32 for each NORM_FWD_WARP(K).
for (const m of source.matchAll(/^NORM_FWD_WARP\((\d+)\)$/gm)) KERNEL_STRUCT.set(`norm_fwd_w${m[1]}_f32`, 'NormFwdParams');
for (const m of source.matchAll(/^NORM_BWD_WARP\((\d+)\)$/gm)) KERNEL_STRUCT.set(`norm_bwd_dx_w${m[1]}_f32`, 'NormBwdParams');

type Decoded = Record<string, bigint | number>;
function decode(kernel: string, params: Uint8Array): Decoded {
  const struct = KERNEL_STRUCT.get(kernel);
  if (struct === undefined) throw new Error(`emulated device: no kernel ${kernel} in norm.cu`);
  const view = new DataView(params.buffer, params.byteOffset, params.byteLength);
  const fields = STRUCTS.get(struct)!;
  const last = fields[fields.length - 1];
  expect(params.byteLength, `${kernel}: parameter bytes`).toBeGreaterThanOrEqual(last.offset + (last.kind === 'ptr' || last.kind === 'i64' ? 8 : 4));
  const out: Decoded = {};
  for (const f of fields) {
    out[f.name] = f.kind === 'ptr' ? view.getBigUint64(f.offset, true)
      : f.kind === 'i64' ? Number(view.getBigInt64(f.offset, true))
        : f.kind === 'i32' ? view.getInt32(f.offset, true) : view.getFloat32(f.offset, true);
  }
  return out;
}

// ---- emulated device ---------------------------------------------------------------------------

/** Each allocation at its own 2^32-aligned address, so a pointer is (block, byte offset); fresh memory is NaN. */
class EmulatedMemory {
  private readonly blocks = new Map<bigint, { u32: Uint32Array; f32: Float32Array }>();
  private next = 1n;
  alloc(bytes: number): bigint {
    const base = this.next++ << 32n;
    const u32 = new Uint32Array(Math.ceil(bytes / 4)).fill(0x7fc00000);
    this.blocks.set(base, { u32, f32: new Float32Array(u32.buffer) });
    return base;
  }
  release(ptr: bigint): void {
    if (!this.blocks.delete(ptr)) throw new Error(`emulated device: release of ${ptr.toString(16)}, not an allocation`);
  }
  private block(ptr: bigint, index: number): { u32: Uint32Array; f32: Float32Array; at: number } {
    if (ptr === 0n) throw new Error('emulated device: null pointer dereferenced');
    const b = this.blocks.get((ptr >> 32n) << 32n);
    const at = Number(ptr & 0xffffffffn) / 4 + index;
    if (b === undefined || !Number.isInteger(at) || at < 0 || at >= b.u32.length) throw new Error(`emulated device: word ${index} of ${ptr.toString(16)} is out of bounds`);
    return { u32: b.u32, f32: b.f32, at };
  }
  get(ptr: bigint, index: number): number {
    const { u32, at } = this.block(ptr, index);
    return u32[at];
  }
  set(ptr: bigint, index: number, value: number): void {
    const { u32, at } = this.block(ptr, index);
    u32[at] = value >>> 0;
  }
  /** The float32 words from `ptr` to the end of its allocation (kernels index them directly). */
  floats(ptr: bigint): Float32Array {
    const { f32, at } = this.block(ptr, 0);
    return f32.subarray(at);
  }
}

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

type Launch = { grid: number[]; block: number };

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

function emulatedDevice(mem: EmulatedMemory): CudaDevice {
  const launch = (mod: string, kernel: string, grid: number[], block: number, params: Uint8Array) => {
    expect(mod).toBe('norm');
    runKernel(mem, kernel, decode(kernel, params), { grid: [grid[0], grid[1] ?? 1], block });
  };
  const device = {
    launches: 0,
    alloc: (bytes: number) => mem.alloc(bytes),
    release: (ptr: bigint) => mem.release(ptr),
    upload: (dst: bigint, src: ArrayBufferView) => {
      const words = new Uint32Array(src.buffer, src.byteOffset, src.byteLength / 4);
      words.forEach((w, i) => mem.set(dst, i, w));
    },
    copy: (dst: bigint, src: bigint, bytes: number) => {
      for (let i = 0; i < bytes / 4; i++) mem.set(dst, i, mem.get(src, i));
    },
    launch1d: (mod: string, kernel: string, n: number, params: Uint8Array) => {
      if (n > 0) launch(mod, kernel, [Math.ceil(n / 256)], 256, params);
    },
    launch: (mod: string, kernel: string, grid: number[], block: number, params: Uint8Array) => launch(mod, kernel, grid, block, params),
    synchronize: () => {},
    idle: async () => {},
    timeMs: (f: () => void) => (f(), 0),
    dispose: () => {},
    allocator: { snapshot: () => ({ bytesInUse: 0, bytesReserved: 0, peakBytesInUse: 0 }) },
    driver: {
      fill32: (ptr: bigint, value: number, count: number) => {
        for (let i = 0; i < count; i++) mem.set(ptr, i, value);
      },
      copyDtoH: (out: Float32Array | Int32Array, ptr: bigint, bytes: number) => {
        const words = new Uint32Array(out.buffer, out.byteOffset, bytes / 4);
        for (let i = 0; i < words.length; i++) words[i] = mem.get(ptr, i);
      },
    },
  };
  return device as unknown as CudaDevice;
}

// ---- the suite ---------------------------------------------------------------------------------

const BACKEND = 'cuda-norm-emulated';
const mem = new EmulatedMemory();

describe('norm kernels on an emulated device', () => {
  afterAll(() => {
    for (const c of tf.getKernelsForBackend(BACKEND)) tf.unregisterKernel(c.kernelName, BACKEND);
    tf.removeBackend(BACKEND);
  });

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
    for (const c of normKernels) tf.registerKernel({ ...c, backendName: BACKEND });
    for (const c of tf.getKernelsForBackend('cpu')) {
      if (tf.getKernel(c.kernelName, BACKEND) === undefined) tf.registerKernel({ ...cpuFallback(c), backendName: BACKEND });
    }
    tf.registerBackend(BACKEND, () => {
      const be = new CudaBackend(emulatedDevice(mem));
      be.poison = true;
      return be;
    }, 0);
    // The emulation replays every thread in TS; the 1.5M-element case is left to the GPU run (its paths,
    // block rows with several column chunks, are covered by the smaller [70,1536] case).
    const cases = normCases.filter((c) => c.inputs[0].shape.reduce((a, b) => a * b, 1) <= 300_000);
    expect(cases.length).toBe(normCases.length - 1);
    const rows = await runOpCases(cases, BACKEND);
    const failures = rows.filter((r) => !r.pass).map((r) => `${r.name} ${r.what}: err ${r.maxErr} ${r.detail}`);
    expect(failures).toEqual([]);
    // Each case compared its output and a gradient per input.
    expect(rows.length).toBe(cases.reduce((n, c) => n + 1 + c.inputs.length, 0));
    await tf.setBackend('cpu');
    // Every kernel of norm.cu ran.
    expect([...KERNEL_STRUCT.keys()].filter((k) => !launched.has(k))).toEqual([]);
  }, 120_000);
});
