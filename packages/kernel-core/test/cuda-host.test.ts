// CI tests of the CUDA host code that need no GPU: the no-driver error, half conversions, param packing,
// the case list of the GPU check, and the Hopper/FA2 forward dispatch.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeTempDir, Rng } from '@sigattn/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CudaDriver, NoCudaDriverError } from '../src/cuda/driver.js';
import {
  BWD_PARAMS_BYTES, CUDA_HEAD_DIMS, CUDA_KINDS, CudaFlashAttention, FWD_PARAMS_BYTES, HOPPER_HEAD_DIMS, packBwdParams, packFwdParams,
} from '../src/cuda/flash.js';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../src/cuda/half.js';
import { resolveAttention } from '../src/spec.js';
import { cudaCheckCase, cudaCheckCases } from '@sigattn/kernel-core/testing';

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

describe('forward dispatch between the Hopper and FA2 kernels', () => {
  // forwardImpl only reads the device's compute capability and looks for the sm_90a cubin.
  const fakeDriver = (major: number) => ({ info: { computeCapability: [major, 0] } }) as unknown as CudaDriver;
  let dir: { path: string; remove(): void };
  beforeAll(() => {
    dir = makeTempDir('sigattn-dispatch-');
    mkdirSync(path.join(dir.path, 'sm_90a'));
    writeFileSync(path.join(dir.path, 'sm_90a', 'hopper_sigmoid_fwd.cubin'), '');
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
