// CI tests of the CUDA host code that need no GPU: the no-driver error, half conversions, param packing,
// the case list of the GPU check, the Hopper/FA2 forward dispatch, the decode route (Nq = 1) and the varlen route with
// a fake driver, and the varlen check harness against an emulated kernel.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeTempDir, Rng } from '@sigattn/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CudaDriver, NoCudaDriverError } from '../src/cuda/driver.js';
import {
  BWD_PARAMS_BYTES, CUDA_HEAD_DIMS, CUDA_KINDS, CudaFlashAttention, DECODE_BLOCKS_PER_SM, DECODE_MIN_CHUNK, DECODE_PARAMS_BYTES, decodeSplits, FWD_PARAMS_BYTES,
  HOPPER_HEAD_DIMS, packBwdParams, packDecodeParams, packFwdParams, packVarlenFwdParams, VARLEN_FWD_PARAMS_BYTES,
} from '../src/cuda/flash.js';
import { DeviceTensor } from '../src/cuda/tensor.js';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../src/cuda/half.js';
import { resolveAttention } from '../src/spec.js';
import {
  cudaCheckCase, cudaCheckCases, cudaDecodeCase, cudaDecodeCases, cudaVarlenCase, cudaVarlenCases, DECODE_CHECK_KEY_LENGTHS, naiveAttentionF32Forward, runCudaVarlenCheck,
} from '@sigattn/kernel-core/testing';

function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

describe('CUDA driver loading', () => {
  it('reports a missing libcuda as one clear NoCudaDriverError', () => {
    const lib = `/nonexistent-${Date.now()}/libcuda.so.1`;
    let err: unknown;
    try {
      CudaDriver.open(0, lib);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NoCudaDriverError);
    expect((err as Error).message).toMatch(/^no CUDA driver found: /);
    expect((err as Error).message).toContain(lib);
  });
});

describe('16-bit conversions', () => {
  const rand = rng(7);
  const samples = Array.from({ length: 2000 }, () => (rand() - 0.5) * 2 ** Math.floor(rand() * 36 - 24));

  for (const [name, enc, dec] of [
    ['bf16', f32ToBf16Bits, bf16BitsToF32],
    ['fp16', f32ToF16Bits, f16BitsToF32],
  ] as const) {
    it(`${name} rounds to the nearest representable value`, () => {
      for (const x of samples) {
        const h = enc(x);
        const y = dec(h);
        // Neighbours one ulp away in the 16-bit encoding (same sign) must not be closer.
        for (const n of [h - 1, h + 1]) {
          if ((n & 0x7fff) === 0x7fff || n < 0 || n > 0xffff || (n ^ h) & 0x8000) continue;
          const z = dec(n);
          if (Number.isFinite(z)) expect(Math.abs(x - y)).toBeLessThanOrEqual(Math.abs(x - z));
        }
        expect(enc(y)).toBe(h);
      }
    });
  }
});

describe('FwdParams packing', () => {
  it('matches the C struct layout (7 pointers, 6 int32, 2 f32)', () => {
    const rand = rng(11);
    const B = 1 + Math.floor(rand() * 4), Hkv = 1 + Math.floor(rand() * 3), H = Hkv * (1 + Math.floor(rand() * 3));
    const Nq = 1 + Math.floor(rand() * 500), Nk = 1 + Math.floor(rand() * 500);
    const bias = -1 - rand() * 5, scale = 0.1 + rand();
    const r = resolveAttention([B, H, Nq, 64], [B, Hkv, Nk, 64], [B, Hkv, Nk, 64], { kind: 'sigmoid', bias, scale, causal: true });
    const ptrs = [11n, 22n, 33n, 44n, 0n, 0n, 2n ** 40n + 8n];
    const buf = packFwdParams({ q: ptrs[0], k: ptrs[1], v: ptrs[2], o: ptrs[3], lse: ptrs[4], alibi: ptrs[5], keyLens: ptrs[6] }, r);
    expect(buf.byteLength).toBe(FWD_PARAMS_BYTES);
    const dv = new DataView(buf.buffer);
    ptrs.forEach((p, i) => expect(dv.getBigUint64(i * 8, true)).toBe(p));
    expect([0, 1, 2, 3, 4, 5].map((i) => dv.getInt32(56 + i * 4, true))).toEqual([B, H, Hkv, Nq, Nk, 1]);
    expect(dv.getFloat32(80, true)).toBeCloseTo(scale, 6);
    expect(dv.getFloat32(84, true)).toBeCloseTo(bias, 6);
  });
});

