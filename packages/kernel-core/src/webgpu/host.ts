/// <reference types="@webgpu/types" />
/**
 * Standalone WebGPU host for the attention kernels: compiles each kernel variant once per device
 * (cached by variant key), packs uniforms, and records dispatches into a caller's command encoder.
 * It takes plain GPUBuffers, so the same code serves the benchmarks (own Dawn device) and the
 * tfjs 'webgpu' kernels (the backend's device and tensor buffers; see tfjs-kernels.ts).
 *
 * Buffer layouts (f32, row-major): q [B,H,Nq,D], k/v [B,Hkv,Nk,D], o/dq like q, dk/dv like k,
 * stats [B,H,Nq,2]: per query row (m, l) = (row max of the logits, Σ exp(logit − m)) for softmax,
 * (0, 1) for sigmoid — the contract of tfjs/kernel-names.ts.
 */
import { AttentionSpecError, type AttentionKind, type ResolvedAttention } from '../spec.js';
import {
  FLASH_WORKGROUP_BYTES, HEAD_DIMS, TILE, geometry, packParams, variantKey, type FlashVariant, type HeadDim, type TilePlan,
} from './common.wgsl.js';
import { flashSigmoidFwd, type KernelSource } from './flash-sigmoid-fwd.wgsl.js';
import { flashSoftmaxFwd } from './flash-softmax-fwd.wgsl.js';
import { softmaxBwdPre } from './softmax-bwd-pre.wgsl.js';
import { flashBwdDq } from './flash-bwd-dq.wgsl.js';
import { flashBwdDkdv } from './flash-bwd-dkdv.wgsl.js';
import { naiveScores } from './naive-scores.wgsl.js';
import { naiveSoftmaxRows } from './naive-softmax-rows.wgsl.js';
import { naivePv } from './naive-pv.wgsl.js';
import { naiveDs } from './naive-ds.wgsl.js';
import { naiveSoftmaxDsRows } from './naive-softmax-ds-rows.wgsl.js';
import { naiveDq } from './naive-dq.wgsl.js';
import { naiveDkdv } from './naive-dkdv.wgsl.js';

export interface ForwardBuffers { q: GPUBuffer; k: GPUBuffer; v: GPUBuffer; o: GPUBuffer; stats: GPUBuffer }
export interface BackwardBuffers extends ForwardBuffers { dO: GPUBuffer; dq: GPUBuffer; dk: GPUBuffer; dv: GPUBuffer }

interface Compiled { pipeline: GPUComputePipeline; bindings: string[] }

/**
 * The kinds with WGSL kernels. relu and gelu attention run on the webgpu backend through the composed
 * tfjs ops (tfjs-kernels.ts): their own kernels would cost ~20 s of lavapipe compile per variant in CI.
 */
export const WEBGPU_KINDS = ['sigmoid', 'softmax'] as const satisfies readonly AttentionKind[];
export type WebGPUKind = (typeof WEBGPU_KINDS)[number];

/** The flash kernels, by the name used in tile overrides. */
export const FLASH_KERNELS = ['fwd-sigmoid', 'fwd-softmax', 'bwd-dq-sigmoid', 'bwd-dq-softmax', 'bwd-dkdv-sigmoid', 'bwd-dkdv-softmax'] as const;
export type FlashKernelName = (typeof FLASH_KERNELS)[number];

const t = (TM: 4 | 8, TN: 4 | 8): TilePlan => ({ TM, TN });
/**
 * Default tile plans, the fastest of the sweep on one H200 through Vulkan (2026-11-28, N = 4096,
 * hidden 2048; BENCHMARKS.md), picked for each kernel on its own. 8 × 8 tiles (64 invocations,
 * ~200 registers) ran at ~60 % of the speed of the others. D = 32 needs TN = 8 (whole vec4s of
 * output columns per invocation).
 */
const DEFAULT_PLANS: Record<FlashKernelName, Record<HeadDim, TilePlan>> = {
  'fwd-sigmoid': { 32: t(4, 8), 64: t(4, 8), 128: t(4, 4) },
  'fwd-softmax': { 32: t(4, 8), 64: t(4, 8), 128: t(4, 8) },
  'bwd-dq-sigmoid': { 32: t(4, 8), 64: t(4, 8), 128: t(4, 4) },
  'bwd-dq-softmax': { 32: t(4, 8), 64: t(4, 8), 128: t(8, 4) },
  'bwd-dkdv-sigmoid': { 32: t(4, 8), 64: t(4, 8), 128: t(4, 4) },
  'bwd-dkdv-softmax': { 32: t(4, 8), 64: t(4, 8), 128: t(8, 4) },
};

