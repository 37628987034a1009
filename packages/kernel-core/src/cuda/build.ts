/**
 * Compile the CUDA kernels with nvcc (no GPU needed): one cubin per kernel file for sm_80 and
 * sm_90, plus compute_80 PTX that the driver can JIT on newer architectures, and the Hopper-only
 * (wgmma) files for sm_90a. ptxas -v resource
 * reports are parsed so that callers (the build target, the CI test) can refuse register spills.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sha256File, writeFileAtomic, tempPathFor } from '@sigattn/common';

const run = promisify(execFile);

/** Kernel sources, one kernel family per file. */
export const CUDA_SOURCES = [
  'flash_sigmoid_fwd.cu', 'flash_softmax_fwd.cu', 'flash_sigmoid_bwd.cu', 'flash_softmax_bwd.cu', 'flash_bwd_aux.cu', 'flash_decode.cu',
] as const;
/** Architectures with a shipped cubin; anything else loads the PTX. */
export const CUDA_ARCHS = ['sm_80', 'sm_90'] as const;
export const PTX_ARCH = 'compute_80';
/**
 * Hopper-only kernel files (wgmma needs the arch-specific sm_90a target): one cubin each in
 * `<out>/sm_90a/`, no PTX fallback; the host picks them on compute capability 9.x (flash.ts).
 */
export const HOPPER_SOURCES = [
  'hopper_sigmoid_fwd.cu', 'hopper_softmax_fwd.cu', 'hopper_sigmoid_bwd.cu', 'hopper_softmax_bwd.cu',
  'hopper_sigmoid_tma_fwd.cu', 'hopper_softmax_tma_fwd.cu', 'hopper_sigmoid_tma_bwd.cu', 'hopper_softmax_tma_bwd.cu',
] as const;
export const HOPPER_ARCH = 'sm_90a';

export const CUDA_SOURCE_DIR = fileURLToPath(new URL('../../cuda/', import.meta.url));
export const CUDA_BUILD_DIR = path.join(CUDA_SOURCE_DIR, 'build');

export interface KernelResources {
  kernel: string;
  arch: string;
  registers: number;
  stackBytes: number;
  spillStoreBytes: number;
  spillLoadBytes: number;
  sharedBytes: number;
}

