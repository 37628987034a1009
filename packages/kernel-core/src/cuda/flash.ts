/**
 * Host side of the FA2-class CUDA kernels (forward and backward): picks the cubin for the device's architecture, reads each
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

/** Head dims with FA2-class forward and backward kernels (cuda/flash_*.cu). */
export const CUDA_HEAD_DIMS = [32, 64, 128] as const;
/** Head dims with Hopper (sm_90a wgmma) forward and backward kernels; the others run the FA2-class kernels on every device. */
export const HOPPER_HEAD_DIMS = [64, 128] as const;
/** The kinds with CUDA kernels (relu and gelu attention have none yet). */
export const CUDA_KINDS = ['sigmoid', 'softmax'] as const satisfies readonly AttentionKind[];
export type CudaKind = (typeof CUDA_KINDS)[number];

interface Kernel {
  fn: CuPtr;
  name: string;
  /** Query rows per block (the decode kernel: keys per step, which its split chunk must be a multiple of). */
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

/** Byte layout of `struct TmaFwdParams` in cuda/hopper_tma_fwd.cuh: three 128-byte CUtensorMaps, then FwdParams at 384 (64-byte aligned struct: 512 bytes). */
export const TMA_FWD_PARAMS_BYTES = 512;

export function packTmaFwdParams(maps: { q: Uint8Array; k: Uint8Array; v: Uint8Array }, fwd: Uint8Array): Uint8Array {
  return packWithTensorMaps('packTmaFwdParams', [maps.q, maps.k, maps.v], fwd, 'FwdParams', FWD_PARAMS_BYTES, 384, TMA_FWD_PARAMS_BYTES);
}

/**
 * The one argument of a TMA kernel: 128-byte CUtensorMaps back to back from offset 0, then the kernel's parameter
 * block (`paramsName`, `paramsBytes` long) at `at`, `total` bytes in all; `what` names the caller in the errors.
 */
function packWithTensorMaps(what: string, maps: Uint8Array[], params: Uint8Array, paramsName: string, paramsBytes: number, at: number, total: number): Uint8Array {
  if (params.length !== paramsBytes) throw new RangeError(`${what}: ${paramsName} is ${paramsBytes} bytes, got ${params.length}`);
  const buf = new Uint8Array(total);
  maps.forEach((m, i) => {
    if (m.length !== 128) throw new RangeError(`${what}: a CUtensorMap is 128 bytes, got ${m.length}`);
    buf.set(m, i * 128);
  });
  buf.set(params, at);
  return buf;
}

/** A varlen kernel's parameter block (`total` bytes): the dense one (`base`), then the q and k cumulative-offset pointers at total − 16. */
function appendSeqOffsets(base: Uint8Array, cu: { q: CuPtr; k: CuPtr }, total: number): Uint8Array {
  const buf = new Uint8Array(total);
  buf.set(base);
  const dv = new DataView(buf.buffer);
  dv.setBigUint64(total - 16, cu.q, true);
  dv.setBigUint64(total - 8, cu.k, true);
  return buf;
}

/** Byte layout of `struct VarlenFwdParams` in cuda/flash_common.cuh: FwdParams, then the two offset pointers. */
export const VARLEN_FWD_PARAMS_BYTES = 104;

export function packVarlenFwdParams(fwd: Uint8Array, cu: { q: CuPtr; k: CuPtr }): Uint8Array {
  return appendSeqOffsets(fwd, cu, VARLEN_FWD_PARAMS_BYTES);
}

/**
 * Checks cumulative sequence offsets of a packed batch (FlashAttention's cu_seqlens): B + 1 ≥ 2
 * integers, starting at 0, non-decreasing, ending at `total` (the tensor's token count). Returns the
 * longest sequence; throws one line naming `name` otherwise.
 */
export function checkCuSeqlens(name: string, cu: ArrayLike<number>, total: number, B?: number): number {
  const fail = (what: string): never => {
    throw new RangeError(`cuda attention varlen: ${name}${what}`);
  };
  if (cu.length < 2) fail(` must hold B + 1 ≥ 2 offsets (B sequences), got ${cu.length}`);
  if (B !== undefined && cu.length !== B + 1) fail(` has ${cu.length} offsets but cuSeqlensQ has ${B + 1}; pass one offset per sequence boundary in both`);
  if (cu[0] !== 0) fail(` must start at 0, got ${cu[0]}`);
  let longest = 0;
  for (let i = 1; i < cu.length; i++) {
    const x = cu[i];
    if (!Number.isInteger(x)) fail(`[${i}] must be an integer, got ${x}`);
    if (x < cu[i - 1]) fail(` must be non-decreasing (offsets of consecutive sequences), but [${i - 1}] = ${cu[i - 1]} > [${i}] = ${x}`);
    longest = Math.max(longest, x - cu[i - 1]);
  }
  if (cu[cu.length - 1] !== total) fail(` must end at the packed tensor's token count ${total} (dimension 0), got ${cu[cu.length - 1]}`);
  return longest;
}

/** Byte layout of `struct BwdParams` in cuda/flash_bwd.cuh (11 pointers, 6 int32, 2 f32). */
export const BWD_PARAMS_BYTES = 120;

export function packBwdParams(
  ptrs: {
    q: CuPtr; k: CuPtr; v: CuPtr; dout: CuPtr; lse: CuPtr; delta: CuPtr;
    dqAcc: CuPtr; dkAcc: CuPtr; dvAcc: CuPtr; alibi: CuPtr; keyLens: CuPtr;
  },
  r: ResolvedAttention,
): Uint8Array {
  const buf = new Uint8Array(BWD_PARAMS_BYTES);
  const dv = new DataView(buf.buffer);
  [ptrs.q, ptrs.k, ptrs.v, ptrs.dout, ptrs.lse, ptrs.delta, ptrs.dqAcc, ptrs.dkAcc, ptrs.dvAcc, ptrs.alibi, ptrs.keyLens]
    .forEach((p, i) => dv.setBigUint64(i * 8, p, true));
  [r.B, r.H, r.Hkv, r.Nq, r.Nk, r.causal ? 1 : 0].forEach((x, i) => dv.setInt32(88 + i * 4, x, true));
  dv.setFloat32(112, r.scale, true);
  dv.setFloat32(116, r.bias, true);
  return buf;
}

/** Byte layout of `struct TmaBwdParams` in cuda/hopper_tma_bwd.cuh: four 128-byte CUtensorMaps (q, k, v, dout), then BwdParams at 512 (64-byte aligned struct: 640 bytes). */
export const TMA_BWD_PARAMS_BYTES = 640;

export function packTmaBwdParams(maps: { q: Uint8Array; k: Uint8Array; v: Uint8Array; dout: Uint8Array }, bwd: Uint8Array): Uint8Array {
  return packWithTensorMaps('packTmaBwdParams', [maps.q, maps.k, maps.v, maps.dout], bwd, 'BwdParams', BWD_PARAMS_BYTES, 512, TMA_BWD_PARAMS_BYTES);
}

/** Byte layout of `struct VarlenBwdParams` in cuda/flash_bwd.cuh: BwdParams, then the two offset pointers. */
export const VARLEN_BWD_PARAMS_BYTES = 136;

export function packVarlenBwdParams(bwd: Uint8Array, cu: { q: CuPtr; k: CuPtr }): Uint8Array {
  return appendSeqOffsets(bwd, cu, VARLEN_BWD_PARAMS_BYTES);
}

/** Byte layout of `struct DecodeParams` in cuda/flash_decode.cu: FwdParams, 2 pointers, 2 int32. */
export const DECODE_PARAMS_BYTES = 112;

export function packDecodeParams(
  fwd: Uint8Array,
  split: { partO: CuPtr; partMl: CuPtr; numSplits: number; chunk: number },
): Uint8Array {
  const buf = new Uint8Array(DECODE_PARAMS_BYTES);
  buf.set(fwd);
  const dv = new DataView(buf.buffer);
  dv.setBigUint64(FWD_PARAMS_BYTES, split.partO, true);
  dv.setBigUint64(FWD_PARAMS_BYTES + 8, split.partMl, true);
  dv.setInt32(FWD_PARAMS_BYTES + 16, split.numSplits, true);
  dv.setInt32(FWD_PARAMS_BYTES + 20, split.chunk, true);
  return buf;
}

/** Fewest keys per split of the decode kernel: the combine's extra traffic stays ≤ 1/256 of the KV read. */
export const DECODE_MIN_CHUNK = 256;
/** Decode blocks the split count aims for, per SM (128-thread blocks, up to 16 resident per SM). */
export const DECODE_BLOCKS_PER_SM = 8;

/**
 * How the decode kernel splits the keys (flash-decoding): enough splits that rows·splits fills
 * DECODE_BLOCKS_PER_SM blocks per SM, but no split shorter than DECODE_MIN_CHUNK keys; the chunk is
 * a multiple of the kernel's keys per step. Depends only on the shape and the SM count, so a
 * device always merges the same partials in the same order (deterministic).
 */
export function decodeSplits(rows: number, Nk: number, keysPerStep: number, smCount: number): { numSplits: number; chunk: number } {
  const wanted = Math.ceil((DECODE_BLOCKS_PER_SM * smCount) / Math.max(rows, 1));
  const most = Math.max(1, Math.floor(Nk / DECODE_MIN_CHUNK));
  const splits = Math.max(1, Math.min(wanted, most));
  const chunk = Math.max(keysPerStep, Math.ceil(Nk / splits / keysPerStep) * keysPerStep);
  return { numSplits: Math.max(1, Math.ceil(Nk / chunk)), chunk };
}

const u64 = (x: bigint) => new Uint8Array(BigUint64Array.of(x).buffer);
const i64 = (x: number) => new Uint8Array(BigInt64Array.of(BigInt(x)).buffer);
const i32 = (x: number) => new Uint8Array(Int32Array.of(x).buffer);

/** What validate() reads of a tensor (the varlen path passes the padded-batch view of its packed tensors). */
type TensorMeta = Pick<DeviceTensor, 'dtype' | 'shape'>;

type Part = 'fwd' | 'bwd' | 'bwd_aux' | 'hopper_fwd' | 'hopper_bwd' | 'hopper_tma_fwd' | 'hopper_tma_bwd' | 'decode';

/** When the Hopper forward uses its TMA + warp-specialised kernel (CudaFlashAttention.tma). */
export type TmaForwardMode = 'auto' | 'always' | 'never';
/**
 * 'auto' runs the TMA forward from this many keys on, per head dim (below it the cp.async kernel was faster on
 * the H200: benchmarks/cuda/tuning/h200-2026-12-01-hopper-fwd-tma and …-tma-fwd-pingpong-d64).
 */
export const TMA_FORWARD_MIN_KEYS: Readonly<Record<(typeof HOPPER_HEAD_DIMS)[number], number>> = { 64: 8192, 128: 4096 };
/**
 * 'auto' runs the TMA backward from this many keys on, per head dim (measured on the H200:
 * benchmarks/cuda/tuning/h200-2026-12-01-hopper-bwd-tma; at D = 64 softmax was 3–8 % slower below 2k keys).
 */
export const TMA_BACKWARD_MIN_KEYS: Readonly<Record<(typeof HOPPER_HEAD_DIMS)[number], number>> = { 64: 2048, 128: 512 };

export function tmaModeFromEnv(): TmaForwardMode {
  const v = process.env.SIGATTN_CUDA_HOPPER_TMA;
  return v === '1' ? 'always' : v === '0' ? 'never' : 'auto';
}

/** Which kernel family runs a pass: the Hopper wgmma kernels (sm_90a) or the FA2-class mma.sync ones. */
export type CudaForwardImpl = 'hopper' | 'fa2';

/**
 * Whether the Hopper kernels may be used (on a 9.x device with their cubins built):
 * `SIGATTN_CUDA_HOPPER=0` forces the FA2 kernels, so a benchmark can compare both.
 */
export function hopperEnabledByEnv(): boolean {
  return process.env.SIGATTN_CUDA_HOPPER !== '0';
}

export class CudaFlashAttention {
  private readonly modules = new Map<string, CuPtr>();
  private readonly kernels = new Map<string, Kernel>();
  /** Small per-option device buffers (ALiBi slopes, key lengths), keyed by content, freed by dispose(). */
  private readonly aux = new Map<string, DeviceTensor>();

