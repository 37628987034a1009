// CI test: the CUDA sources compile with nvcc (no GPU needed) and no shipped kernel spills registers.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCuda, CUDA_ARCHS, findNvcc, HOPPER_ARCH, HOPPER_SOURCES, spilledKernels, type CudaBuildResult } from '../src/cuda/build.js';
import { CUDA_HEAD_DIMS, HOPPER_HEAD_DIMS } from '../src/cuda/flash.js';

const nvcc = await findNvcc();
const title = nvcc ? `CUDA build (nvcc ${nvcc.version})` : 'CUDA build (skipped: nvcc not found on PATH, $NVCC or $CUDA_HOME)';

describe.skipIf(nvcc === null)(title, () => {
  let dir = '';
  let result: CudaBuildResult;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('compiles every kernel file for sm_80 and sm_90 plus PTX, and the Hopper files for sm_90a', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sigattn-cuda-'));
    result = await buildCuda(dir);
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as { files: string[] };
    for (const arch of CUDA_ARCHS) {
      expect(manifest.files).toContain(path.join(arch, 'flash_sigmoid_fwd.cubin'));
      expect(manifest.files).toContain(path.join(arch, 'flash_softmax_fwd.cubin'));
    }
    expect(manifest.files).toContain(path.join('ptx', 'flash_sigmoid_fwd.ptx'));
    expect(manifest.files).toContain(path.join('ptx', 'flash_decode.ptx'));
    for (const src of HOPPER_SOURCES) expect(manifest.files).toContain(path.join(HOPPER_ARCH, src.replace(/\.cu$/, '.cubin')));
  }, 240_000);

  it('reports every shipped forward and backward variant (each CUDA head dim) for both archs, with registers and no spills', () => {
    for (const kind of ['sigmoid', 'softmax']) {
      for (const part of ['fwd', 'bwd']) {
        for (const dt of ['bf16', 'fp16']) {
          for (const d of CUDA_HEAD_DIMS) {
            const name = `flash_${kind}_${part}_${dt}_d${d}`;
            for (const arch of CUDA_ARCHS) {
              const row = result.resources.find((r) => r.kernel === name && r.arch === arch);
              expect(row, `ptxas report for ${name} on ${arch}`).toBeDefined();
              expect(row!.registers).toBeGreaterThan(0);
              expect(row!.registers).toBeLessThanOrEqual(255);
              expect(row!.spillStoreBytes + row!.spillLoadBytes, `${name} on ${arch} spills`).toBe(0);
            }
          }
        }
      }
    }
    expect(spilledKernels(result.resources)).toEqual([]);
  });

  it('builds the decode kernels and their combines (each kind, dtype and CUDA head dim) for both archs plus PTX, without spills', () => {
    for (const arch of CUDA_ARCHS) expect(result.resources.some((r) => r.arch === arch)).toBe(true);
    for (const kind of ['sigmoid', 'softmax']) {
      for (const dt of ['bf16', 'fp16']) {
        for (const d of CUDA_HEAD_DIMS) {
          for (const name of [`flash_decode_${kind}_${dt}_d${d}`, `flash_decode_combine_${kind}_${dt}_d${d}`]) {
            const rows = result.resources.filter((r) => r.kernel === name);
            expect(rows.map((r) => r.arch).sort(), name).toEqual([...CUDA_ARCHS].sort());
            for (const row of rows) {
              expect(row.registers, `${name} on ${row.arch}`).toBeGreaterThan(0);
              expect(row.spillStoreBytes + row.spillLoadBytes, `${name} on ${row.arch} spills`).toBe(0);
            }
          }
        }
      }
    }
  });

  it('builds the varlen forward and backward kernels (each kind, dtype and CUDA head dim) for both archs, without spills', () => {
    for (const kind of ['sigmoid', 'softmax']) {
      for (const dt of ['bf16', 'fp16']) {
        for (const d of CUDA_HEAD_DIMS) for (const pass of ['fwd', 'bwd']) {
          const name = `flash_${kind}_${pass}_varlen_${dt}_d${d}`;
          const rows = result.resources.filter((r) => r.kernel === name);
          expect(rows.map((r) => r.arch).sort(), name).toEqual([...CUDA_ARCHS].sort());
          for (const row of rows) {
            expect(row.registers, `${name} on ${row.arch}`).toBeGreaterThan(0);
            expect(row.registers).toBeLessThanOrEqual(255);
            expect(row.spillStoreBytes + row.spillLoadBytes, `${name} on ${row.arch} spills`).toBe(0);
          }
        }
      }
    }
  });

  it('builds the Hopper (wgmma) forward and backward kernels for sm_90a only, without spills', () => {
    const names = ['sigmoid', 'softmax'].flatMap((kind) =>
      ['fwd', 'bwd', 'tma_fwd', 'tma_bwd'].flatMap((pass) => ['bf16', 'fp16'].flatMap((dt) => HOPPER_HEAD_DIMS.map((d) => `hopper_${kind}_${pass}_${dt}_d${d}`))),
    );
    for (const name of names) {
      const rows = result.resources.filter((r) => r.kernel === name);
      expect(rows.map((r) => r.arch), name).toEqual([HOPPER_ARCH]);
      expect(rows[0].registers).toBeGreaterThan(0);
      expect(rows[0].spillStoreBytes + rows[0].spillLoadBytes).toBe(0);
    }
  });
});
