// CI tests of the CUDA host code that need no GPU: the no-driver error, half conversions, param packing,
// the case list of the GPU check, the Hopper/FA2 forward and backward dispatch (incl. the TMA kernels), the TMA backward's
// route, the decode route (Nq = 1) and the varlen forward and backward routes with a fake driver, and the varlen check
// harness against emulated kernels.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeTempDir, Rng } from '@sigattn/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CudaDriver, NoCudaDriverError } from '../src/cuda/driver.js';
import {
  BWD_PARAMS_BYTES, CUDA_HEAD_DIMS, CUDA_KINDS, CudaFlashAttention, DECODE_BLOCKS_PER_SM, DECODE_MIN_CHUNK, DECODE_PARAMS_BYTES, decodeSplits, FWD_PARAMS_BYTES,
  HOPPER_HEAD_DIMS, packBwdParams, packDecodeParams, packFwdParams, packVarlenBwdParams, packVarlenFwdParams, VARLEN_BWD_PARAMS_BYTES,
  VARLEN_FWD_PARAMS_BYTES, TMA_FORWARD_MIN_KEYS, TMA_FWD_PARAMS_BYTES, packTmaFwdParams, TMA_BACKWARD_MIN_KEYS, TMA_BWD_PARAMS_BYTES,
  packTmaBwdParams,
} from '../src/cuda/flash.js';
import { DeviceTensor } from '../src/cuda/tensor.js';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../src/cuda/half.js';
import { resolveAttention } from '../src/spec.js';
import {
  cudaCheckCase, cudaCheckCases, cudaDecodeCase, cudaDecodeCases, cudaVarlenCase, cudaVarlenCases, DECODE_CHECK_KEY_LENGTHS, naiveAttentionF32Backward,
  naiveAttentionF32Forward, runCudaVarlenCheck,
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

describe('VarlenBwdParams packing', () => {
  it('is BwdParams followed by the two offset pointers (136 bytes)', () => {
    const r = resolveAttention([3, 4, 300, 64], [3, 2, 280, 64], [3, 2, 280, 64], { kind: 'softmax', scale: 0.125, causal: true });
    const ptrs = Array.from({ length: 11 }, (_, i) => BigInt(i + 1) * 2n ** 34n + 8n);
    const [q, k, v, dout, lse, delta, dqAcc, dkAcc, dvAcc, alibi, keyLens] = ptrs;
    const bwd = packBwdParams({ q, k, v, dout, lse, delta, dqAcc, dkAcc, dvAcc, alibi, keyLens }, r);
    const buf = packVarlenBwdParams(bwd, { q: 2n ** 41n + 16n, k: 2n ** 42n + 32n });
    expect(buf.byteLength).toBe(VARLEN_BWD_PARAMS_BYTES);
    expect(VARLEN_BWD_PARAMS_BYTES).toBe(BWD_PARAMS_BYTES + 16);
    expect(Array.from(buf.subarray(0, BWD_PARAMS_BYTES))).toEqual(Array.from(bwd));
    const dv = new DataView(buf.buffer);
    expect(dv.getBigUint64(120, true)).toBe(2n ** 41n + 16n);
    expect(dv.getBigUint64(128, true)).toBe(2n ** 42n + 32n);
    expect([0, 1, 2, 3, 4, 5].map((i) => dv.getInt32(88 + i * 4, true))).toEqual([3, 4, 2, 300, 280, 1]);
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
      // The many-tile cases: every head dim and dtype, both lengths ≥ 520 (≥ 5 key tiles of 128).
      const many = cases.filter((c) => c.options.kind === kind && c.title.includes('N 520–1100')).map((c) => ({ c, r: cudaCheckCase(c).resolved }));
      expect(new Set(many.map(({ c, r }) => `${r.D} ${c.dtype}`))).toEqual(new Set(CUDA_HEAD_DIMS.flatMap((d) => [`${d} bf16`, `${d} fp16`])));
      for (const { r } of many) expect(Math.min(r.Nq, r.Nk)).toBeGreaterThanOrEqual(520);
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

  it('runs the TMA forward from TMA_FORWARD_MIN_KEYS[D] keys (auto), always or never, where its cubin is built', () => {
    writeFileSync(path.join(dir.path, 'sm_90a', 'hopper_sigmoid_tma_fwd.cubin'), '');
    try {
      const auto = new CudaFlashAttention(fakeDriver(9), dir.path, { hopper: true, tma: 'auto' });
      for (const D of [64, 128] as const) {
        expect(auto.forwardKernel('sigmoid', D, TMA_FORWARD_MIN_KEYS[D] - 1)).toBe('hopper');
        expect(auto.forwardKernel('sigmoid', D, TMA_FORWARD_MIN_KEYS[D])).toBe('hopper-tma');
      }
      expect(TMA_FORWARD_MIN_KEYS[64]).toBeGreaterThan(TMA_FORWARD_MIN_KEYS[128]); // measured: D = 64 gains only from 8k keys
      expect(auto.forwardKernel('sigmoid', 32, 16384)).toBe('fa2'); // no Hopper kernel at D = 32
      expect(auto.forwardKernel('softmax', 128, 16384)).toBe('fa2'); // no softmax Hopper forward cubin in this dir
      expect(new CudaFlashAttention(fakeDriver(9), dir.path, { tma: 'always' }).forwardKernel('sigmoid', 128, 1)).toBe('hopper-tma');
      expect(new CudaFlashAttention(fakeDriver(9), dir.path, { tma: 'never' }).forwardKernel('sigmoid', 128, 16384)).toBe('hopper');
      expect(new CudaFlashAttention(fakeDriver(8), dir.path, { tma: 'always' }).forwardKernel('sigmoid', 128, 16384)).toBe('fa2');
    } finally {
      rmSync(path.join(dir.path, 'sm_90a', 'hopper_sigmoid_tma_fwd.cubin'));
    }
  });

  it('packs TmaFwdParams as three 128-byte tensor maps and FwdParams at 384', () => {
    const maps = [1, 2, 3].map((x) => new Uint8Array(128).fill(x));
    const fwd = new Uint8Array(FWD_PARAMS_BYTES).map((_, i) => 100 + (i % 50));
    const buf = packTmaFwdParams({ q: maps[0], k: maps[1], v: maps[2] }, fwd);
    expect(buf.length).toBe(TMA_FWD_PARAMS_BYTES);
    expect([buf[0], buf[127], buf[128], buf[255], buf[256], buf[383]]).toEqual([1, 1, 2, 2, 3, 3]);
    expect(Array.from(buf.subarray(384, 384 + FWD_PARAMS_BYTES))).toEqual(Array.from(fwd));
    expect(() => packTmaFwdParams({ q: new Uint8Array(64), k: maps[1], v: maps[2] }, fwd)).toThrow(/128 bytes/);
  });

  it('runs the TMA backward at D = 64 and 128 from TMA_BACKWARD_MIN_KEYS[D] keys (auto), always or never, where its cubin is built', () => {
    const tmaCubin = path.join(dir.path, 'sm_90a', 'hopper_softmax_tma_bwd.cubin');
    writeFileSync(tmaCubin, '');
    try {
      const auto = new CudaFlashAttention(fakeDriver(9), dir.path, { hopper: true, tma: 'auto' });
      for (const d of HOPPER_HEAD_DIMS) {
        expect(auto.backwardKernel('softmax', d, TMA_BACKWARD_MIN_KEYS[d] - 1)).toBe('hopper');
        expect(auto.backwardKernel('softmax', d, TMA_BACKWARD_MIN_KEYS[d])).toBe('hopper-tma');
        expect(new CudaFlashAttention(fakeDriver(9), dir.path, { tma: 'always' }).backwardKernel('softmax', d, 1)).toBe('hopper-tma');
        expect(new CudaFlashAttention(fakeDriver(9), dir.path, { tma: 'never' }).backwardKernel('softmax', d, 16384)).toBe('hopper');
        expect(new CudaFlashAttention(fakeDriver(8), dir.path, { tma: 'always' }).backwardKernel('softmax', d, 16384)).toBe('fa2');
        expect(new CudaFlashAttention(fakeDriver(9), dir.path, { hopper: false, tma: 'always' }).backwardKernel('softmax', d, 16384)).toBe('fa2');
      }
      expect(auto.backwardKernel('softmax', 32, 16384)).toBe('fa2'); // no Hopper kernels at D = 32
      expect(auto.backwardKernel('sigmoid', 128, 16384)).toBe('fa2'); // no sigmoid Hopper backward cubin in this dir
    } finally {
      rmSync(tmaCubin);
    }
    // The cp.async cubin alone: 'always' falls back to it.
    expect(new CudaFlashAttention(fakeDriver(9), dir.path, { tma: 'always' }).backwardKernel('softmax', 128, 16384)).toBe('hopper');
  });

  it('packs TmaBwdParams as four 128-byte tensor maps (q, k, v, dout) and BwdParams at 512', () => {
    const maps = [1, 2, 3, 4].map((x) => new Uint8Array(128).fill(x));
    const r = resolveAttention([2, 4, 300, 64], [2, 2, 280, 64], [2, 2, 280, 64], { kind: 'softmax', scale: 0.125, causal: true });
    const ptrs = { q: 1n, k: 2n, v: 3n, dout: 4n, lse: 5n, delta: 6n, dqAcc: 7n, dkAcc: 8n, dvAcc: 9n, alibi: 0n, keyLens: 10n };
    const bwd = packBwdParams(ptrs, r);
    const buf = packTmaBwdParams({ q: maps[0], k: maps[1], v: maps[2], dout: maps[3] }, bwd);
    expect(buf.length).toBe(TMA_BWD_PARAMS_BYTES);
    expect(TMA_BWD_PARAMS_BYTES).toBe(512 + Math.ceil(BWD_PARAMS_BYTES / 64) * 64); // the struct is 64-byte aligned
    expect([0, 127, 128, 255, 256, 383, 384, 511].map((i) => buf[i])).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
    expect(Array.from(buf.subarray(512, 512 + BWD_PARAMS_BYTES))).toEqual(Array.from(bwd));
    expect(buf.subarray(512 + BWD_PARAMS_BYTES).every((x) => x === 0)).toBe(true);
    const dv = new DataView(buf.buffer, 512);
    expect(dv.getBigUint64(24, true), 'BwdParams.dout').toBe(4n);
    expect([0, 1, 2, 3, 4, 5].map((i) => dv.getInt32(88 + i * 4, true)), 'B, H, Hkv, Nq, Nk, causal').toEqual([2, 4, 2, 300, 280, 1]);
    expect(dv.getFloat32(112, true)).toBe(0.125);
    expect(() => packTmaBwdParams({ q: maps[0], k: maps[1], v: maps[2], dout: new Uint8Array(64) }, bwd)).toThrow(/128 bytes/);
    expect(() => packTmaBwdParams({ q: maps[0], k: maps[1], v: maps[2], dout: maps[3] }, new Uint8Array(88))).toThrow(/BwdParams is 120 bytes/);
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

describe('backward() route to the Hopper TMA kernel (fake driver)', () => {
  let dir: { path: string; remove(): void };
  beforeAll(() => {
    dir = makeTempDir('sigattn-tma-bwd-');
    mkdirSync(path.join(dir.path, 'sm_90a'));
    mkdirSync(path.join(dir.path, 'sm_90'));
    for (const kind of CUDA_KINDS) {
      for (const part of ['fwd', 'bwd', 'tma_bwd']) writeFileSync(path.join(dir.path, 'sm_90a', `hopper_${kind}_${part}.cubin`), '');
    }
    writeFileSync(path.join(dir.path, 'sm_90', 'flash_bwd_aux.cubin'), '');
  });
  afterAll(() => dir.remove());

  // A 9.0 device whose Hopper backward configs read as the kernels' {BM, BN, threads, smem}; tensor maps are recorded
  // and come back as 128 bytes holding the call's index.
  function fake() {
    const launches: { name: string; grid: number[]; block: number; params: Uint8Array }[] = [];
    const maps: { address: bigint; dtype: string; shape: number[]; boxRows: number }[] = [];
    let next = 0x1000n;
    const driver = {
      info: { name: 'fake', computeCapability: [9, 0], smCount: 132, maxSharedPerBlockOptin: 232448 },
      alloc: (bytes: number) => { const p = next; next += BigInt(bytes + 256); return p; },
      free: () => undefined,
      fill32: () => undefined,
      synchronize: () => undefined,
      loadModule: () => 1n,
      unloadModule: () => undefined,
      getFunction: () => 1n,
      readGlobal: (_mod: bigint, name: string) => {
        const cfg = Buffer.alloc(16);
        const D = Number(/_d(\d+)_cfg$/.exec(name)![1]);
        [D === 128 ? 64 : 128, 128, name.includes('_tma_') ? 384 : 256, 200_000].forEach((x, i) => cfg.writeInt32LE(x, i * 4));
        return cfg;
      },
      setMaxDynamicShared: () => undefined,
      encodeTensorMap3d: (address: bigint, dtype: string, shape: number[], boxRows: number) => {
        maps.push({ address, dtype, shape: [...shape], boxRows });
        return new Uint8Array(128).fill(maps.length);
      },
      launch: (_fn: bigint, name: string, grid: [number, number, number], block: number, _smem: number, args: Uint8Array[]) => {
        launches.push({ name, grid: [...grid], block, params: args[0] });
      },
    } as unknown as CudaDriver;
    return { driver, launches, maps };
  }

  it('encodes q, k, v, dout maps with the kernel\'s box rows and launches 384 threads with TmaBwdParams; never / short auto run the cp.async kernel', () => {
    for (const kind of CUDA_KINDS) {
      for (const D of HOPPER_HEAD_DIMS) {
        const { driver, launches, maps } = fake();
        const [B, H, Hkv, Nq, Nk] = [2, 4, 2, 300, 400];
        const q = DeviceTensor.empty(driver, 'fp16', [B, H, Nq, D]), dout = DeviceTensor.empty(driver, 'fp16', [B, H, Nq, D]);
        const k = DeviceTensor.empty(driver, 'fp16', [B, Hkv, Nk, D]), v = DeviceTensor.empty(driver, 'fp16', [B, Hkv, Nk, D]);
        const softmax = kind === 'softmax';
        const o = DeviceTensor.empty(driver, 'fp16', [B, H, Nq, D]), lse = DeviceTensor.empty(driver, 'f32', [B, H, Nq]);
        const spec = { kind, causal: true } as const;
        const run = (tma: 'always' | 'never' | 'auto') =>
          new CudaFlashAttention(driver, dir.path, { tma }).backward(q, k, v, dout, spec, softmax ? { o, lse } : {});
        run('always');
        const main = launches.filter((l) => l.name.startsWith('hopper_'));
        expect(main.map((l) => [l.name, l.grid, l.block])).toEqual([[`hopper_${kind}_tma_bwd_fp16_d${D}`, [Math.ceil(Nk / 128), H, B], 384]]);
        const BM = D === 128 ? 64 : 128;
        expect(maps).toEqual([
          { address: q.ptr, dtype: 'fp16', shape: [B * H, Nq, D], boxRows: BM },
          { address: k.ptr, dtype: 'fp16', shape: [B * Hkv, Nk, D], boxRows: 128 },
          { address: v.ptr, dtype: 'fp16', shape: [B * Hkv, Nk, D], boxRows: 128 },
          { address: dout.ptr, dtype: 'fp16', shape: [B * H, Nq, D], boxRows: BM },
        ]);
        const p = main[0].params;
        expect(p.byteLength).toBe(TMA_BWD_PARAMS_BYTES);
        expect([0, 128, 256, 384].map((at) => p[at])).toEqual([1, 2, 3, 4]);
        const dv = new DataView(p.buffer, p.byteOffset + 512);
        expect([0, 8, 16, 24].map((at) => dv.getBigUint64(at, true))).toEqual([q.ptr, k.ptr, v.ptr, dout.ptr]);
        expect(dv.getBigUint64(32, true), 'lse (softmax only)').toBe(softmax ? lse.ptr : 0n);
        expect(dv.getBigUint64(40, true) !== 0n, 'delta: the pre-pass ran (softmax, Nk > 128)').toBe(softmax);
        expect([0, 1, 2, 3, 4, 5].map((i) => dv.getInt32(88 + i * 4, true))).toEqual([B, H, Hkv, Nq, Nk, 1]);

        launches.length = 0;
        maps.length = 0;
        run('never');
        run('auto'); // Nk = 400 < TMA_BACKWARD_MIN_KEYS[D]
        expect(launches.filter((l) => l.name.startsWith('hopper_')).map((l) => [l.name, l.block, l.params.byteLength])).toEqual([
          [`hopper_${kind}_bwd_fp16_d${D}`, 256, BWD_PARAMS_BYTES],
          [`hopper_${kind}_bwd_fp16_d${D}`, 256, BWD_PARAMS_BYTES],
        ]);
        expect(maps).toEqual([]);
      }
    }
  });
});

describe('decode and varlen routes of CudaFlashAttention (fake driver)', () => {
  interface Launch { name: string; grid: number[]; block: number; params: Uint8Array; args: Uint8Array[] }
  let dir: { path: string; remove(): void };
  beforeAll(() => {
    dir = makeTempDir('sigattn-decode-');
    mkdirSync(path.join(dir.path, 'sm_80'));
    for (const f of ['flash_decode', 'flash_sigmoid_fwd', 'flash_softmax_fwd', 'flash_sigmoid_bwd', 'flash_softmax_bwd', 'flash_bwd_aux']) {
      writeFileSync(path.join(dir.path, 'sm_80', `${f}.cubin`), '');
    }
  });
  afterAll(() => dir.remove());

  // Records launches and 32-bit fills; a kernel's _cfg global reads as the decode kernels' {4096/D keys per step, 0, 128, 0}
  // or the forward kernels' {128, 64, 128, 0}.
  function fake(smCount = 132) {
    const launches: Launch[] = [];
    const fills: { ptr: bigint; value: number; count: number }[] = [];
    let next = 0x1000n;
    const names = new Map<bigint, string>();
    const driver = {
      info: { name: 'fake', computeCapability: [8, 0], smCount, maxSharedPerBlockOptin: 232448 },
      alloc: (bytes: number) => { const p = next; next += BigInt(bytes + 256); return p; },
      free: () => undefined,
      copyHtoD: () => undefined,
      fill16: () => undefined,
      fill32: (ptr: bigint, value: number, count: number) => { fills.push({ ptr, value, count }); },
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
        launches.push({ name, grid: [...grid], block, params: args[0], args });
      },
    } as unknown as CudaDriver;
    return { driver, launches, fills };
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

  it('forwardVarlen() passes the softmax LSE [totalQ, H] to the kernel (sigmoid ignores it) and refuses a wrong-shaped one', () => {
    const { driver, launches } = fake();
    const flash = new CudaFlashAttention(driver, dir.path, { hopper: false });
    const q = DeviceTensor.empty(driver, 'bf16', [341, 4, 64]);
    const k = DeviceTensor.empty(driver, 'bf16', [305, 2, 64]), v = DeviceTensor.empty(driver, 'bf16', [305, 2, 64]);
    const lse = DeviceTensor.empty(driver, 'f32', [341, 4]);
    for (const kind of CUDA_KINDS) {
      launches.length = 0;
      flash.forwardVarlen(q, k, v, [0, 1, 301, 341], [0, 5, 305, 305], { kind }, { lse });
      expect(new DataView(launches[0].params.buffer).getBigUint64(32, true), kind).toBe(kind === 'softmax' ? lse.ptr : 0n);
    }
    launches.length = 0;
    for (const bad of [DeviceTensor.empty(driver, 'f32', [4, 341]), DeviceTensor.empty(driver, 'f32', [341, 4, 1]), DeviceTensor.empty(driver, 'bf16', [341, 4])]) {
      expect(() => flash.forwardVarlen(q, k, v, [0, 1, 301, 341], [0, 5, 305, 305], { kind: 'softmax' }, { lse: bad }))
        .toThrow(/^cuda attention varlen: lse must be f32 \[341, 4\] \(one per query token and head\), got /);
    }
    expect(launches).toEqual([]);
  });

  it('backwardVarlen() zeroes the fp32 accumulators, runs the delta pre-pass when a sequence has more keys than a key block, launches the varlen backward over key blocks × H × sequences and converts', () => {
    for (const kind of CUDA_KINDS) {
      for (const D of CUDA_HEAD_DIMS) {
        for (const cuK of [[0, 5, 305, 305], [0, 5, 69, 70]]) {
          const { driver, launches, fills } = fake();
          const flash = new CudaFlashAttention(driver, dir.path, { hopper: false });
          const cuQ = [0, 1, 301, 341];
          const totalK = cuK[3], maxK = Math.max(...cuK.slice(1).map((x, i) => x - cuK[i]));
          const q = DeviceTensor.empty(driver, 'fp16', [341, 4, D]), dout = DeviceTensor.empty(driver, 'fp16', [341, 4, D]);
          const k = DeviceTensor.empty(driver, 'fp16', [totalK, 2, D]), v = DeviceTensor.empty(driver, 'fp16', [totalK, 2, D]);
          const spec = { kind, causal: true, alibiSlopes: [0.5, 0.25, 0.125, 0.0625], ...(kind === 'sigmoid' ? { bias: -4 } : {}) };
          const o = flash.forwardVarlen(q, k, v, cuQ, cuK, spec);
          const lse = DeviceTensor.empty(driver, 'f32', [341, 4]);
          const fwdParams = new DataView(launches[0].params.buffer);
          launches.length = 0;
          const grads = flash.backwardVarlen(q, k, v, dout, cuQ, cuK, spec, { o, lse });
          expect([grads.dq.shape, grads.dk.shape, grads.dv.shape]).toEqual([[341, 4, D], [totalK, 2, D], [totalK, 2, D]]);
          expect([grads.dq.dtype, grads.dk.dtype, grads.dv.dtype]).toEqual(['fp16', 'fp16', 'fp16']);
          const delta = kind === 'softmax' && maxK > 64;
          const what = `${kind} D${D} maxK ${maxK}`;
          expect(launches.map((l) => [l.name, l.grid]), what).toEqual([
            ...(delta ? [['flash_bwd_delta_fp16', [Math.ceil((341 * 4 * 32) / 256), 1, 1]]] : []),
            [`flash_${kind}_bwd_varlen_fp16_d${D}`, [Math.ceil(maxK / 64), 4, 3]],
            ...[341 * 4 * D, totalK * 2 * D, totalK * 2 * D].map((n) => ['flash_bwd_convert_fp16', [Math.ceil(n / 256), 1, 1]]),
          ]);
          const main = launches[delta ? 1 : 0];
          expect(main.block).toBe(128);
          expect(main.params.byteLength).toBe(VARLEN_BWD_PARAMS_BYTES);
          const p = new DataView(main.params.buffer);
          const ptr = (i: number) => p.getBigUint64(i * 8, true);
          expect([0, 1, 2, 3].map(ptr)).toEqual([q.ptr, k.ptr, v.ptr, dout.ptr]);
          expect(ptr(4), 'lse (softmax only)').toBe(kind === 'softmax' ? lse.ptr : 0n);
          expect(ptr(5) !== 0n, 'delta only with the pre-pass').toBe(delta);
          expect(ptr(9), 'ALiBi slopes as the forward').toBe(fwdParams.getBigUint64(40, true));
          expect(ptr(10), 'no key_lens').toBe(0n);
          expect([0, 1, 2, 3, 4, 5].map((i) => p.getInt32(88 + i * 4, true)), 'B = sequences, Nq/Nk = longest').toEqual([3, 4, 2, 300, maxK, 1]);
          expect(p.getFloat32(116, true)).toBe(kind === 'sigmoid' ? -4 : 0);
          expect([p.getBigUint64(120, true), p.getBigUint64(128, true)], 'the forward\'s offset buffers').toEqual([fwdParams.getBigUint64(88, true), fwdParams.getBigUint64(96, true)]);
          // Accumulators: zeroed with their full sizes before the launch, then converted into dq/dk/dv.
          const acc = [ptr(6), ptr(7), ptr(8)], sizes = [341 * 4 * D, totalK * 2 * D, totalK * 2 * D];
          expect(fills.map((f) => [f.ptr, f.value, f.count])).toEqual(acc.map((a, i) => [a, 0, sizes[i]]));
          const arg64 = (a: Uint8Array) => new DataView(a.buffer, a.byteOffset).getBigUint64(0, true);
          expect(launches.slice(-3).map((l) => l.args.map(arg64)), 'convert (acc, dst, n)')
            .toEqual(acc.map((a, i) => [a, [grads.dq, grads.dk, grads.dv][i].ptr, BigInt(sizes[i])]));
          if (delta) {
            expect(launches[0].args.slice(0, 4).map(arg64), 'delta (o, dout, delta, rows)').toEqual([o.ptr, dout.ptr, ptr(5), BigInt(341 * 4)]);
            expect(new DataView(launches[0].args[4].buffer).getInt32(0, true), 'delta row length D').toBe(D);
          }
        }
      }
    }
  });

  it('backwardVarlen() refuses a wrong dout, a softmax call without o/lse, wrong-shaped o/lse/gradients and bad offsets with one-line errors, before launching', () => {
    const { driver, launches, fills } = fake();
    const flash = new CudaFlashAttention(driver, dir.path, { hopper: false });
    const q = DeviceTensor.empty(driver, 'bf16', [10, 2, 64]), dout = DeviceTensor.empty(driver, 'bf16', [10, 2, 64]);
    const k = DeviceTensor.empty(driver, 'bf16', [12, 2, 64]), v = DeviceTensor.empty(driver, 'bf16', [12, 2, 64]);
    const o = DeviceTensor.empty(driver, 'bf16', [10, 2, 64]), lse = DeviceTensor.empty(driver, 'f32', [10, 2]);
    const cuQ = [0, 4, 10], cuK = [0, 5, 12];
    const softmax = { kind: 'softmax' } as const;
    const cases: [() => unknown, RegExp][] = [
      [() => flash.backwardVarlen(q, k, v, DeviceTensor.empty(driver, 'fp16', [10, 2, 64]), cuQ, cuK, softmax, { o, lse }), /varlen backward: dout must be bf16 \[10, 2, 64\] like q, got fp16 \[10, 2, 64\]/],
      [() => flash.backwardVarlen(q, k, v, DeviceTensor.empty(driver, 'bf16', [2, 10, 64]), cuQ, cuK, softmax, { o, lse }), /dout must be bf16 \[10, 2, 64\]/],
      [() => flash.backwardVarlen(q, k, v, dout, cuQ, cuK, softmax, { o }), /softmax needs opts\.o \(forward output\) and opts\.lse \(from forwardVarlen/],
      [() => flash.backwardVarlen(q, k, v, dout, cuQ, cuK, softmax, { lse }), /softmax needs opts\.o/],
      [() => flash.backwardVarlen(q, k, v, dout, cuQ, cuK, softmax, { o: DeviceTensor.empty(driver, 'bf16', [10, 2, 32]), lse }), /varlen backward: o must be bf16 \[10, 2, 64\]/],
      [() => flash.backwardVarlen(q, k, v, dout, cuQ, cuK, softmax, { o, lse: DeviceTensor.empty(driver, 'f32', [2, 10]) }), /varlen backward: lse must be f32 \[10, 2\]/],
      [() => flash.backwardVarlen(q, k, v, dout, cuQ, cuK, softmax, { o, lse, dk: DeviceTensor.empty(driver, 'bf16', [10, 2, 64]) }), /varlen backward: dk must be bf16 \[12, 2, 64\] like k/],
      [() => flash.backwardVarlen(q, k, v, dout, cuQ, cuK, softmax, { o, lse, dq: DeviceTensor.empty(driver, 'f32', [10, 2, 64]) }), /varlen backward: dq must be bf16 \[10, 2, 64\] like q/],
      [() => flash.backwardVarlen(q, k, v, dout, [0, 4, 9], cuK, softmax, { o, lse }), /cuSeqlensQ must end at the packed tensor's token count 10/],
      [() => flash.backwardVarlen(q, k, v, dout, cuQ, [0, 12], softmax, { o, lse }), /cuSeqlensK has 2 offsets but cuSeqlensQ has 3/],
      [() => flash.backwardVarlen(q, k, v, dout, cuQ, cuK, { kind: 'softmax', keyLengths: [3, 4] }, { o, lse }), /keyLengths does not apply/],
      [() => flash.backwardVarlen(DeviceTensor.empty(driver, 'bf16', [1, 10, 2, 64]), k, v, dout, cuQ, cuK, softmax, { o, lse }), /q must be packed \[tokens, heads, D\]/],
    ];
    for (const [call, err] of cases) {
      let message = '';
      try {
        call();
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(err);
      expect(message).toMatch(/^cuda attention varlen/);
      expect(message).not.toContain('\n');
    }
    expect(launches).toEqual([]);
    expect(fills).toEqual([]);
    // Sigmoid needs neither o nor lse.
    flash.backwardVarlen(q, k, v, dout, cuQ, cuK, { kind: 'sigmoid', bias: -3 });
    expect(launches.map((l) => l.name)).toEqual(['flash_sigmoid_bwd_varlen_bf16_d64', ...Array(3).fill('flash_bwd_convert_bf16')]);
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
      expect(c.dO.length, 'dO like q').toBe(c.q.length);
      for (const x of [c.q, c.k, c.v, c.dO]) expect(x.every((v) => dec(enc(v)) === v), c.label).toBe(true);
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
  // A memory-backed fake driver whose varlen "kernels" decode VarlenFwdParams / VarlenBwdParams and compute each
  // sequence with the naive f32 forward (O and the softmax LSE) and backward (added into the fp32 accumulators,
  // as the atomics do), and whose delta and convert kernels do what flash_bwd_aux.cu does, so the packing,
  // offsets, zeroing, conversion and the per-sequence judging run end to end. `skipSequence` leaves one
  // sequence out of both passes (its outputs stay NaN / its gradients 0).
  function emulated(skipSequence: number | null) {
    const mem = new Map<bigint, Uint8Array>();
    let next = 0x10000n;
    const buf = (p: bigint) => {
      const b = mem.get(p);
      if (!b) throw new Error(`fake driver: no allocation at ${p}`);
      return b;
    };
    const view = (p: bigint) => new DataView(buf(p).buffer);
    const halves = { bf16: [bf16BitsToF32, f32ToBf16Bits], fp16: [f16BitsToF32, f32ToF16Bits] } as const;
    const arg64 = (a: Uint8Array) => new DataView(a.buffer, a.byteOffset).getBigUint64(0, true);
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
        const aux = /^flash_bwd_(delta|convert)_(bf16|fp16)$/.exec(name);
        if (aux) {
          const [dec, enc] = halves[aux[2] as 'bf16' | 'fp16'];
          if (aux[1] === 'convert') {
            const [src, dst, n] = args.map(arg64);
            const f = new Float32Array(buf(src).buffer, 0, Number(n));
            for (let i = 0; i < f.length; i++) view(dst).setUint16(2 * i, enc(f[i]), true);
          } else {
            const [o, dout, delta, rows] = args.slice(0, 4).map(arg64);
            const D = new DataView(args[4].buffer, args[4].byteOffset).getInt32(0, true);
            for (let r = 0; r < Number(rows); r++) {
              let acc = 0;
              for (let d = 0; d < D; d++) acc += dec(view(o).getUint16(2 * (r * D + d), true)) * dec(view(dout).getUint16(2 * (r * D + d), true));
              view(delta).setFloat32(4 * r, acc, true);
            }
          }
          return;
        }
        const m = /^flash_(sigmoid|softmax)_(fwd|bwd)_varlen_(bf16|fp16)_d(\d+)$/.exec(name);
        if (!m) throw new Error(`emulated driver: no kernel ${name}`);
        const [kind, pass, dtype, D] = [m[1] as 'sigmoid' | 'softmax', m[2], m[3] as 'bf16' | 'fp16', Number(m[4])];
        const p = new DataView(args[0].buffer);
        const ptr = (i: number) => p.getBigUint64(i * 8, true);
        // FwdParams: 7 pointers, then ints at 56; BwdParams: 11 pointers, ints at 88; the offsets follow each.
        const ints = pass === 'fwd' ? 56 : 88;
        const [B, H, Hkv] = [0, 1, 2].map((i) => p.getInt32(ints + i * 4, true));
        const causal = p.getInt32(ints + 20, true) === 1, scale = p.getFloat32(ints + 24, true), bias = p.getFloat32(ints + 28, true);
        const cuAt = pass === 'fwd' ? 88 : 120;
        const [dec, enc] = halves[dtype];
        const half = (q: bigint) => Array.from(new Uint16Array(buf(q).buffer), dec);
        const offsets = (q: bigint) => new Int32Array(buf(q).buffer, 0, B + 1);
        const [cuQ, cuK] = [offsets(p.getBigUint64(cuAt, true)), offsets(p.getBigUint64(cuAt + 8, true))];
        const alibiPtr = ptr(pass === 'fwd' ? 5 : 9);
        const alibi = alibiPtr === 0n ? undefined : Array.from(new Float32Array(buf(alibiPtr).buffer, 0, H));
        const [q, k, v] = [half(ptr(0)), half(ptr(1)), half(ptr(2))];
        const gather = (x: ArrayLike<number>, heads: number, s0: number, n: number, d = D) => Float32Array.from({ length: heads * n * d }, (_, e) => {
          const c = e % d, i = Math.floor(e / d) % n, h = Math.floor(e / (d * n));
          return x[((s0 + i) * heads + h) * d + c];
        });
        // Packed row (s0 + i, h) of [tokens, heads, d] ← element (h, i, c) of a sequence's [heads, n, d] result.
        const scatter = (values: ArrayLike<number>, heads: number, s0: number, n: number, d: number, put: (at: number, x: number) => void) => {
          for (let h = 0; h < heads; h++)
            for (let i = 0; i < n; i++)
              for (let c = 0; c < d; c++) put(((s0 + i) * heads + h) * d + c, values[(h * n + i) * d + c]);
        };
        for (let s = 0; s < B; s++) {
          if (s === skipSequence) continue;
          const nq = cuQ[s + 1] - cuQ[s], nk = cuK[s + 1] - cuK[s];
          const r = resolveAttention([1, H, nq, D], [1, Hkv, nk, D], [1, Hkv, nk, D], { kind, scale, causal, alibiSlopes: alibi, ...(kind === 'sigmoid' ? { bias } : {}) });
          const [qs, ks, vs] = [gather(q, H, cuQ[s], nq), gather(k, Hkv, cuK[s], nk), gather(v, Hkv, cuK[s], nk)];
          if (pass === 'fwd') {
            const f = naiveAttentionF32Forward(r, qs, ks, vs);
            const o = view(ptr(3));
            scatter(f.o, H, cuQ[s], nq, D, (at, x) => o.setUint16(at * 2, enc(x), true));
            if (ptr(4) !== 0n) scatter(f.lse, H, cuQ[s], nq, 1, (at, x) => view(ptr(4)).setFloat32(at * 4, x, true));
          } else {
            if (kind === 'softmax' && ptr(4) === 0n) throw new Error('emulated softmax backward: no LSE');
            const g = naiveAttentionF32Backward(r, qs, ks, vs, gather(half(ptr(3)), H, cuQ[s], nq));
            const add = (acc: DataView) => (at: number, x: number) => acc.setFloat32(at * 4, acc.getFloat32(at * 4, true) + x, true);
            scatter(g.dq, H, cuQ[s], nq, D, add(view(ptr(6))));
            scatter(g.dk, Hkv, cuK[s], nk, D, add(view(ptr(7))));
            scatter(g.dv, Hkv, cuK[s], nk, D, add(view(ptr(8))));
          }
        }
      },
    } as unknown as CudaDriver;
    return driver;
  }

  it('passes kernels that attend within each sequence and fails ones that leave a sequence out, output by output', () => {
    const dir = makeTempDir('sigattn-varlen-');
    try {
      mkdirSync(path.join(dir.path, 'sm_80'));
      for (const f of ['flash_sigmoid_fwd', 'flash_softmax_fwd', 'flash_sigmoid_bwd', 'flash_softmax_bwd', 'flash_bwd_aux']) {
        writeFileSync(path.join(dir.path, 'sm_80', `${f}.cubin`), '');
      }
      const cases = cudaVarlenCases(3).filter((c) => c.D === 32);
      expect(new Set(cases.map((c) => c.kind))).toEqual(new Set(CUDA_KINDS));
      for (const c of cases) {
        const outputs = (s: number) => ['o', ...(c.kind === 'softmax' ? ['lse'] : []), 'dq', 'dk', 'dv'].map((x) => `${x}@varlen[${s}]`);
        const good = emulated(null);
        const ok = runCudaVarlenCheck(good, new CudaFlashAttention(good, dir.path, { hopper: false }), c);
        expect(ok.message, c.title).toBe('');
        const S = cudaVarlenCase(c).cuQ.length - 1;
        expect(S).toBeGreaterThanOrEqual(3);
        expect(ok.comparisons.map((x) => x.output)).toEqual(Array.from({ length: S }, (_, s) => outputs(s)).flat());
        const bad = emulated(1);
        const failed = runCudaVarlenCheck(bad, new CudaFlashAttention(bad, dir.path, { hopper: false }), c);
        expect(failed.ok).toBe(false);
        expect(failed.comparisons.filter((x) => !x.ok).map((x) => x.output), c.title).toEqual(outputs(1));
      }
    } finally {
      dir.remove();
    }
  }, 60_000);
});