describe('BwdParams packing', () => {
  it('matches the C struct layout (11 pointers, 6 int32, 2 f32)', () => {
    const rand = rng(13);
    const B = 1 + Math.floor(rand() * 4), Hkv = 1 + Math.floor(rand() * 3), H = Hkv * (1 + Math.floor(rand() * 3));
    const Nq = 1 + Math.floor(rand() * 500), Nk = 1 + Math.floor(rand() * 500);
    const scale = 0.1 + rand();
    const r = resolveAttention([B, H, Nq, 128], [B, Hkv, Nk, 128], [B, Hkv, Nk, 128], { kind: 'softmax', scale });
    const ptrs = Array.from({ length: 11 }, (_, i) => BigInt(i + 1) * 2n ** 33n + BigInt(Math.floor(rand() * 1e6)));
    const [q, k, v, dout, lse, delta, dqAcc, dkAcc, dvAcc, alibi, keyLens] = ptrs;
    const buf = packBwdParams({ q, k, v, dout, lse, delta, dqAcc, dkAcc, dvAcc, alibi, keyLens }, r);
    expect(buf.byteLength).toBe(BWD_PARAMS_BYTES);
    const dv = new DataView(buf.buffer);
    ptrs.forEach((p, i) => expect(dv.getBigUint64(i * 8, true)).toBe(p));
    expect([0, 1, 2, 3, 4, 5].map((i) => dv.getInt32(88 + i * 4, true))).toEqual([B, H, Hkv, Nq, Nk, 0]);
    expect(dv.getFloat32(112, true)).toBeCloseTo(scale, 6);
    expect(dv.getFloat32(116, true)).toBe(0);
  });
});

describe('GPU check cases (src/cuda/check.ts)', () => {
  it('are ≥ 100 shared random cases per CUDA kind, both dtypes, inputs rounded to the dtype', () => {
    const cases = cudaCheckCases(1);
    for (const kind of CUDA_KINDS) {
      const own = cases.filter((c) => c.options.kind === kind);
      expect(own.length).toBeGreaterThanOrEqual(100);
      expect(new Set(own.map((c) => c.dtype))).toEqual(new Set(['bf16', 'fp16']));
    }
    expect(new Set(cases.map((c) => c.seed)).size).toBe(cases.length);
    // Drawing a few: CUDA head dims, and every input already a bf16/fp16 value.
    for (const d of [cases[0], cases[1], cases[cases.length - 1]]) {
      const c = cudaCheckCase(d);
      expect(CUDA_HEAD_DIMS).toContain(c.resolved.D);
      const [enc, dec] = d.dtype === 'bf16' ? [f32ToBf16Bits, bf16BitsToF32] : [f32ToF16Bits, f16BitsToF32];
      for (const x of [c.q, c.k, c.v, c.dO]) expect(x.every((v) => dec(enc(v)) === v), c.label).toBe(true);
      expect(c.q.some((v) => v !== Math.fround(v * 1.0001)), 'inputs are random, not constant').toBe(true);
    }
  });

  it('cover every CUDA head dim in both dtypes, short and multi-tile (long) cases alike', () => {
    const cases = cudaCheckCases(3, 60);
    for (const kind of CUDA_KINDS) {
      for (const long of [false, true]) {
        const own = cases.filter((c) => c.options.kind === kind && c.title.includes(long ? 'N ≤ 400' : 'N ≤ 80'));
        const seen = new Set(own.map((c) => `${cudaCheckCase(c).resolved.D} ${c.dtype}`));
        for (const d of CUDA_HEAD_DIMS) for (const dt of ['bf16', 'fp16']) expect(seen, `${kind} ${long ? 'long' : 'short'}`).toContain(`${d} ${dt}`);
      }
    }
  });
});