/** Parse `ptxas -v` output (one block per entry function) into per-kernel resource rows. */
export function parsePtxasReport(text: string): KernelResources[] {
  const rows: KernelResources[] = [];
  let cur: KernelResources | null = null;
  for (const line of text.split('\n')) {
    const entry = /Compiling entry function '([^']+)' for '([^']+)'/.exec(line);
    if (entry) {
      cur = { kernel: entry[1], arch: entry[2], registers: -1, stackBytes: 0, spillStoreBytes: 0, spillLoadBytes: 0, sharedBytes: 0 };
      rows.push(cur);
      continue;
    }
    if (cur === null) continue;
    const spill = /(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads/.exec(line);
    if (spill) {
      cur.stackBytes = Number(spill[1]);
      cur.spillStoreBytes = Number(spill[2]);
      cur.spillLoadBytes = Number(spill[3]);
    }
    const used = /Used (\d+) registers/.exec(line);
    if (used) cur.registers = Number(used[1]);
    const smem = /(\d+) bytes smem/.exec(line);
    if (smem) cur.sharedBytes = Number(smem[1]);
  }
  return rows;
}

export class CudaBuildError extends Error {
  override name = 'CudaBuildError';
}

/** Locate nvcc: $NVCC, then $CUDA_HOME/bin, then PATH. Returns null if none runs. */
export async function findNvcc(): Promise<{ nvcc: string; version: string } | null> {
  const candidates = [process.env.NVCC, process.env.CUDA_HOME && path.join(process.env.CUDA_HOME, 'bin', 'nvcc'), 'nvcc', '/usr/local/cuda/bin/nvcc'];
  for (const nvcc of candidates) {
    if (!nvcc) continue;
    try {
      const { stdout } = await run(nvcc, ['--version']);
      const version = /release ([\d.]+)/.exec(stdout)?.[1] ?? 'unknown';
      return { nvcc, version };
    } catch {
      // try the next candidate
    }
  }
  return null;
}

async function nvccTo(nvcc: string, args: string[], out: string, cwd: string): Promise<string> {
  // nvcc writes the file itself, so write-file-atomic cannot; the same temp-then-rename, with common's temp name.
  const tmp = tempPathFor(out);
  try {
    const { stderr } = await run(nvcc, [...args, '-o', tmp], { cwd, maxBuffer: 16 << 20 });
    await rename(tmp, out);
    return stderr;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new CudaBuildError(`nvcc ${args.join(' ')} failed:\n${e.stderr ?? e.message}`);
  }
}

export interface CudaBuildResult {
  nvccVersion: string;
  buildDir: string;
  report: string;
  resources: KernelResources[];
}

/** What to compile: `.cu` files of one folder (other packages' kernels build with the same rules). */
export interface CudaSourceSet {
  sources: readonly string[];
  sourceDir: string;
  /** Files built for sm_90a only (HOPPER_ARCH); none unless given. */
  hopperSources?: readonly string[];
}

/** Build every source for every arch (in parallel) into outDir; writes ptxas-report.txt and manifest.json (files, their sha256, resources). */
export async function buildCuda(
  outDir: string = CUDA_BUILD_DIR,
  { sources, sourceDir, hopperSources = [] }: CudaSourceSet = { sources: CUDA_SOURCES, sourceDir: CUDA_SOURCE_DIR, hopperSources: HOPPER_SOURCES },
): Promise<CudaBuildResult> {
  outDir = path.resolve(outDir); // nvcc runs in sourceDir, so a relative output path would land there
  const found = await findNvcc();
  if (found === null) {
    throw new CudaBuildError('nvcc not found: looked at $NVCC, $CUDA_HOME/bin/nvcc, PATH and /usr/local/cuda/bin; install the CUDA toolkit (12.x or 13.x) or set NVCC');
  }
  const common = ['-O3', '-std=c++17', '--use_fast_math', '-I', sourceDir];
  const jobs: Promise<string>[] = [];
  for (const arch of CUDA_ARCHS) {
    await mkdir(path.join(outDir, arch), { recursive: true });
    for (const src of sources) {
      const out = path.join(outDir, arch, src.replace(/\.cu$/, '.cubin'));
      jobs.push(nvccTo(found.nvcc, [...common, '-cubin', `-arch=${arch}`, '-Xptxas', '-v', src], out, sourceDir));
    }
  }
  if (hopperSources.length > 0) await mkdir(path.join(outDir, HOPPER_ARCH), { recursive: true });
  for (const src of hopperSources) {
    // The -gencode form: nvcc 13.0's -arch=sm_90a shorthand also runs a plain sm_90 pass that rejects wgmma.
    const out = path.join(outDir, HOPPER_ARCH, src.replace(/\.cu$/, '.cubin'));
    jobs.push(nvccTo(found.nvcc, [...common, '-cubin', '-gencode=arch=compute_90a,code=sm_90a', '-Xptxas', '-v', src], out, sourceDir));
  }
  await mkdir(path.join(outDir, 'ptx'), { recursive: true });
  for (const src of sources) {
    const out = path.join(outDir, 'ptx', src.replace(/\.cu$/, '.ptx'));
    jobs.push(nvccTo(found.nvcc, [...common, '-ptx', `-arch=${PTX_ARCH}`, src], out, sourceDir));
  }
  const report = (await Promise.all(jobs)).join('');
  const resources = parsePtxasReport(report);
  writeFileAtomic(path.join(outDir, 'ptxas-report.txt'), report);
  const files = (await readdir(outDir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile() && e.name !== 'manifest.json')
    .map((e) => path.relative(outDir, path.join(e.parentPath, e.name)))
    .sort();
  // Checksums say which build a GPU run used (the bundle ships this directory as an asset).
  const sha256 = Object.fromEntries(files.map((f) => [f, sha256File(path.join(outDir, f))]));
  writeFileAtomic(
    path.join(outDir, 'manifest.json'),
    JSON.stringify({ nvcc: found.version, archs: [...CUDA_ARCHS, ...(hopperSources.length > 0 ? [HOPPER_ARCH] : [])], ptx: PTX_ARCH, files, sha256, resources }, null, 2),
  );
  return { nvccVersion: found.version, buildDir: outDir, report, resources };
}

/** Kernels whose ptxas report shows spills (the shipped variants must have none). */
export function spilledKernels(resources: readonly KernelResources[]): KernelResources[] {
  return resources.filter((r) => r.spillStoreBytes > 0 || r.spillLoadBytes > 0);
}

/** Build, print the ptxas resource table and return the exit code: 1 when a kernel spills (the build targets' rule). */
export async function buildAndReport(outDir: string, set?: CudaSourceSet): Promise<number> {
  const result = await buildCuda(outDir, set);
  console.log(`nvcc ${result.nvccVersion} → ${result.buildDir}`);
  console.log('kernel                              arch    regs  stack  spill-st  spill-ld');
  for (const r of result.resources) {
    console.log(
      `${r.kernel.padEnd(36)}${r.arch.padEnd(8)}${String(r.registers).padStart(4)}${String(r.stackBytes).padStart(7)}` +
        `${String(r.spillStoreBytes).padStart(10)}${String(r.spillLoadBytes).padStart(10)}`,
    );
  }
  const spills = spilledKernels(result.resources);
  if (spills.length > 0) {
    console.error(`register spills in: ${spills.map((r) => `${r.kernel}@${r.arch}`).join(', ')}; shrink the tile config in ${set?.sourceDir ?? CUDA_SOURCE_DIR}`);
    return 1;
  }
  return 0;
}