  /** Use the Hopper kernels where the device and build allow (see forwardImpl, backwardImpl). */
  readonly hopper: boolean;
  /**
   * When the Hopper forward runs the TMA + warp-specialised kernel (cuda/hopper_tma_fwd.cuh) instead of the
   * cp.async one: 'auto' at Nk ≥ TMA_FORWARD_MIN_KEYS[D] (measured on the H200: at D = 128 +3–16 % from 4k keys,
   * 5–19 % slower at N ≤ 1k; at D = 64 +4–15 % from 8k keys), 'always', or 'never'. Default from
   * `SIGATTN_CUDA_HOPPER_TMA` (`1` always, `0` never, else auto).
   * The same mode picks the Hopper backward (backwardKernel): its TMA kernel (cuda/hopper_tma_bwd.cuh, D = 64 and
   * 128) at Nk ≥ TMA_BACKWARD_MIN_KEYS[D] under 'auto' (+4–14 % at N ≥ 2k on the H200).
   */
  readonly tma: TmaForwardMode;

  constructor(
    readonly driver: CudaDriver = cudaDriver(),
    readonly buildDir: string = cudaBuildDir(),
    options: { hopper?: boolean; tma?: TmaForwardMode } = {},
  ) {
    this.hopper = options.hopper ?? hopperEnabledByEnv();
    this.tma = options.tma ?? tmaModeFromEnv();
  }