export function defaultTilePlan(kernel: FlashKernelName, D: HeadDim): TilePlan {
  return DEFAULT_PLANS[kernel][D];
}

/** Per-kernel, per-head-dim tile plans that replace the defaults (benchmarks and tuning). */
export type TileOverrides = Partial<Record<`${FlashKernelName}/D${HeadDim}`, TilePlan>>;

/**
 * Parse tile overrides such as `fwd-sigmoid/D64=8x4,bwd-dq-softmax/D128=4x4`. A kernel may be given
 * without its kind suffix (`fwd/D64=8x4` sets both kinds). Errors name the entry and what is allowed.
 */
export function parseTileOverrides(text: string): TileOverrides {
  const out: Record<string, TilePlan> = {};
  for (const entry of text.split(',').map((x) => x.trim()).filter((x) => x !== '')) {
    const m = /^([a-z-]+)\/D(\d+)=([48])x([48])$/.exec(entry);
    const kernels = m === null ? [] : FLASH_KERNELS.filter((k) => k === m[1] || k.startsWith(`${m[1]}-`) && !k.slice(m[1].length + 1).includes('-'));
    if (m === null || kernels.length === 0 || !HEAD_DIMS.includes(Number(m[2]) as HeadDim)) {
      throw new Error(`tile override '${entry}': expected <kernel>/D<head dim>=<TM>x<TN> with kernel one of ${FLASH_KERNELS.join(', ')} ` +
        `(or fwd, bwd-dq, bwd-dkdv for both kinds), head dim one of ${HEAD_DIMS.join(', ')}, TM and TN 4 or 8 — e.g. fwd-sigmoid/D64=8x4`);
    }
    const plan = { TM: Number(m[3]), TN: Number(m[4]) } as TilePlan;
    for (const k of kernels) {
      geometry({ D: Number(m[2]) as HeadDim, tile: plan }); // throws if the plan does not fit the head dim
      out[`${k}/D${m[2]}`] = plan;
    }
  }
  return out as TileOverrides;
}

export interface WebGPUAttentionOptions {
  /** Replace the default tile plan of some kernels (see parseTileOverrides). */
  tiles?: TileOverrides;
}

const STORAGE = 0x80; // GPUBufferUsage.STORAGE (the globals may not be installed when this loads)
const UNIFORM = 0x40;

export class WebGPUAttention {
  private readonly pipelines = new Map<string, Compiled>();
  private readonly scratch = new Map<string, GPUBuffer>();
  private readonly constants = new Map<string, GPUBuffer>();

  private readonly tiles: TileOverrides;

  constructor(readonly device: GPUDevice, options: WebGPUAttentionOptions = {}) {
    this.tiles = options.tiles ?? {};
    const have = device.limits.maxComputeWorkgroupStorageSize;
    if (have < FLASH_WORKGROUP_BYTES) {
      throw new Error(`WebGPU device allows ${have} bytes of workgroup memory but the flash kernels need ${FLASH_WORKGROUP_BYTES}: ` +
        `request the device with requiredLimits.maxComputeWorkgroupStorageSize = adapter.limits.maxComputeWorkgroupStorageSize`);
    }
  }

  /** Number of compiled pipelines (each variant compiles once). */
  get pipelineCount(): number { return this.pipelines.size; }

  /** The variant (head dim + tile plan) a flash kernel runs for this spec. */
  variant(kernel: FlashKernelName, r: ResolvedAttention): FlashVariant {
    kindOf(r);
    const D = headDimOf(r);
    return { D, tile: this.tiles[`${kernel}/D${D}`] ?? defaultTilePlan(kernel, D) };
  }

  /** Flash forward: o and the row statistics (sigmoid: (0, 1) per row, as in the tfjs contract). */
  forward(enc: GPUCommandEncoder, r: ResolvedAttention, b: ForwardBuffers): void {
    const name = `fwd-${kindOf(r)}` as const;
    const v = this.variant(name, r);
    const src = name === 'fwd-sigmoid' ? flashSigmoidFwd : flashSoftmaxFwd;
    const pass = enc.beginComputePass();
    this.dispatch(pass, variantKey(name, v), () => src(v), r, { ...b, aux: this.aux(r) }, [Math.ceil(r.Nq / TILE), r.H, r.B]);
    pass.end();
  }

