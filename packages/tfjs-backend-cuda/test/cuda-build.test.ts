// CI test: the backend's CUDA sources compile with nvcc for sm_80, sm_90 and PTX (no GPU needed), and no kernel spills.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCuda, findNvcc, spilledKernels } from '@sigattn/kernel-core';
import { BACKEND_CUDA_SOURCES, BACKEND_CUDA_SOURCE_DIR } from '../src/index.js';

const nvcc = await findNvcc();

describe.skipIf(nvcc === null)(nvcc ? `cuda backend kernels build (nvcc ${nvcc.version})` : 'cuda backend kernels build (skipped: no nvcc)', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('compiles every module for sm_80, sm_90 and PTX without register spills', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sigattn-cuda-backend-'));
    const result = await buildCuda(dir, { sources: BACKEND_CUDA_SOURCES, sourceDir: BACKEND_CUDA_SOURCE_DIR });
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as { files: string[] };
    for (const src of BACKEND_CUDA_SOURCES) {
      for (const arch of ['sm_80', 'sm_90']) expect(manifest.files).toContain(path.join(arch, src.replace(/\.cu$/, '.cubin')));
      expect(manifest.files).toContain(path.join('ptx', src.replace(/\.cu$/, '.ptx')));
    }
    for (const k of ['adamw_f32', 'cast_f32_bf16', 'stats_from_lse']) expect(result.resources.map((r) => r.kernel)).toContain(k);
    expect(spilledKernels(result.resources)).toEqual([]);
  }, 300_000);
});