describe('dispatch between the Hopper and FA2 kernels', () => {
  // forwardImpl only reads the device's compute capability and looks for the sm_90a cubin.
  const fakeDriver = (major: number) => ({ info: { computeCapability: [major, 0] } }) as unknown as CudaDriver;
  let dir: { path: string; remove(): void };
  beforeAll(() => {
    dir = makeTempDir('sigattn-dispatch-');
    mkdirSync(path.join(dir.path, 'sm_90a'));
    writeFileSync(path.join(dir.path, 'sm_90a', 'hopper_sigmoid_fwd.cubin'), '');
    writeFileSync(path.join(dir.path, 'sm_90a', 'hopper_softmax_bwd.cubin'), '');
  });
  afterAll(() => dir.remove());

  it('picks the Hopper kernel on 9.x where its cubin is built, FA2 otherwise', () => {
    const on9 = new CudaFlashAttention(fakeDriver(9), dir.path, { hopper: true });
    for (const d of HOPPER_HEAD_DIMS) {
      expect(on9.forwardImpl('sigmoid', d)).toBe('hopper');
      expect(on9.forwardImpl('softmax', d)).toBe('fa2'); // no hopper_softmax_fwd.cubin in this build dir
      expect(new CudaFlashAttention(fakeDriver(8), dir.path, { hopper: true }).forwardImpl('sigmoid', d)).toBe('fa2');
      expect(new CudaFlashAttention(fakeDriver(9), dir.path, { hopper: false }).forwardImpl('sigmoid', d)).toBe('fa2');
    }
  });

  it('chooses the backward family by its own cubin, by the same rule', () => {
    const on9 = new CudaFlashAttention(fakeDriver(9), dir.path, { hopper: true });
    for (const d of HOPPER_HEAD_DIMS) {
      expect(on9.backwardImpl('softmax', d)).toBe('hopper');
      expect(on9.backwardImpl('sigmoid', d)).toBe('fa2'); // only the forward sigmoid cubin is in this build dir
      expect(new CudaFlashAttention(fakeDriver(8), dir.path, { hopper: true }).backwardImpl('softmax', d)).toBe('fa2');
      expect(new CudaFlashAttention(fakeDriver(9), dir.path, { hopper: false }).backwardImpl('softmax', d)).toBe('fa2');
    }
    expect(on9.backwardImpl('softmax', 32)).toBe('fa2');
  });

  it('runs the FA2 forward for head dims without Hopper kernels (D = 32) even on 9.x with the cubin built', () => {
    const others = CUDA_HEAD_DIMS.filter((d) => !(HOPPER_HEAD_DIMS as readonly number[]).includes(d));
    expect(others).toContain(32);
    const on9 = new CudaFlashAttention(fakeDriver(9), dir.path, { hopper: true });
    for (const d of others) expect(on9.forwardImpl('sigmoid', d)).toBe('fa2');
  });

  it('SIGATTN_CUDA_HOPPER=0 forces the FA2 kernels by default', () => {
    const saved = process.env.SIGATTN_CUDA_HOPPER;
    try {
      process.env.SIGATTN_CUDA_HOPPER = '0';
      expect(new CudaFlashAttention(fakeDriver(9), dir.path).forwardImpl('sigmoid', 64)).toBe('fa2');
      delete process.env.SIGATTN_CUDA_HOPPER;
      expect(new CudaFlashAttention(fakeDriver(9), dir.path).forwardImpl('sigmoid', 64)).toBe('hopper');
    } finally {
      if (saved === undefined) delete process.env.SIGATTN_CUDA_HOPPER;
      else process.env.SIGATTN_CUDA_HOPPER = saved;
    }
  });
});

describe('DecodeParams packing', () => {
  it('is FwdParams followed by the split fields (2 pointers, num_splits, chunk)', () => {
    const r = resolveAttention([2, 4, 1, 64], [2, 2, 300, 64], [2, 2, 300, 64], { kind: 'softmax', scale: 0.125 });
    const fwd = packFwdParams({ q: 1n, k: 2n, v: 3n, o: 4n, lse: 5n, alibi: 0n, keyLens: 0n }, r);
    const buf = packDecodeParams(fwd, { partO: 2n ** 41n + 16n, partMl: 2n ** 42n + 32n, numSplits: 7, chunk: 320 });
    expect(buf.byteLength).toBe(DECODE_PARAMS_BYTES);
    expect(Array.from(buf.subarray(0, FWD_PARAMS_BYTES))).toEqual(Array.from(fwd));
    const dv = new DataView(buf.buffer);
    expect(dv.getBigUint64(88, true)).toBe(2n ** 41n + 16n);
    expect(dv.getBigUint64(96, true)).toBe(2n ** 42n + 32n);
    expect([dv.getInt32(104, true), dv.getInt32(108, true)]).toEqual([7, 320]);
  });
});