  /** Flash backward: dq, dk, dv from q, k, v, o, the forward's stats and dO. */
  backward(enc: GPUCommandEncoder, r: ResolvedAttention, b: BackwardBuffers): void {
    const kind = kindOf(r);
    const dqName = `bwd-dq-${kind}` as const;
    const dkdvName = `bwd-dkdv-${kind}` as const;
    const vq = this.variant(dqName, r);
    const vkv = this.variant(dkdvName, r);
    const bufs: Record<string, GPUBuffer> = { ...b, aux: this.aux(r) };
    const pass = enc.beginComputePass();
    if (r.kind === 'softmax') {
      bufs.rowStats = this.scratchBuffer('row-stats', 16 * r.B * r.H * r.Nq);
      this.dispatch(pass, variantKey('bwd-pre', vq), () => softmaxBwdPre(vq), r, bufs, [Math.ceil(r.Nq / TILE), r.H, r.B]);
    }
    this.dispatch(pass, variantKey(dqName, vq), () => flashBwdDq(kind, vq), r, bufs, [Math.ceil(r.Nq / TILE), r.H, r.B]);
    this.dispatch(pass, variantKey(dkdvName, vkv), () => flashBwdDkdv(kind, vkv), r, bufs, [Math.ceil(r.Nk / TILE), r.Hkv, r.B]);
    pass.end();
  }

  /** Bytes of one [B, H, Nq, Nk] score buffer the naive path allocates (twice for backward). */
  static naiveScoreBytes(r: ResolvedAttention): number { return 4 * r.B * r.H * r.Nq * r.Nk; }

  /** Naive forward: full score matrix, then normalise, then P·V. */
  naiveForward(enc: GPUCommandEncoder, r: ResolvedAttention, b: ForwardBuffers): void {
    const bufs = { ...b, aux: this.aux(r), s: this.naiveScoreBuffer('s', r) };
    this.naiveScoresInto(enc, r, bufs);
    const pass = enc.beginComputePass();
    this.dispatch(pass, `naive-pv/D${r.D}`, () => naivePv(r.D as HeadDim), r, bufs, flatDispatch(r.B * r.H * r.Nq * r.D));
    pass.end();
  }

  /** Naive backward: recompute P, then dP/dS, then dQ and dK/dV, all through N×N buffers. */
  naiveBackward(enc: GPUCommandEncoder, r: ResolvedAttention, b: BackwardBuffers): void {
    const bufs: Record<string, GPUBuffer> = {
      ...b, aux: this.aux(r), s: this.naiveScoreBuffer('s', r), ds: this.naiveScoreBuffer('ds', r),
      stats: this.scratchBuffer('naive-stats', 8 * r.B * r.H * r.Nq),
    };
    this.naiveScoresInto(enc, r, bufs);
    bufs.p = bufs.s;
    const pass = enc.beginComputePass();
    const all = r.B * r.H * r.Nq * r.Nk;
    const kind = kindOf(r);
    this.dispatch(pass, `naive-ds-${kind}/D${r.D}`, () => naiveDs(kind, r.D as HeadDim), r, bufs, flatDispatch(all));
    if (r.kind === 'softmax') this.dispatch(pass, 'naive-ds-rows', naiveSoftmaxDsRows, r, bufs, flatDispatch(r.B * r.H * r.Nq));
    this.dispatch(pass, `naive-dq/D${r.D}`, () => naiveDq(r.D as HeadDim), r, bufs, flatDispatch(r.B * r.H * r.Nq * r.D));
    this.dispatch(pass, `naive-dkdv/D${r.D}`, () => naiveDkdv(r.D as HeadDim), r, bufs, flatDispatch(r.B * r.Hkv * r.Nk * r.D));
    pass.end();
  }

  private naiveScoresInto(enc: GPUCommandEncoder, r: ResolvedAttention, bufs: Record<string, GPUBuffer>): void {
    const D = headDimOf(r);
    const pass = enc.beginComputePass();
    const kind = kindOf(r);
    this.dispatch(pass, `naive-scores-${kind}/D${D}`, () => naiveScores(kind, D), r, bufs, flatDispatch(r.B * r.H * r.Nq * r.Nk));
    if (r.kind === 'softmax') this.dispatch(pass, 'naive-rows', naiveSoftmaxRows, r, bufs, flatDispatch(r.B * r.H * r.Nq));
    pass.end();
  }