  /**
   * The forward kernel family this instance runs for `kind` at head dim `D`: 'hopper' on a compute
   * capability 9.x device when enabled, D is one of HOPPER_HEAD_DIMS and its sm_90a cubin is built,
   * else 'fa2'. The Hopper kernels cover every other option the FA2 ones do (same element-wise code).
   */
  forwardImpl(kind: CudaKind, D: number): CudaForwardImpl {
    return this.impl(kind, D, 'hopper_fwd');
  }

  /**
   * The forward kernel a dense call with Nk keys runs: forwardImpl's family, and within 'hopper' the TMA +
   * warp-specialised kernel ('hopper-tma': its cubin built, per the `tma` mode) or the cp.async one.
   */
  forwardKernel(kind: CudaKind, D: number, Nk: number): 'hopper-tma' | CudaForwardImpl {
    return this.withTma(this.forwardImpl(kind, D), kind, Nk, TMA_FORWARD_MIN_KEYS[D as (typeof HOPPER_HEAD_DIMS)[number]], 'hopper_tma_fwd');
  }

  /** The backward kernel family, chosen by the same rule as forwardImpl (its own sm_90a cubin). */
  backwardImpl(kind: CudaKind, D: number): CudaForwardImpl {
    return this.impl(kind, D, 'hopper_bwd');
  }

  /**
   * The backward kernel a dense call with Nk keys runs: backwardImpl's family, and within 'hopper' the TMA +
   * warp-specialised kernel ('hopper-tma': D = 64 or 128, its cubin built, per the `tma` mode: 'auto' from
   * TMA_BACKWARD_MIN_KEYS[D] keys) or the cp.async one.
   */
  backwardKernel(kind: CudaKind, D: number, Nk: number): 'hopper-tma' | CudaForwardImpl {
    return this.withTma(this.backwardImpl(kind, D), kind, Nk, TMA_BACKWARD_MIN_KEYS[D as (typeof HOPPER_HEAD_DIMS)[number]], 'hopper_tma_bwd');
  }

  /** Within the 'hopper' family, the TMA kernel of `part` per the `tma` mode ('auto': from `minKeys` keys), where built. */
  private withTma(impl: CudaForwardImpl, kind: CudaKind, Nk: number, minKeys: number, part: 'hopper_tma_fwd' | 'hopper_tma_bwd'): 'hopper-tma' | CudaForwardImpl {
    if (impl !== 'hopper' || this.tma === 'never') return impl;
    if (this.tma === 'auto' && Nk < minKeys) return impl;
    return existsSync(this.moduleFile(kind, part)) ? 'hopper-tma' : impl;
  }

  private impl(kind: CudaKind, D: number, part: 'hopper_fwd' | 'hopper_bwd'): CudaForwardImpl {
    if (!this.hopper || this.driver.info.computeCapability[0] !== 9) return 'fa2';
    if (!(HOPPER_HEAD_DIMS as readonly number[]).includes(D)) return 'fa2';
    return existsSync(this.moduleFile(kind, part)) ? 'hopper' : 'fa2';
  }