describe('decode splits (flash-decoding)', () => {
  it('cover the keys with whole steps, never shorter than the minimum chunk unless one split, and fill the SMs when the cache allows', () => {
    const rand = rng(17);
    for (let t = 0; t < 500; t++) {
      const rows = 1 + Math.floor(rand() * 600), Nk = Math.floor(rand() * 40000), step = [32, 64, 128][t % 3], sms = [108, 132][t % 2];
      const { numSplits, chunk } = decodeSplits(rows, Nk, step, sms);
      const what = `rows ${rows} Nk ${Nk} step ${step} sms ${sms}: ${numSplits} × ${chunk}`;
      expect(chunk % step, what).toBe(0);
      expect(numSplits, what).toBeGreaterThanOrEqual(1);
      expect(numSplits * chunk, what).toBeGreaterThanOrEqual(Nk);
      if (numSplits > 1) {
        expect((numSplits - 1) * chunk, `${what}: no empty split`).toBeLessThan(Nk);
        expect(chunk, what).toBeGreaterThanOrEqual(DECODE_MIN_CHUNK);
      }
      // Enough blocks for the SMs (DECODE_BLOCKS_PER_SM each, less what rounding the chunk up to whole steps costs: ≤ 20 %
      // once a split holds ≥ 4 steps) whenever the cache is long enough to split that far.
      const wanted = Math.ceil((DECODE_BLOCKS_PER_SM * sms) / rows);
      if (wanted > 1 && Nk >= Math.max(DECODE_MIN_CHUNK, 4 * step) * wanted) expect(rows * numSplits, what).toBeGreaterThanOrEqual(0.8 * DECODE_BLOCKS_PER_SM * sms);
      expect(decodeSplits(rows, Nk, step, sms), 'a pure function of the shape').toEqual({ numSplits, chunk });
    }
  });
});

