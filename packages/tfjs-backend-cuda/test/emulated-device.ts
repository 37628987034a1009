/**
 * Test helper (not a test file): the machinery for running the real CudaBackend host code without a GPU.
 * A .cu file's launch structs are parsed from its source (so a field the host writes in the wrong order
 * or width decodes wrongly), launches' parameter bytes are decoded by them, and an emulated device with
 * its own memory hands each decoded launch to the test's TS replay of the kernel.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import type { CudaDevice } from '../src/device.js';
import { BACKEND_CUDA_SOURCE_DIR } from '../src/device.js';
import { CudaBackend } from '../src/backend.js';
import { cpuFallback } from '../src/fallback.js';
import type { OpResult } from '../src/testing/index.js';

// ---- launch structs from the .cu source ----------------------------------------------------------

export type FieldKind = 'ptr' | 'i64' | 'i32' | 'f32';
/** One struct member; `count` > 1 for an array member. */
export type StructField = { name: string; kind: FieldKind; count: number; offset: number };
/** Decoded launch parameters: pointers as bigint, numbers as number, array members as arrays. */
export type Decoded = Record<string, bigint | number | (bigint | number)[]>;

const fieldSize = (kind: FieldKind) => (kind === 'ptr' || kind === 'i64' ? 8 : 4);

function parseDefines(source: string, into: Record<string, number>): void {
  for (const m of source.matchAll(/^#define (\w+) (\d+)$/gm)) into[m[1]] = Number(m[2]);
}

/**
 * Every `struct Name { … };` of `source` laid out as nvcc does for these members: pointers (`float*`,
 * `b32*`, `int*`) and `long long` 8 bytes, `int`, `b32` and `float` 4, each aligned to its size; arrays
 * sized by a number or a #define of `defines`; `float a, b;` declares several members.
 */
export function parseStructs(source: string, defines: Record<string, number>): Map<string, StructField[]> {
  const structs = new Map<string, StructField[]>();
  for (const m of source.matchAll(/struct (\w+) \{([^}]*)\};/g)) {
    const fields: StructField[] = [];
    let offset = 0;
    for (const line of m[2].split('\n')) {
      const f = /^\s*(const )?(float\*|b32\*|int\*|long long|int|b32|float) (\w+(?:, \w+)*)(?:\[(\w+)\])?;/.exec(line);
      if (!f) continue;
      const kind: FieldKind = f[2].endsWith('*') ? 'ptr' : f[2] === 'long long' ? 'i64' : f[2] === 'float' ? 'f32' : 'i32';
      const size = fieldSize(kind);
      const count = f[4] === undefined ? 1 : (defines[f[4]] ?? Number(f[4]));
      for (const name of f[3].split(', ')) {
        offset = Math.ceil(offset / size) * size;
        fields.push({ name, kind, count, offset });
        offset += size * count;
      }
    }
    structs.set(m[1], fields);
  }
  return structs;
}

/** A .cu file's #defines (after common.cuh's, which every file includes), launch structs and kernels' structs. */
export class CudaSourceLayout {
  readonly source: string;
  readonly defines: Record<string, number> = {};
  readonly structs: Map<string, StructField[]>;
  /** Kernel name → its struct (from `extern "C" __global__ void [__launch_bounds__(n)] name(Struct p)`). */
  readonly kernelStruct: Map<string, string>;

  constructor(readonly file: string) {
    parseDefines(readFileSync(`${BACKEND_CUDA_SOURCE_DIR}common.cuh`, 'utf8'), this.defines);
    this.source = readFileSync(`${BACKEND_CUDA_SOURCE_DIR}${file}`, 'utf8');
    parseDefines(this.source, this.defines);
    this.structs = parseStructs(this.source, this.defines);
    this.kernelStruct = new Map(
      [...this.source.matchAll(/extern "C" __global__ void (?:__launch_bounds__\(\d+\) )?(\w+)\((\w+) p\)/g)].map((m) => [m[1], m[2]]),
    );
  }

  /** `kernel`'s parameter bytes read by its struct; fails the test if they are shorter than the struct. */
  decode(kernel: string, params: Uint8Array): Decoded {
    const struct = this.kernelStruct.get(kernel);
    if (struct === undefined) throw new Error(`emulated device: no kernel ${kernel} in ${this.file}`);
    const view = new DataView(params.buffer, params.byteOffset, params.byteLength);
    const fields = this.structs.get(struct)!;
    const last = fields[fields.length - 1];
    expect(params.byteLength, `${kernel}: parameter bytes`).toBeGreaterThanOrEqual(last.offset + fieldSize(last.kind) * last.count);
    const out: Decoded = {};
    for (const f of fields) {
      const read = (i: number) => {
        const at = f.offset + i * fieldSize(f.kind);
        return f.kind === 'ptr' ? view.getBigUint64(at, true)
          : f.kind === 'i64' ? Number(view.getBigInt64(at, true))
            : f.kind === 'i32' ? view.getInt32(at, true) : view.getFloat32(at, true);
      };
      out[f.name] = f.count === 1 ? read(0) : Array.from({ length: f.count }, (_, i) => read(i));
    }
    return out;
  }
}

// ---- emulated device -----------------------------------------------------------------------------

/** Each allocation at its own 2^32-aligned address, so a pointer is (block, byte offset); fresh memory is NaN. */
export class EmulatedMemory {
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

/** A launch's shape: launch1d's grid-stride launches get 256-thread blocks. */
export type Launch = { grid: [number, number]; block: number };
export type LaunchHandler = (mod: string, kernel: string, launch: Launch, params: Uint8Array) => void;

/** A CudaDevice over `mem` whose launches (launch1d's only when n > 0) go to `onLaunch`. */
export function emulatedDevice(mem: EmulatedMemory, onLaunch: LaunchHandler): CudaDevice {
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
      if (n > 0) onLaunch(mod, kernel, { grid: [Math.ceil(n / 256), 1], block: 256 }, params);
    },
    launch: (mod: string, kernel: string, grid: number[], block: number, params: Uint8Array) =>
      onLaunch(mod, kernel, { grid: [grid[0], grid[1] ?? 1], block }, params),
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

// ---- the stand-in backend ------------------------------------------------------------------------

/**
 * Registers `backendName`: a poisoning CudaBackend on `device` with `kernels`, every other cpu kernel
 * through the cpu fallback. Undo with removeEmulatedBackend.
 */
export function registerEmulatedBackend(backendName: string, kernels: readonly tf.KernelConfig[], device: () => CudaDevice): void {
  for (const c of kernels) tf.registerKernel({ ...c, backendName });
  for (const c of tf.getKernelsForBackend('cpu')) {
    if (tf.getKernel(c.kernelName, backendName) === undefined) tf.registerKernel({ ...cpuFallback(c), backendName });
  }
  tf.registerBackend(backendName, () => {
    const be = new CudaBackend(device());
    be.poison = true;
    return be;
  }, 0);
}

export function removeEmulatedBackend(backendName: string): void {
  for (const c of tf.getKernelsForBackend(backendName)) tf.unregisterKernel(c.kernelName, backendName);
  tf.removeBackend(backendName);
}

/** One line per failed op-case row. */
export const caseFailures = (rows: readonly OpResult[]): string[] =>
  rows.filter((r) => !r.pass).map((r) => `${r.name} ${r.what}: err ${r.maxErr} ${r.detail}`);