  private naiveScoreBuffer(role: string, r: ResolvedAttention): GPUBuffer {
    const bytes = WebGPUAttention.naiveScoreBytes(r);
    const max = Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize);
    if (bytes > max) {
      throw new Error(`naive WebGPU attention needs a ${bytes}-byte [B,H,Nq,Nk] score buffer but the device allows ${max} bytes per binding: ` +
        'use smaller B·H·N² or the flash kernels');
    }
    return this.scratchBuffer(`naive-${role}`, bytes);
  }

  private compile(key: string, make: () => KernelSource): Compiled {
    let c = this.pipelines.get(key);
    if (c === undefined) {
      const src = make();
      const module = this.device.createShaderModule({ code: src.code, label: key });
      const pipeline = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key });
      c = { pipeline, bindings: src.bindings };
      this.pipelines.set(key, c);
    }
    return c;
  }

  private dispatch(pass: GPUComputePassEncoder, key: string, make: () => KernelSource, r: ResolvedAttention,
    bufs: Record<string, GPUBuffer | null>, grid: [number, number, number] | [number, number]): void {
    const c = this.compile(key, make);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.params(r) } }];
    c.bindings.forEach((name, n) => {
      const buffer = bufs[name];
      if (buffer === undefined || buffer === null) throw new Error(`WebGPU attention kernel ${key}: buffer '${name}' was not provided`);
      entries.push({ binding: n + 1, resource: { buffer } });
    });
    pass.setPipeline(c.pipeline);
    pass.setBindGroup(0, this.device.createBindGroup({ layout: c.pipeline.getBindGroupLayout(0), entries }));
    pass.dispatchWorkgroups(grid[0], grid[1], grid[2] ?? 1);
  }

  private scratchBuffer(role: string, bytes: number): GPUBuffer {
    const have = this.scratch.get(role);
    if (have !== undefined && have.size >= bytes) return have;
    // Grow-only; the old buffer may still be referenced by recorded commands, so it is dropped, not destroyed.
    const buf = this.device.createBuffer({ size: Math.max(16, bytes), usage: STORAGE | 0x8 /* COPY_DST */, label: role });
    this.scratch.set(role, buf);
    return buf;
  }

  /** Immutable small buffers (uniforms, ALiBi slopes + key lengths), cached by content. */
  private constant(key: string, data: ArrayBuffer, usage: number): GPUBuffer {
    let buf = this.constants.get(key);
    if (buf === undefined) {
      if (this.constants.size > 256) this.constants.clear();
      buf = this.device.createBuffer({ size: Math.max(16, Math.ceil(data.byteLength / 16) * 16), usage, mappedAtCreation: true });
      new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data));
      buf.unmap();
      this.constants.set(key, buf);
    }
    return buf;
  }

  private params(r: ResolvedAttention): GPUBuffer {
    const data = packParams(r);
    return this.constant(`p:${Array.from(new Uint32Array(data)).join(',')}`, data, UNIFORM);
  }

  /** ALiBi slopes [H] (0 when off) then key lengths [B] (Nk when unpadded), as f32 (exact below 2²⁴). */
  private aux(r: ResolvedAttention): GPUBuffer {
    const data = new Float32Array(r.H + r.B).fill(r.Nk);
    data.fill(0, 0, r.H);
    if (r.alibiSlopes !== null) data.set(r.alibiSlopes, 0);
    if (r.keyLengths !== null) data.set(r.keyLengths, r.H);
    return this.constant(`a:${Array.from(data).join(',')}`, data.buffer, STORAGE);
  }
}

function kindOf(r: ResolvedAttention): WebGPUKind {
  if (!WEBGPU_KINDS.includes(r.kind as WebGPUKind)) {
    throw new AttentionSpecError(`attention: the WebGPU kernels support kind ${WEBGPU_KINDS.join(' and ')}, got '${r.kind}'; ` +
      "the tfjs op runs it through the composed ops on the webgpu backend, or use the cpu/wasm backend");
  }
  return r.kind as WebGPUKind;
}

function headDimOf(r: ResolvedAttention): HeadDim {
  if (!HEAD_DIMS.includes(r.D as HeadDim)) {
    throw new AttentionSpecError(`attention: the WebGPU kernels support head dim D ∈ {${HEAD_DIMS.join(', ')}} (q dimension 3), got ${r.D}; ` +
      'use the cpu/wasm backend for other head dims');
  }
  return r.D as HeadDim;
}

/** 2-D grid of 256-wide workgroups covering n invocations (WebGPU caps each dimension at 65535). */
export function flatDispatch(n: number): [number, number] {
  const groups = Math.max(1, Math.ceil(n / 256));
  const x = Math.min(groups, 65535);
  return [x, Math.ceil(groups / x)];
}