describe('decode and varlen routes of CudaFlashAttention (fake driver)', () => {
  interface Launch { name: string; grid: number[]; block: number; params: Uint8Array }
  let dir: { path: string; remove(): void };
  beforeAll(() => {
    dir = makeTempDir('sigattn-decode-');
    mkdirSync(path.join(dir.path, 'sm_80'));
    for (const f of ['flash_decode', 'flash_sigmoid_fwd', 'flash_softmax_fwd']) writeFileSync(path.join(dir.path, 'sm_80', `${f}.cubin`), '');
  });
  afterAll(() => dir.remove());

  // Records launches; a kernel's _cfg global reads as the decode kernels' {4096/D keys per step, 0, 128, 0}
  // or the forward kernels' {128, 64, 128, 0}.
  function fake(smCount = 132) {
    const launches: Launch[] = [];
    let next = 0x1000n;
    const names = new Map<bigint, string>();
    const driver = {
      info: { name: 'fake', computeCapability: [8, 0], smCount, maxSharedPerBlockOptin: 232448 },
      alloc: (bytes: number) => { const p = next; next += BigInt(bytes + 256); return p; },
      free: () => undefined,
      copyHtoD: () => undefined,
      fill16: () => undefined,
      fill32: () => undefined,
      synchronize: () => undefined,
      loadModule: () => 1n,
      unloadModule: () => undefined,
      getFunction: (_mod: bigint, name: string) => { const fn = BigInt(names.size + 1); names.set(fn, name); return fn; },
      readGlobal: (_mod: bigint, name: string) => {
        const cfg = Buffer.alloc(16);
        const d = /_d(\d+)_cfg$/.exec(name);
        const decode = name.startsWith('flash_decode_') && !name.startsWith('flash_decode_combine_');
        const values = decode ? [4096 / Number(d![1]), 0, 128, 0] : name.startsWith('flash_decode_combine_') ? [0, 0, Number(d![1]), 0] : [128, 64, 128, 0];
        values.forEach((x, i) => cfg.writeInt32LE(x, i * 4));
        return cfg;
      },
      setMaxDynamicShared: () => undefined,
      launch: (_fn: bigint, name: string, grid: [number, number, number], block: number, _smem: number, args: Uint8Array[]) => {
        launches.push({ name, grid: [...grid], block, params: args[0] });
      },
    } as unknown as CudaDriver;
    return { driver, launches };
  }
  const tensors = (driver: CudaDriver, B: number, H: number, Hkv: number, Nq: number, Nk: number, D: number, dtype: 'bf16' | 'fp16' = 'bf16') => [
    DeviceTensor.empty(driver, dtype, [B, H, Nq, D]),
    DeviceTensor.empty(driver, dtype, [B, Hkv, Nk, D]),
    DeviceTensor.empty(driver, dtype, [B, Hkv, Nk, D]),
  ] as const;

  it('forward() runs one query per head (Nq = 1) through the decode kernel, plus the combine when the keys are split', () => {
    const { driver, launches } = fake();
    const flash = new CudaFlashAttention(driver, dir.path, { hopper: false });
    for (const kind of CUDA_KINDS) {
      for (const D of CUDA_HEAD_DIMS) {
        launches.length = 0;
        const [q, k, v] = tensors(driver, 2, 8, 2, 1, 4096, D, 'fp16');
        const lse = DeviceTensor.empty(driver, 'f32', [2, 8, 1]);
        flash.forward(q, k, v, { kind, causal: true }, { lse });
        const { numSplits, chunk } = decodeSplits(16, 4096, 4096 / D, 132);
        expect(numSplits).toBeGreaterThan(1);
        expect(launches.map((l) => l.name)).toEqual([`flash_decode_${kind}_fp16_d${D}`, `flash_decode_combine_${kind}_fp16_d${D}`]);
        expect(launches[0].grid).toEqual([numSplits, 8, 2]);
        expect(launches[0].block).toBe(128);
        expect(launches[1].grid).toEqual([8, 2, 1]);
        expect(launches[1].block).toBe(D);
        const dv = new DataView(launches[0].params.buffer);
        expect(launches[0].params.byteLength).toBe(DECODE_PARAMS_BYTES);
        expect(dv.getBigUint64(32, true), 'lse pointer (softmax only)').toBe(kind === 'softmax' ? lse.ptr : 0n);
        expect(dv.getBigUint64(88, true), 'partial O buffer').not.toBe(0n);
        expect(dv.getBigUint64(96, true) !== 0n, 'row max/sum buffer (softmax only)').toBe(kind === 'softmax');
        expect([dv.getInt32(104, true), dv.getInt32(108, true)]).toEqual([numSplits, chunk]);
        expect(Array.from(launches[1].params)).toEqual(Array.from(launches[0].params));
      }
    }
  });

  it('a short cache is one split: the decode kernel alone writes O', () => {
    const { driver, launches } = fake();
    const flash = new CudaFlashAttention(driver, dir.path, { hopper: false });
    const [q, k, v] = tensors(driver, 1, 4, 4, 1, 300, 64);
    flash.forward(q, k, v, { kind: 'sigmoid', bias: -5 });
    expect(launches.map((l) => [l.name, l.grid])).toEqual([['flash_decode_sigmoid_bf16_d64', [1, 4, 1]]]);
    expect(new DataView(launches[0].params.buffer).getInt32(104, true)).toBe(1);
  });

  it('Nq > 1 and `decode: false` run the forward kernel; decode() refuses Nq ≠ 1 and a wrong-sized LSE', () => {
    const { driver, launches } = fake();
    const flash = new CudaFlashAttention(driver, dir.path, { hopper: false });
    const [q2, k, v] = tensors(driver, 1, 2, 2, 2, 500, 32);
    flash.forward(q2, k, v, { kind: 'softmax' });
    const [q1] = tensors(driver, 1, 2, 2, 1, 500, 32);
    flash.forward(q1, k, v, { kind: 'softmax' }, { decode: false });
    expect(launches.map((l) => [l.name, l.grid])).toEqual([['flash_softmax_fwd_bf16_d32', [1, 2, 1]], ['flash_softmax_fwd_bf16_d32', [1, 2, 1]]]);
    expect(() => flash.decode(q2, k, v, { kind: 'softmax' })).toThrow(/one query per head.*Nq = 2/);
    expect(() => flash.forward(q1, k, v, { kind: 'softmax' }, { lse: DeviceTensor.empty(driver, 'f32', [1, 2, 2]) })).toThrow(/lse must be f32 \[1, 2, 1\]/);
  });

  it('forwardVarlen() launches the varlen kernel over the longest sequence\'s query blocks × H × sequences with VarlenFwdParams', () => {
    const { driver, launches } = fake();
    const flash = new CudaFlashAttention(driver, dir.path, { hopper: false });
    for (const kind of CUDA_KINDS) {
      for (const D of CUDA_HEAD_DIMS) {
        launches.length = 0;
        const cuQ = [0, 1, 301, 341], cuK = [0, 5, 305, 305];
        const q = DeviceTensor.empty(driver, 'fp16', [341, 4, D]);
        const k = DeviceTensor.empty(driver, 'fp16', [305, 2, D]), v = DeviceTensor.empty(driver, 'fp16', [305, 2, D]);
        const out = flash.forwardVarlen(q, k, v, cuQ, cuK, { kind, causal: true, alibiSlopes: [0.5, 0.25, 0.125, 0.0625], ...(kind === 'sigmoid' ? { bias: -4 } : {}) });
        expect(out.shape).toEqual([341, 4, D]);
        expect(launches.map((l) => [l.name, l.grid, l.block])).toEqual([[`flash_${kind}_fwd_varlen_fp16_d${D}`, [3, 4, 3], 128]]);
        const p = launches[0].params;
        expect(p.byteLength).toBe(VARLEN_FWD_PARAMS_BYTES);
        const dv = new DataView(p.buffer);
        expect([0, 8, 16, 24].map((o) => dv.getBigUint64(o, true))).toEqual([q.ptr, k.ptr, v.ptr, out.ptr]);
        expect(dv.getBigUint64(32, true), 'no LSE').toBe(0n);
        expect(dv.getBigUint64(40, true), 'ALiBi slopes').not.toBe(0n);
        expect(dv.getBigUint64(48, true), 'no key_lens').toBe(0n);
        expect([0, 1, 2, 3, 4, 5].map((i) => dv.getInt32(56 + i * 4, true)), 'B = sequences, Nq/Nk = longest').toEqual([3, 4, 2, 300, 300, 1]);
        expect(dv.getFloat32(84, true)).toBe(kind === 'sigmoid' ? -4 : 0);
        const [cq, ck] = [dv.getBigUint64(88, true), dv.getBigUint64(96, true)];
        expect(cq).not.toBe(0n);
        expect(ck).not.toBe(0n);
        expect(cq).not.toBe(ck);
      }
    }
    expect(packVarlenFwdParams(new Uint8Array(FWD_PARAMS_BYTES).fill(7), { q: 5n, k: 2n ** 40n }).subarray(0, FWD_PARAMS_BYTES).every((x) => x === 7)).toBe(true);
  });

  it('forwardVarlen() refuses bad offsets, shapes and key lengths with one-line errors, before launching', () => {
    const { driver, launches } = fake();
    const flash = new CudaFlashAttention(driver, dir.path, { hopper: false });
    const q = DeviceTensor.empty(driver, 'bf16', [10, 2, 64]);
    const k = DeviceTensor.empty(driver, 'bf16', [12, 2, 64]), v = DeviceTensor.empty(driver, 'bf16', [12, 2, 64]);
    const spec = { kind: 'softmax' } as const;
    const cases: [number[], number[], RegExp][] = [
      [[0], [0], /cuSeqlensQ must hold B \+ 1 ≥ 2 offsets.*got 1/],
      [[1, 10], [0, 12], /cuSeqlensQ must start at 0, got 1/],
      [[0, 6, 4, 10], [0, 4, 8, 12], /cuSeqlensQ must be non-decreasing.*\[1\] = 6 > \[2\] = 4/],
      [[0, 4, 9], [0, 4, 12], /cuSeqlensQ must end at the packed tensor's token count 10 \(dimension 0\), got 9/],
      [[0, 4.5, 10], [0, 4, 12], /cuSeqlensQ\[1\] must be an integer, got 4.5/],
      [[0, 4, 10], [0, 12], /cuSeqlensK has 2 offsets but cuSeqlensQ has 3/],
      [[0, 4, 10], [0, 4, 13], /cuSeqlensK must end at the packed tensor's token count 12/],
    ];
    for (const [cuQ, cuK, err] of cases) {
      let message = '';
      try {
        flash.forwardVarlen(q, k, v, cuQ, cuK, spec);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(err);
      expect(message).toMatch(/^cuda attention varlen: /);
      expect(message).not.toContain('\n');
    }
    expect(() => flash.forwardVarlen(DeviceTensor.empty(driver, 'bf16', [1, 10, 2, 64]), k, v, [0, 10], [0, 12], spec)).toThrow(/q must be packed \[tokens, heads, D\]/);
    expect(() => flash.forwardVarlen(q, k, v, [0, 10], [0, 12], { kind: 'softmax', keyLengths: [3] })).toThrow(/keyLengths does not apply/);
    expect(() => flash.forwardVarlen(q, k, v, [0, 10], [0, 12], { kind: 'softmax', alibiSlopes: [1] })).toThrow(/alibi/i);
    expect(launches).toEqual([]);
    // Every sequence empty: nothing to launch.
    flash.forwardVarlen(DeviceTensor.empty(driver, 'bf16', [0, 2, 64]), k, v, [0, 0, 0], [0, 6, 12], spec);
    expect(launches).toEqual([]);
  });
});

describe('GPU decode check cases (src/cuda/check.ts)', () => {
  it('cover every cache length for both kinds, every (D, dtype) pair per kind, one query per head, inputs rounded', () => {
    const cases = cudaDecodeCases(1);
    for (const kind of CUDA_KINDS) {
      const own = cases.filter((c) => c.kind === kind);
      expect(new Set(own.map((c) => c.Nk))).toEqual(new Set(DECODE_CHECK_KEY_LENGTHS));
      expect(new Set(own.map((c) => `${c.D} ${c.dtype}`)).size).toBe(CUDA_HEAD_DIMS.length * 2);
      expect(own.every((c) => c.title.startsWith(`decode ${kind}`))).toBe(true);
    }
    const flags = { gqa: false, keyLengths: false, alibi: false };
    for (const d of cases) {
      if (d.Nk > 300) continue; // keep the host test fast; the long ones draw the same way
      const c = cudaDecodeCase(d);
      expect([c.resolved.Nq, c.resolved.Nk, c.resolved.D]).toEqual([1, d.Nk, d.D]);
      const [enc, dec] = d.dtype === 'bf16' ? [f32ToBf16Bits, bf16BitsToF32] : [f32ToF16Bits, f16BitsToF32];
      for (const x of [c.q, c.k, c.v]) expect(x.every((v) => dec(enc(v)) === v), c.label).toBe(true);
      flags.gqa ||= c.resolved.H !== c.resolved.Hkv;
      flags.keyLengths ||= c.resolved.keyLengths !== null;
      flags.alibi ||= c.resolved.alibiSlopes !== null;
    }
    expect(flags).toEqual({ gqa: true, keyLengths: true, alibi: true });
  });
});

describe('GPU varlen check cases (src/cuda/check.ts)', () => {
  it('cover every (D, dtype) pair per kind with 3–5 ragged sequences incl. one of 1 query and one > 128, inputs rounded', () => {
    const cases = cudaVarlenCases(1);
    const flags = { gqa: false, causal: false, alibi: false, crossLengths: false };
    for (const kind of CUDA_KINDS) {
      const own = cases.filter((c) => c.kind === kind);
      expect(new Set(own.map((c) => `${c.D} ${c.dtype}`)).size).toBe(CUDA_HEAD_DIMS.length * 2);
      expect(own.every((c) => c.title.startsWith(`varlen ${kind}`))).toBe(true);
    }
    for (const d of cases) {
      const c = cudaVarlenCase(d);
      const S = c.cuQ.length - 1;
      const seqQ = Array.from({ length: S }, (_, i) => c.cuQ[i + 1] - c.cuQ[i]);
      const seqK = Array.from({ length: S }, (_, i) => c.cuK[i + 1] - c.cuK[i]);
      expect(S).toBeGreaterThanOrEqual(3);
      expect(S).toBeLessThanOrEqual(5);
      expect(seqQ).toContain(1);
      expect(Math.max(...seqQ)).toBeGreaterThan(128);
      expect(Math.min(...seqK)).toBeGreaterThan(0);
      expect([c.cuQ[0], c.cuK[0], c.cuK.length]).toEqual([0, 0, S + 1]);
      expect([c.q.length, c.k.length, c.v.length]).toEqual([c.cuQ[S] * c.H * d.D, c.cuK[S] * c.Hkv * d.D, c.cuK[S] * c.Hkv * d.D]);
      const [enc, dec] = d.dtype === 'bf16' ? [f32ToBf16Bits, bf16BitsToF32] : [f32ToF16Bits, f16BitsToF32];
      for (const x of [c.q, c.k, c.v]) expect(x.every((v) => dec(enc(v)) === v), c.label).toBe(true);
      expect(cudaVarlenCase(d).q, 'drawn from its seed').toEqual(c.q);
      flags.gqa ||= c.H !== c.Hkv;
      flags.causal ||= c.spec.causal === true;
      flags.alibi ||= c.spec.alibiSlopes !== undefined;
      flags.crossLengths ||= seqQ.some((n, i) => n !== seqK[i]);
    }
    expect(flags).toEqual({ gqa: true, causal: true, alibi: true, crossLengths: true });
  });
});

describe('GPU varlen check harness (src/cuda/check.ts) against an emulated kernel', () => {
  // A memory-backed fake driver whose varlen "kernel" decodes VarlenFwdParams and computes each sequence
  // with the naive f32 forward, so the packing, offsets and the per-sequence judging run end to end.
  function emulated(skipSequence: number | null) {
    const mem = new Map<bigint, Uint8Array>();
    let next = 0x10000n;
    const buf = (p: bigint) => {
      const b = mem.get(p);
      if (!b) throw new Error(`fake driver: no allocation at ${p}`);
      return b;
    };
    const view = (p: bigint) => new DataView(buf(p).buffer);
    const driver = {
      info: { name: 'emulated', computeCapability: [8, 0], smCount: 4, maxSharedPerBlockOptin: 232448 },
      alloc: (bytes: number) => { const p = next; mem.set(p, new Uint8Array(Math.max(bytes, 1))); next += BigInt(bytes + 256); return p; },
      free: (p: bigint) => { mem.delete(p); },
      copyHtoD: (dst: bigint, src: ArrayBufferView) => buf(dst).set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength)),
      copyDtoH: (dst: ArrayBufferView, src: bigint) => new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(buf(src).subarray(0, dst.byteLength)),
      fill16: (p: bigint, value: number, count: number) => { for (let i = 0; i < count; i++) view(p).setUint16(2 * i, value, true); },
      fill32: (p: bigint, value: number, count: number) => { for (let i = 0; i < count; i++) view(p).setUint32(4 * i, value, true); },
      synchronize: () => undefined,
      loadModule: () => 1n,
      unloadModule: () => undefined,
      getFunction: () => 1n,
      readGlobal: () => { const cfg = Buffer.alloc(16); [128, 64, 128, 0].forEach((x, i) => cfg.writeInt32LE(x, i * 4)); return cfg; },
      setMaxDynamicShared: () => undefined,
      launch: (_fn: bigint, name: string, _grid: number[], _block: number, _smem: number, args: Uint8Array[]) => {
        const m = /^flash_(sigmoid|softmax)_fwd_varlen_(bf16|fp16)_d(\d+)$/.exec(name)!;
        const [kind, dtype, D] = [m[1] as 'sigmoid' | 'softmax', m[2] as 'bf16' | 'fp16', Number(m[3])];
        const p = new DataView(args[0].buffer);
        const ptr = (i: number) => p.getBigUint64(i * 8, true);
        const [B, H, Hkv] = [0, 1, 2].map((i) => p.getInt32(56 + i * 4, true));
        const causal = p.getInt32(76, true) === 1, scale = p.getFloat32(80, true), bias = p.getFloat32(84, true);
        const [dec, enc] = dtype === 'bf16' ? [bf16BitsToF32, f32ToBf16Bits] : [f16BitsToF32, f32ToF16Bits];
        const half = (q: bigint) => Array.from(new Uint16Array(buf(q).buffer), dec);
        const ints = (q: bigint) => new Int32Array(buf(q).buffer, 0, B + 1);
        const [q, k, v] = [half(ptr(0)), half(ptr(1)), half(ptr(2))];
        const alibi = ptr(5) === 0n ? undefined : Array.from(new Float32Array(buf(ptr(5)).buffer, 0, H));
        const [cuQ, cuK] = [ints(p.getBigUint64(88, true)), ints(p.getBigUint64(96, true))];
        const o = new DataView(buf(ptr(3)).buffer);
        const gather = (x: number[], heads: number, s0: number, n: number) => Float32Array.from({ length: heads * n * D }, (_, e) => {
          const d = e % D, i = Math.floor(e / D) % n, h = Math.floor(e / (D * n));
          return x[((s0 + i) * heads + h) * D + d];
        });
        for (let s = 0; s < B; s++) {
          if (s === skipSequence) continue;
          const nq = cuQ[s + 1] - cuQ[s], nk = cuK[s + 1] - cuK[s];
          const r = resolveAttention([1, H, nq, D], [1, Hkv, nk, D], [1, Hkv, nk, D], { kind, scale, causal, alibiSlopes: alibi, ...(kind === 'sigmoid' ? { bias } : {}) });
          const out = naiveAttentionF32Forward(r, gather(q, H, cuQ[s], nq), gather(k, Hkv, cuK[s], nk), gather(v, Hkv, cuK[s], nk)).o;
          for (let h = 0; h < H; h++)
            for (let i = 0; i < nq; i++)
              for (let d = 0; d < D; d++) o.setUint16((((cuQ[s] + i) * H + h) * D + d) * 2, enc(out[(h * nq + i) * D + d]), true);
        }
      },
    } as unknown as CudaDriver;
    return driver;
  }

  it('passes a kernel that attends within each sequence and fails one that leaves a sequence unwritten', () => {
    const dir = makeTempDir('sigattn-varlen-');
    try {
      mkdirSync(path.join(dir.path, 'sm_80'));
      for (const f of ['flash_sigmoid_fwd', 'flash_softmax_fwd']) writeFileSync(path.join(dir.path, 'sm_80', `${f}.cubin`), '');
      const cases = cudaVarlenCases(3).filter((c) => c.D === 32);
      expect(new Set(cases.map((c) => c.kind))).toEqual(new Set(CUDA_KINDS));
      for (const c of cases) {
        const good = emulated(null);
        const ok = runCudaVarlenCheck(good, new CudaFlashAttention(good, dir.path, { hopper: false }), c);
        expect(ok.message, c.title).toBe('');
        expect(ok.comparisons.map((x) => x.output)).toEqual(Array.from({ length: ok.comparisons.length }, (_, s) => `o@varlen[${s}]`));
        expect(ok.comparisons.length).toBeGreaterThanOrEqual(3);
        const bad = emulated(1);
        const failed = runCudaVarlenCheck(bad, new CudaFlashAttention(bad, dir.path, { hopper: false }), c);
        expect(failed.ok).toBe(false);
        expect(failed.comparisons.filter((x) => !x.ok).map((x) => x.output)).toEqual(['o@varlen[1]']);
      }
    } finally {
      dir.remove();
    }
  }, 60_000);
});