  private moduleFile(kind: AttentionKind | null, part: Part): string {
    if (part.startsWith('hopper_')) return path.join(this.buildDir, 'sm_90a', `hopper_${kind}_${part.slice(7)}.cubin`);
    const base = part === 'bwd_aux' || part === 'decode' ? `flash_${part}` : `flash_${kind}_${part}`;
    const [major] = this.driver.info.computeCapability;
    // sm_90 cubin on Hopper, sm_80 cubin on any Ampere/Ada part, PTX (driver JIT) elsewhere.
    return major === 9 ? path.join(this.buildDir, 'sm_90', `${base}.cubin`)
      : major === 8 ? path.join(this.buildDir, 'sm_80', `${base}.cubin`)
      : path.join(this.buildDir, 'ptx', `${base}.ptx`);
  }

  /** Scratch fp32 buffers for the backward pass, kept between calls (keyed by role). */
  private readonly scratch = new Map<string, DeviceTensor>();

  private module(kind: AttentionKind | null, part: Part): CuPtr {
    const file = this.moduleFile(kind, part);
    const cached = this.modules.get(file);
    if (cached !== undefined) return cached;
    if (!existsSync(file)) {
      throw new Error(`CUDA kernels not built: ${file} is missing; run \`npx nx run kernel-core:build-cuda\` (or set SIGATTN_CUDA_BUILD)`);
    }
    let image: Uint8Array = readFileSync(file);
    if (file.endsWith('.ptx')) image = Buffer.concat([image, Buffer.from([0])]); // the JIT wants a C string
    const mod = this.driver.loadModule(image, file);
    this.modules.set(file, mod);
    return mod;
  }

  private kernel(kind: AttentionKind, dtype: CudaDtype, D: number, part: Exclude<Part, 'bwd_aux' | 'decode'> = 'fwd'): Kernel {
    const name = part.startsWith('hopper_') ? `hopper_${kind}_${part.slice(7)}_${dtype}_d${D}` : `flash_${kind}_${part}_${dtype}_d${D}`;
    return this.kernelIn(this.module(kind, part), name);
  }

