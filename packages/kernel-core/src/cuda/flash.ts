/**
 * Host side of the FA2-class CUDA kernels: picks the cubin for the device's architecture, reads each
 * kernel's launch config from its `<name>_cfg` device global, packs FwdParams and launches.
 * The attention spec (spec.ts) is the API: shapes and options are validated by resolveAttention.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveAttention, type AttentionKind, type AttentionSpec, type ResolvedAttention } from '../spec.js';
import { cudaDriver, type CudaDriver, type CuPtr } from './driver.js';
import { DeviceTensor, type CudaDtype } from './tensor.js';

/**
 * Where build-cuda writes: $SIGATTN_CUDA_BUILD if set, else the offline GPU bundle's asset copy
 * ($SIGATTN_ASSETS/packages/kernel-core/cuda/build), else the source tree's cuda/build.
 */
export function cudaBuildDir(): string {
  if (process.env.SIGATTN_CUDA_BUILD) return process.env.SIGATTN_CUDA_BUILD;
  if (process.env.SIGATTN_ASSETS) return path.join(process.env.SIGATTN_ASSETS, 'packages/kernel-core/cuda/build');
  return fileURLToPath(new URL('../../cuda/build/', import.meta.url));
}

export const CUDA_HEAD_DIMS = [64, 128] as const;

interface Kernel {
  fn: CuPtr;
  name: string;
  blockM: number;
  blockN: number;
  threads: number;
  smem: number;
}

/** Byte layout of `struct FwdParams` in cuda/flash_common.cuh (7 pointers, 6 int32, 2 f32). */
export const FWD_PARAMS_BYTES = 88;

export function packFwdParams(
  ptrs: { q: CuPtr; k: CuPtr; v: CuPtr; o: CuPtr; lse: CuPtr; alibi: CuPtr; keyLens: CuPtr },
  r: ResolvedAttention,
): Uint8Array {
  const buf = new Uint8Array(FWD_PARAMS_BYTES);
  const dv = new DataView(buf.buffer);
  [ptrs.q, ptrs.k, ptrs.v, ptrs.o, ptrs.lse, ptrs.alibi, ptrs.keyLens].forEach((p, i) => dv.setBigUint64(i * 8, p, true));
  [r.B, r.H, r.Hkv, r.Nq, r.Nk, r.causal ? 1 : 0].forEach((x, i) => dv.setInt32(56 + i * 4, x, true));
  dv.setFloat32(80, r.scale, true);
  dv.setFloat32(84, r.bias, true);
  return buf;
}

export class CudaFlashAttention {
  private readonly modules = new Map<AttentionKind, CuPtr>();
  private readonly kernels = new Map<string, Kernel>();
  /** Small per-option device buffers (ALiBi slopes, key lengths), keyed by content, freed by dispose(). */
  private readonly aux = new Map<string, DeviceTensor>();

  constructor(
    readonly driver: CudaDriver = cudaDriver(),
    readonly buildDir: string = cudaBuildDir(),
  ) {}

  private module(kind: AttentionKind): CuPtr {
    const cached = this.modules.get(kind);
    if (cached !== undefined) return cached;
    const [major] = this.driver.info.computeCapability;
    const base = `flash_${kind}_fwd`;
    // sm_90 cubin on Hopper, sm_80 cubin on any Ampere/Ada part, PTX (driver JIT) elsewhere.
    const file = major === 9 ? path.join(this.buildDir, 'sm_90', `${base}.cubin`)
      : major === 8 ? path.join(this.buildDir, 'sm_80', `${base}.cubin`)
      : path.join(this.buildDir, 'ptx', `${base}.ptx`);
    if (!existsSync(file)) {
      throw new Error(`CUDA kernels not built: ${file} is missing; run \`npx nx run kernel-core:build-cuda\` (or set SIGATTN_CUDA_BUILD)`);
    }
    let image: Uint8Array = readFileSync(file);
    if (file.endsWith('.ptx')) image = Buffer.concat([image, Buffer.from([0])]); // the JIT wants a C string
    const mod = this.driver.loadModule(image, file);
    this.modules.set(kind, mod);
    return mod;
  }