  /** Kernel `name` of module `mod` with its launch config (the `<name>_cfg` global), cached by name. */
  private kernelIn(mod: CuPtr, name: string): Kernel {
    const cached = this.kernels.get(name);
    if (cached) return cached;
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

  /**
   * A TMA kernel's tensor map over `t` viewed per head as [heads, rows, D] (a 3-D box never crosses into the next
   * head, so rows past N arrive as zeros), with boxes of `boxRows` rows: the kernel's query block (q, dout) or key block (k, v).
   */
  private headMap(t: DeviceTensor, heads: number, rows: number, D: number, boxRows: number): Uint8Array {
    return this.driver.encodeTensorMap3d(t.ptr, t.dtype as 'bf16' | 'fp16', [heads, rows, D], boxRows);
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
   * q [B, H, Nq, D], k/v [B, Hkv, Nk, D], all bf16 or all fp16, D in CUDA_HEAD_DIMS. Softmax also
   * fills `lse` [B, H, Nq] (f32, natural log) when given. One query per head (Nq = 1, a generation
   * step against a KV cache) runs the split-K decode kernel (decode()) unless `decode: false`.
   */
  forward(
    q: DeviceTensor,
    k: DeviceTensor,
    v: DeviceTensor,
    spec: AttentionSpec,
    opts: { out?: DeviceTensor; lse?: DeviceTensor; stream?: CuPtr; decode?: boolean } = {},
  ): DeviceTensor {
    const r = this.validate(q, k, v, spec);
    if (r.Nq === 1 && opts.decode !== false) return this.decode(q, k, v, spec, opts);
    const out = opts.out ?? DeviceTensor.empty(this.driver, q.dtype, q.shape);
    if (out.dtype !== q.dtype || out.shape.join() !== q.shape.join()) {
      throw new TypeError(`cuda attention: out must be ${q.dtype} [${q.shape.join(', ')}], got ${out.dtype} [${out.shape.join(', ')}]`);
    }
    if (opts.lse && (opts.lse.dtype !== 'f32' || opts.lse.size !== r.B * r.H * r.Nq)) {
      throw new TypeError(`cuda attention: lse must be f32 [${r.B}, ${r.H}, ${r.Nq}], got ${opts.lse.dtype} [${opts.lse.shape.join(', ')}]`);
    }
    const family = this.forwardKernel(r.kind as CudaKind, r.D, r.Nk);
    const tma = family === 'hopper-tma';
    const kern = this.kernel(r.kind, q.dtype, r.D, tma ? 'hopper_tma_fwd' : family === 'hopper' ? 'hopper_fwd' : 'fwd');
    const fwdParams = packFwdParams(
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
    const params = tma
      ? packTmaFwdParams(
          {
            q: this.headMap(q, r.B * r.H, r.Nq, r.D, kern.blockM),
            k: this.headMap(k, r.B * r.Hkv, r.Nk, r.D, kern.blockN),
            v: this.headMap(v, r.B * r.Hkv, r.Nk, r.D, kern.blockN),
          },
          fwdParams,
        )
      : fwdParams;
    const grid: [number, number, number] = [Math.ceil(r.Nq / kern.blockM), r.H, r.B];
    this.driver.launch(kern.fn, kern.name, grid, kern.threads, kern.smem, [params], opts.stream ?? 0n);
    return out;
  }

  /**
   * Packed variable-length batch (FlashAttention's varlen layout): q [totalQ, H, D], k/v [totalK, Hkv, D]
   * hold B sequences back to back; sequence b owns query rows cuSeqlensQ[b]..cuSeqlensQ[b+1] and key
   * rows cuSeqlensK[b]..cuSeqlensK[b+1] (host arrays of B + 1 offsets, validated here). Each sequence
   * is attention per `spec` on its own (causal aligned bottom-right per sequence, ALiBi, GQA); the
   * spec's keyLengths do not apply (the offsets give the lengths). FA2-class varlen kernels on every
   * device (also on Hopper). Softmax also fills `lse` [totalQ, H] (f32, natural log; row token·H + h, q's
   * row order) when given — backwardVarlen needs it. Returns out [totalQ, H, D]. Distinct offset arrays
   * stay on the device until dispose().
   */
  forwardVarlen(
    q: DeviceTensor,
    k: DeviceTensor,
    v: DeviceTensor,
    cuSeqlensQ: ArrayLike<number>,
    cuSeqlensK: ArrayLike<number>,
    spec: AttentionSpec,
    opts: { out?: DeviceTensor; lse?: DeviceTensor; stream?: CuPtr } = {},
  ): DeviceTensor {
    const { r, B, maxQ } = this.validateVarlen(q, k, v, cuSeqlensQ, cuSeqlensK, spec);
    const out = opts.out ?? DeviceTensor.empty(this.driver, q.dtype, q.shape);
    if (out.dtype !== q.dtype || out.shape.join() !== q.shape.join()) {
      throw new TypeError(`cuda attention varlen: out must be ${q.dtype} [${q.shape.join(', ')}], got ${out.dtype} [${out.shape.join(', ')}]`);
    }
    if (opts.lse) this.checkVarlenLse(opts.lse, q);
    if (maxQ === 0) return out;
    const kern = this.kernelIn(this.module(r.kind, 'fwd'), `flash_${r.kind}_fwd_varlen_${q.dtype}_d${r.D}`);
    const params = packVarlenFwdParams(
      packFwdParams(
        {
          q: q.ptr, k: k.ptr, v: v.ptr, o: out.ptr,
          lse: r.kind === 'softmax' && opts.lse ? opts.lse.ptr : 0n,
          alibi: r.alibiSlopes ? this.auxTensor(r.alibiSlopes, 'f32').ptr : 0n,
          keyLens: 0n,
        },
        r,
      ),
      { q: this.auxTensor(cuSeqlensQ, 'i32').ptr, k: this.auxTensor(cuSeqlensK, 'i32').ptr },
    );
    this.driver.launch(kern.fn, kern.name, [Math.ceil(maxQ / kern.blockM), r.H, B], kern.threads, kern.smem, [params], opts.stream ?? 0n);
    return out;
  }

  /**
   * dq, dk, dv of forwardVarlen(q, k, v, cuSeqlensQ, cuSeqlensK, spec) for the output gradient `dout`
   * [totalQ, H, D], launched on `stream`; packed shapes and offsets as in forwardVarlen. Softmax needs
   * that forward's output `o` and its `lse` ([totalQ, H] f32, from forwardVarlen(..., { out, lse })); sigmoid
   * needs neither. Gradients accumulate in fp32 (atomics, which also sum the GQA groups for dk/dv) and are
   * converted to the input dtype: dq [totalQ, H, D], dk/dv [totalK, Hkv, D]. Always the FA2-class varlen
   * kernels (also on Hopper), as the forward.
   */
  backwardVarlen(
    q: DeviceTensor,
    k: DeviceTensor,
    v: DeviceTensor,
    dout: DeviceTensor,
    cuSeqlensQ: ArrayLike<number>,
    cuSeqlensK: ArrayLike<number>,
    spec: AttentionSpec,
    opts: { o?: DeviceTensor; lse?: DeviceTensor; dq?: DeviceTensor; dk?: DeviceTensor; dv?: DeviceTensor; stream?: CuPtr } = {},
  ): { dq: DeviceTensor; dk: DeviceTensor; dv: DeviceTensor } {
    const { r, B, maxK } = this.validateVarlen(q, k, v, cuSeqlensQ, cuSeqlensK, spec);
    const same = (t: DeviceTensor, like: DeviceTensor) => t.dtype === like.dtype && t.shape.join() === like.shape.join();
    const fail = (name: string, like: DeviceTensor, t: DeviceTensor): never => {
      throw new TypeError(`cuda attention varlen backward: ${name} must be ${like.dtype} [${like.shape.join(', ')}] like ${name === 'dk' || name === 'dv' ? 'k' : 'q'}, got ${t.dtype} [${t.shape.join(', ')}]`);
    };
    if (!same(dout, q)) fail('dout', q, dout);
    if (r.kind === 'softmax') {
      if (!opts.o || !opts.lse) {
        throw new TypeError('cuda attention varlen backward: softmax needs opts.o (forward output) and opts.lse (from forwardVarlen(..., { out, lse }))');
      }
      if (!same(opts.o, q)) fail('o', q, opts.o);
      this.checkVarlenLse(opts.lse, q, 'varlen backward');
    }
    for (const [name, t, like] of [['dq', opts.dq, q], ['dk', opts.dk, k], ['dv', opts.dv, k]] as const) {
      if (t && !same(t, like)) fail(name, like, t);
    }
    const kern = this.kernelIn(this.module(r.kind, 'bwd'), `flash_${r.kind}_bwd_varlen_${q.dtype}_d${r.D}`);
    const cu = { q: this.auxTensor(cuSeqlensQ, 'i32').ptr, k: this.auxTensor(cuSeqlensK, 'i32').ptr };
    return this.runBackward(
      kern, [Math.ceil(maxK / kern.blockN), r.H, B], { q, k, v, dout, o: opts.o },
      // As in backward(): rows whose keys fit in key block 0 take Drow in the kernel.
      r.kind === 'softmax' && maxK > kern.blockN,
      (s) => packVarlenBwdParams(
        packBwdParams(
          {
            q: q.ptr, k: k.ptr, v: v.ptr, dout: dout.ptr,
            lse: r.kind === 'softmax' ? opts.lse!.ptr : 0n,
            delta: s.delta, dqAcc: s.dqAcc, dkAcc: s.dkAcc, dvAcc: s.dvAcc,
            alibi: r.alibiSlopes ? this.auxTensor(r.alibiSlopes, 'f32').ptr : 0n,
            keyLens: 0n,
          },
          r,
        ),
        cu,
      ),
      opts,
      'cuda attention varlen backward',
    );
  }

  /**
   * The packed batch's checks shared by forwardVarlen and backwardVarlen: q [totalQ, H, D], k/v
   * [totalK, Hkv, D], the offsets (checkCuSeqlens), no keyLengths, and the spec resolved (and validated)
   * as a padded batch [B, H, longest, D] of the longest sequences.
   */
  private validateVarlen(
    q: DeviceTensor, k: DeviceTensor, v: DeviceTensor, cuSeqlensQ: ArrayLike<number>, cuSeqlensK: ArrayLike<number>, spec: AttentionSpec,
  ): { r: ResolvedAttention; B: number; maxQ: number; maxK: number } {
    for (const [n, t] of [['q', q], ['k', k], ['v', v]] as const) {
      if (t.shape.length !== 3) throw new RangeError(`cuda attention varlen: ${n} must be packed [tokens, heads, D], got [${t.shape.join(', ')}]`);
    }
    if (spec.keyLengths !== undefined) throw new RangeError('cuda attention varlen: spec.keyLengths does not apply (cuSeqlensK gives each sequence\'s keys); leave it out');
    const [totalQ, H, D] = q.shape, [totalK, Hkv] = k.shape;
    if (v.shape.join() !== k.shape.join()) throw new RangeError(`cuda attention varlen: v must match k [${k.shape.join(', ')}], got [${v.shape.join(', ')}]`);
    const maxQ = checkCuSeqlens('cuSeqlensQ', cuSeqlensQ, totalQ);
    const maxK = checkCuSeqlens('cuSeqlensK', cuSeqlensK, totalK, cuSeqlensQ.length - 1);
    const B = cuSeqlensQ.length - 1;
    const r = this.validate(
      { dtype: q.dtype, shape: [B, H, Math.max(maxQ, 1), D] },
      { dtype: k.dtype, shape: [B, Hkv, Math.max(maxK, 1), k.shape[2]] },
      { dtype: v.dtype, shape: [B, Hkv, Math.max(maxK, 1), k.shape[2]] },
      spec,
    );
    return { r, B, maxQ, maxK };
  }

  /** A varlen softmax LSE: f32 [totalQ, H] for q [totalQ, H, D]. */
  private checkVarlenLse(lse: DeviceTensor, q: DeviceTensor, what = 'varlen'): void {
    const [totalQ, H] = q.shape;
    if (lse.dtype !== 'f32' || lse.shape.join() !== [totalQ, H].join()) {
      throw new TypeError(`cuda attention ${what}: lse must be f32 [${totalQ}, ${H}] (one per query token and head), got ${lse.dtype} [${lse.shape.join(', ')}]`);
    }
  }

  /**
   * Decode step: attention of one query per (batch, head) (q [B, H, 1, D]) against the cache k/v
   * [B, Hkv, Nk, D] with the decode kernel (cuda/flash_decode.cu): decodeSplits() splits the keys
   * over blocks, and with more than one split a combine kernel merges the fp32 partials in a fixed
   * order. Same spec and outputs as forward() (softmax fills `lse` when given).
   */
  decode(
    q: DeviceTensor,
    k: DeviceTensor,
    v: DeviceTensor,
    spec: AttentionSpec,
    opts: { out?: DeviceTensor; lse?: DeviceTensor; stream?: CuPtr } = {},
  ): DeviceTensor {
    const r = this.validate(q, k, v, spec);
    if (r.Nq !== 1) throw new RangeError(`cuda attention decode: q must hold one query per head (q dimension 2 = 1), got Nq = ${r.Nq}; use forward()`);
    const out = opts.out ?? DeviceTensor.empty(this.driver, q.dtype, q.shape);
    if (out.dtype !== q.dtype || out.shape.join() !== q.shape.join()) {
      throw new TypeError(`cuda attention: out must be ${q.dtype} [${q.shape.join(', ')}], got ${out.dtype} [${out.shape.join(', ')}]`);
    }
    if (opts.lse && (opts.lse.dtype !== 'f32' || opts.lse.size !== r.B * r.H)) {
      throw new TypeError(`cuda attention: lse must be f32 [${r.B}, ${r.H}, 1], got ${opts.lse.dtype} [${opts.lse.shape.join(', ')}]`);
    }
    const rows = r.B * r.H;
    if (rows === 0) return out;
    const mod = this.module(null, 'decode');
    const name = `flash_decode_${r.kind}_${q.dtype}_d${r.D}`;
    const kern = this.kernelIn(mod, name);
    const { numSplits, chunk } = decodeSplits(rows, r.Nk, kern.blockM, this.driver.info.smCount);
    const softmax = r.kind === 'softmax';
    const partO = numSplits > 1 ? this.scratchF32('decode_o', rows * numSplits * r.D).ptr : 0n;
    const partMl = numSplits > 1 && softmax ? this.scratchF32('decode_ml', rows * numSplits * 2).ptr : 0n;
    const params = packDecodeParams(
      packFwdParams(
        {
          q: q.ptr, k: k.ptr, v: v.ptr, o: out.ptr,
          lse: softmax && opts.lse ? opts.lse.ptr : 0n,
          alibi: r.alibiSlopes ? this.auxTensor(r.alibiSlopes, 'f32').ptr : 0n,
          keyLens: r.keyLengths ? this.auxTensor(r.keyLengths, 'i32').ptr : 0n,
        },
        r,
      ),
      { partO, partMl, numSplits, chunk },
    );
    const stream = opts.stream ?? 0n;
    this.driver.launch(kern.fn, kern.name, [numSplits, r.H, r.B], kern.threads, kern.smem, [params], stream);
    if (numSplits > 1) {
      const combine = this.kernelIn(mod, `flash_decode_combine_${r.kind}_${q.dtype}_d${r.D}`);
      this.driver.launch(combine.fn, combine.name, [r.H, r.B, 1], combine.threads, combine.smem, [params], stream);
    }
    return out;
  }

  private auxKernel(name: string): CuPtr {
    const cached = this.kernels.get(name);
    if (cached) return cached.fn;
    const fn = this.driver.getFunction(this.module(null, 'bwd_aux'), name);
    this.kernels.set(name, { fn, name, blockM: 0, blockN: 0, threads: 256, smem: 0 });
    return fn;
  }

  private scratchF32(role: string, size: number): DeviceTensor {
    let t = this.scratch.get(role);
    if (!t || t.size < size) {
      t?.free();
      t = DeviceTensor.empty(this.driver, 'f32', [size]);
      this.scratch.set(role, t);
    }
    return t;
  }

  /**
   * dq, dk, dv of attention(q, k, v) for the output gradient `dout`, launched on `stream`.
   * Softmax needs the forward output `o` and its `lse` ([B, H, Nq] f32, from forward()); sigmoid
   * needs neither (no D = rowsum(dO∘O) pass, no LSE). Gradients are accumulated in fp32 (atomics,
   * which also sum the GQA groups for dk/dv) and converted to the input dtype.
   */
  backward(
    q: DeviceTensor,
    k: DeviceTensor,
    v: DeviceTensor,
    dout: DeviceTensor,
    spec: AttentionSpec,
    opts: {
      o?: DeviceTensor; lse?: DeviceTensor; dq?: DeviceTensor; dk?: DeviceTensor; dv?: DeviceTensor; stream?: CuPtr;
      /** f32 gradient buffers to accumulate into directly (no conversion to the input dtype): a float32 caller's outputs. */
      f32Grads?: { dq: DeviceTensor; dk: DeviceTensor; dv: DeviceTensor };
    } = {},
  ): { dq: DeviceTensor; dk: DeviceTensor; dv: DeviceTensor } {
    const r = this.validate(q, k, v, spec);
    if (dout.dtype !== q.dtype || dout.shape.join() !== q.shape.join()) {
      throw new TypeError(`cuda attention backward: dout must be ${q.dtype} [${q.shape.join(', ')}], got ${dout.dtype} [${dout.shape.join(', ')}]`);
    }
    if (r.kind === 'softmax' && (!opts.o || !opts.lse)) {
      throw new TypeError('cuda attention backward: softmax needs opts.o (forward output) and opts.lse (from forward(..., { lse }))');
    }
    const nQ = q.size, nK = k.size;
    const f32 = opts.f32Grads;
    if (f32 && ([[f32.dq, nQ], [f32.dk, nK], [f32.dv, nK]] as const).some(([t, n]) => t.dtype !== 'f32' || t.size !== n)) {
      throw new TypeError(`cuda attention backward: f32Grads must be f32 with ${nQ}, ${nK} and ${nK} elements`);
    }
    const family = this.backwardKernel(r.kind as CudaKind, r.D, r.Nk);
    const tma = family === 'hopper-tma';
    const kern = this.kernel(r.kind, q.dtype, r.D, tma ? 'hopper_tma_bwd' : family === 'hopper' ? 'hopper_bwd' : 'bwd');
    return this.runBackward(
      kern, [Math.ceil(r.Nk / kern.blockN), r.H, r.B], { q, k, v, dout, o: opts.o },
      // Rows whose keys all fit in the first key block (blockN keys: 64 in the FA2 kernels, 128 in the Hopper ones) take Drow
      // inside the kernel, as the P-weighted mean of dP; the rowsum(dO∘O) pre-pass is only needed for
      // longer rows.
      r.kind === 'softmax' && r.Nk > kern.blockN,
      (s) => {
        const bwd = packBwdParams(
          {
            q: q.ptr, k: k.ptr, v: v.ptr, dout: dout.ptr,
            lse: r.kind === 'softmax' ? opts.lse!.ptr : 0n,
            delta: s.delta, dqAcc: s.dqAcc, dkAcc: s.dkAcc, dvAcc: s.dvAcc,
            alibi: r.alibiSlopes ? this.auxTensor(r.alibiSlopes, 'f32').ptr : 0n,
            keyLens: r.keyLengths ? this.auxTensor(r.keyLengths, 'i32').ptr : 0n,
          },
          r,
        );
        if (!tma) return bwd;
        return packTmaBwdParams(
          {
            q: this.headMap(q, r.B * r.H, r.Nq, r.D, kern.blockM), k: this.headMap(k, r.B * r.Hkv, r.Nk, r.D, kern.blockN),
            v: this.headMap(v, r.B * r.Hkv, r.Nk, r.D, kern.blockN), dout: this.headMap(dout, r.B * r.H, r.Nq, r.D, kern.blockM),
          },
          bwd,
        );
      },
      opts,
      'cuda attention backward',
    );
  }

  /**
   * What backward() and backwardVarlen() share after their checks: the fp32 accumulators (the caller's
   * f32Grads, else scratch) zeroed; with `needDelta` the softmax pre-pass delta = rowsum(dO∘O) over every
   * row of D elements of `o`/`dout` (one per query token and head, in q's row order, which the kernel's
   * LSE/delta index follows); `kern` launched over `grid` with the params `pack` builds around those
   * buffers; then the accumulators converted into dq/dk/dv (shaped and typed like q, k, v; the caller's
   * or new), unless the caller accumulates into f32Grads. `what` prefixes the errors.
   */
  private runBackward(
    kern: Kernel,
    grid: [number, number, number],
    t: { q: DeviceTensor; k: DeviceTensor; v: DeviceTensor; dout: DeviceTensor; o?: DeviceTensor },
    needDelta: boolean,
    pack: (buffers: { delta: CuPtr; dqAcc: CuPtr; dkAcc: CuPtr; dvAcc: CuPtr }) => Uint8Array,
    opts: { dq?: DeviceTensor; dk?: DeviceTensor; dv?: DeviceTensor; stream?: CuPtr; f32Grads?: { dq: DeviceTensor; dk: DeviceTensor; dv: DeviceTensor } },
    what: string,
  ): { dq: DeviceTensor; dk: DeviceTensor; dv: DeviceTensor } {
    const { q, k } = t;
    const dtype = q.dtype;
    const stream = opts.stream ?? 0n;
    const D = q.shape[q.shape.length - 1];
    const nQ = q.size, nK = k.size, rowsQ = nQ / D;
    const f32 = opts.f32Grads;
    for (const [name, dst, n] of [['dq', opts.dq, nQ], ['dk', opts.dk, nK], ['dv', opts.dv, nK]] as const) {
      if (!f32 && dst && (dst.size !== n || dst.dtype !== dtype)) throw new TypeError(`${what}: gradient buffer ${name} must be ${dtype} with ${n} elements`);
    }
    const dqAcc = f32?.dq ?? this.scratchF32('dq', nQ), dkAcc = f32?.dk ?? this.scratchF32('dk', nK), dvAcc = f32?.dv ?? this.scratchF32('dv', nK);
    for (const [acc, n] of [[dqAcc, nQ], [dkAcc, nK], [dvAcc, nK]] as const) if (n > 0) this.driver.fill32(acc.ptr, 0, n);
    let delta: DeviceTensor | null = null;
    if (needDelta && rowsQ > 0) {
      delta = this.scratchF32('delta', rowsQ);
      const name = `flash_bwd_delta_${dtype}`;
      this.driver.launch(this.auxKernel(name), name, [Math.ceil((rowsQ * 32) / 256), 1, 1], 256, 0,
        [u64(t.o!.ptr), u64(t.dout.ptr), u64(delta.ptr), i64(rowsQ), i32(D)], stream);
    }
    const params = pack({ delta: delta ? delta.ptr : 0n, dqAcc: dqAcc.ptr, dkAcc: dkAcc.ptr, dvAcc: dvAcc.ptr });
    // A grid without blocks (varlen: no keys at all) is not launchable; the zeroed gradients are the answer.
    if (grid.every((x) => x > 0)) this.driver.launch(kern.fn, kern.name, grid, kern.threads, kern.smem, [params], stream);
    if (f32) return f32;
    const out = {
      dq: opts.dq ?? DeviceTensor.empty(this.driver, dtype, q.shape),
      dk: opts.dk ?? DeviceTensor.empty(this.driver, t.k.dtype, t.k.shape),
      dv: opts.dv ?? DeviceTensor.empty(this.driver, t.v.dtype, t.v.shape),
    };
    const convert = `flash_bwd_convert_${dtype}`;
    for (const [acc, dst, n] of [[dqAcc, out.dq, nQ], [dkAcc, out.dk, nK], [dvAcc, out.dv, nK]] as const) {
      if (n === 0) continue;
      this.driver.launch(this.auxKernel(convert), convert, [Math.min(Math.ceil(n / 256), 4096), 1, 1], 256, 0,
        [u64(acc.ptr), u64(dst.ptr), i64(n)], stream);
    }
    return out;
  }

  private validate(q: TensorMeta, k: TensorMeta, v: TensorMeta, spec: AttentionSpec): ResolvedAttention {
    const r = resolveAttention(q.shape, k.shape, v.shape, spec);
    for (const [n, t] of [['k', k], ['v', v]] as const) {
      if (t.dtype !== q.dtype) throw new TypeError(`cuda attention: ${n} is ${t.dtype} but q is ${q.dtype}; pass all three in one dtype`);
    }
    if (q.dtype !== 'bf16' && q.dtype !== 'fp16') {
      throw new TypeError(`cuda attention: q/k/v must be bf16 or fp16 (fp32 accumulation inside), got ${q.dtype}`);
    }
    if (!(CUDA_KINDS as readonly string[]).includes(r.kind)) {
      throw new RangeError(`cuda attention: kind '${r.kind}' has no kernel; built for ${CUDA_KINDS.join(' and ')} (use the tfjs op on cpu/wasm for it)`);
    }
    if (!(CUDA_HEAD_DIMS as readonly number[]).includes(r.D)) {
      throw new RangeError(`cuda attention: head dim D = ${r.D} has no kernel; built for D in {${CUDA_HEAD_DIMS.join(', ')}}`);
    }
    if (r.scale === 0) throw new RangeError('cuda attention: spec.scale = 0 is not supported (the sigmoid bias is folded as bias/scale); use a tiny non-zero scale');
    return r;
  }

  dispose(): void {
    this.driver.synchronize();
    for (const t of this.aux.values()) t.free();
    this.aux.clear();
    for (const t of this.scratch.values()) t.free();
    this.scratch.clear();
    for (const mod of this.modules.values()) this.driver.unloadModule(mod);
    this.modules.clear();
    this.kernels.clear();
  }
}