  private kernel(kind: AttentionKind, dtype: CudaDtype, D: number): Kernel {
    const name = `flash_${kind}_fwd_${dtype}_d${D}`;
    const cached = this.kernels.get(name);
    if (cached) return cached;
    const mod = this.module(kind);
    const fn = this.driver.getFunction(mod, name);
    const cfg = this.driver.readGlobal(mod, `${name}_cfg`, 16);
    const [blockM, blockN, threads, smem] = [0, 1, 2, 3].map((i) => cfg.readInt32LE(i * 4));
    if (smem > this.driver.info.maxSharedPerBlockOptin) {
      throw new Error(`${name} needs ${smem} B of shared memory but ${this.driver.info.name} allows ${this.driver.info.maxSharedPerBlockOptin} B per block`);
    }
    this.driver.setMaxDynamicShared(fn, smem);
    const k = { fn, name, blockM, blockN, threads, smem };
    this.kernels.set(name, k);
    return k;
  }

  private auxTensor(values: ArrayLike<number>, dtype: 'f32' | 'i32'): DeviceTensor {
    const key = `${dtype}:${Array.from(values).join(',')}`;
    let t = this.aux.get(key);
    if (!t) {
      t = DeviceTensor.fromHost(this.driver, values, [values.length], dtype);
      this.aux.set(key, t);
    }
    return t;
  }

  /**
   * O = attention(q, k, v) per `spec`, launched asynchronously on `stream` (default stream if 0n).
   * q [B, H, Nq, D], k/v [B, Hkv, Nk, D], all bf16 or all fp16, D in {64, 128}. Softmax also
   * fills `lse` [B, H, Nq] (f32, natural log) when given.
   */
  forward(
    q: DeviceTensor,
    k: DeviceTensor,
    v: DeviceTensor,
    spec: AttentionSpec,
    opts: { out?: DeviceTensor; lse?: DeviceTensor; stream?: CuPtr } = {},
  ): DeviceTensor {
    const r = resolveAttention(q.shape, k.shape, v.shape, spec);
    for (const [n, t] of [['k', k], ['v', v]] as const) {
      if (t.dtype !== q.dtype) throw new TypeError(`cuda attention: ${n} is ${t.dtype} but q is ${q.dtype}; pass all three in one dtype`);
    }
    if (q.dtype !== 'bf16' && q.dtype !== 'fp16') {
      throw new TypeError(`cuda attention: q/k/v must be bf16 or fp16 (fp32 accumulation inside), got ${q.dtype}`);
    }
    if (!(CUDA_HEAD_DIMS as readonly number[]).includes(r.D)) {
      throw new RangeError(`cuda attention: head dim D = ${r.D} has no kernel; built for D in {${CUDA_HEAD_DIMS.join(', ')}}`);
    }
    if (r.scale === 0) throw new RangeError('cuda attention: spec.scale = 0 is not supported (the sigmoid bias is folded as bias/scale); use a tiny non-zero scale');
    const out = opts.out ?? DeviceTensor.empty(this.driver, q.dtype, q.shape);
    if (out.dtype !== q.dtype || out.shape.join() !== q.shape.join()) {
      throw new TypeError(`cuda attention: out must be ${q.dtype} [${q.shape.join(', ')}], got ${out.dtype} [${out.shape.join(', ')}]`);
    }
    if (opts.lse && (opts.lse.dtype !== 'f32' || opts.lse.size !== r.B * r.H * r.Nq)) {
      throw new TypeError(`cuda attention: lse must be f32 [${r.B}, ${r.H}, ${r.Nq}], got ${opts.lse.dtype} [${opts.lse.shape.join(', ')}]`);
    }
    const kern = this.kernel(r.kind, q.dtype, r.D);
    const params = packFwdParams(
      {
        q: q.ptr,
        k: k.ptr,
        v: v.ptr,
        o: out.ptr,
        lse: r.kind === 'softmax' && opts.lse ? opts.lse.ptr : 0n,
        alibi: r.alibiSlopes ? this.auxTensor(r.alibiSlopes, 'f32').ptr : 0n,
        keyLens: r.keyLengths ? this.auxTensor(r.keyLengths, 'i32').ptr : 0n,
      },
      r,
    );
    const grid: [number, number, number] = [Math.ceil(r.Nq / kern.blockM), r.H, r.B];
    this.driver.launch(kern.fn, kern.name, grid, kern.threads, kern.smem, [params], opts.stream ?? 0n);
    return out;
  }

  dispose(): void {
    this.driver.synchronize();
    for (const t of this.aux.values()) t.free();
    this.aux.clear();
    for (const mod of this.modules.values()) this.driver.unloadModule(mod);
    this.modules.clear();
    this.kernels.clear();
  }
}
