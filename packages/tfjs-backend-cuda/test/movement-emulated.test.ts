/**
 * The movement kernels' host code end to end without a GPU: the real CudaBackend and kernel configs run
 * on an emulated device whose launches decode the parameter bytes by the structs declared in
 * cuda/movement.cu (parsed from the source, so a field written in the wrong order or width fails here)
 * and replay each kernel's loop in TS. The movement op cases then run against tfjs cpu with poisoned
 * outputs; every other kernel (the gradients' Mul/Sum, …) goes through the cpu fallback.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import type { CudaDevice } from '../src/device.js';
import { BACKEND_CUDA_SOURCE_DIR } from '../src/device.js';
import { CudaBackend } from '../src/backend.js';
import { cpuFallback } from '../src/fallback.js';
import { movementKernels } from '../src/kernels/movement.js';
import { runOpCases } from '../src/testing/index.js';
import { movementCases } from '../src/testing/cases/movement.js';

// ---- struct layouts from the .cu source --------------------------------------------------------

type Field = { name: string; kind: 'ptr' | 'i64' | 'i32'; count: number; offset: number };
const source = readFileSync(`${BACKEND_CUDA_SOURCE_DIR}movement.cu`, 'utf8');
const defines: Record<string, number> = { SIGATTN_MAX_RANK: 6 };
for (const m of source.matchAll(/^#define (\w+) (\d+)$/gm)) defines[m[1]] = Number(m[2]);

function parseStructs(): Map<string, Field[]> {
  const structs = new Map<string, Field[]>();
  for (const m of source.matchAll(/struct (\w+) \{([^}]*)\};/g)) {
    const fields: Field[] = [];
    let offset = 0;
    for (const line of m[2].split('\n')) {
      const f = /^\s*(const )?(b32\*|int\*|long long|int|b32) (\w+)(?:\[(\w+)\])?;/.exec(line);
      if (!f) continue;
      const kind = f[2].endsWith('*') ? 'ptr' : f[2] === 'long long' ? 'i64' : 'i32';
      const size = kind === 'i32' ? 4 : 8;
      const count = f[4] === undefined ? 1 : (defines[f[4]] ?? Number(f[4]));
      offset = Math.ceil(offset / size) * size;
      fields.push({ name: f[3], kind, count, offset });
      offset += size * count;
    }
    structs.set(m[1], fields);
  }
  return structs;
}
const STRUCTS = parseStructs();
/** Kernel name → its struct (from `extern "C" __global__ void name(Struct p)`). */
const KERNEL_STRUCT = new Map([...source.matchAll(/extern "C" __global__ void (\w+)\((\w+) p\)/g)].map((m) => [m[1], m[2]]));

type Decoded = Record<string, bigint | number | (bigint | number)[]>;
function decode(kernel: string, params: Uint8Array): Decoded {
  const struct = KERNEL_STRUCT.get(kernel);
  if (struct === undefined) throw new Error(`emulated device: no kernel ${kernel} in movement.cu`);
  const view = new DataView(params.buffer, params.byteOffset, params.byteLength);
  const fields = STRUCTS.get(struct)!;
  const last = fields[fields.length - 1];
  expect(params.byteLength, `${kernel}: parameter bytes`).toBeGreaterThanOrEqual(last.offset + (last.kind === 'i32' ? 4 : 8) * last.count);
  const out: Decoded = {};
  for (const f of fields) {
    const read = (i: number) => {
      const at = f.offset + i * (f.kind === 'i32' ? 4 : 8);
      return f.kind === 'ptr' ? view.getBigUint64(at, true) : f.kind === 'i64' ? Number(view.getBigInt64(at, true)) : view.getInt32(at, true);
    };
    out[f.name] = f.count === 1 ? read(0) : Array.from({ length: f.count }, (_, i) => read(i));
  }
  return out;
}

// ---- emulated device ---------------------------------------------------------------------------

/** Each allocation at its own 2^32-aligned address, so a pointer is (block, byte offset). */
class EmulatedMemory {
  private readonly blocks = new Map<bigint, DataView>();
  private next = 1n;
  alloc(bytes: number): bigint {
    const base = this.next++ << 32n;
    this.blocks.set(base, new DataView(new ArrayBuffer(bytes)));
    return base;
  }
  release(ptr: bigint): void {
    if (!this.blocks.delete(ptr)) throw new Error(`emulated device: release of ${ptr.toString(16)}, not an allocation`);
  }
  word(ptr: bigint, index: number): { view: DataView; at: number } {
    if (ptr === 0n) throw new Error('emulated device: null pointer dereferenced');
    const view = this.blocks.get((ptr >> 32n) << 32n);
    const at = Number(ptr & 0xffffffffn) + index * 4;
    if (view === undefined || at < 0 || at + 4 > view.byteLength) throw new Error(`emulated device: word ${index} of ${ptr.toString(16)} is out of bounds`);
    return { view, at };
  }
  get(ptr: bigint, index: number): number {
    const { view, at } = this.word(ptr, index);
    return view.getUint32(at, true);
  }
  set(ptr: bigint, index: number, value: number): void {
    const { view, at } = this.word(ptr, index);
    view.setUint32(at, value >>> 0, true);
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const asFloat = (bits: number) => ((u32[0] = bits), f32[0]);
const asBits = (x: number) => ((f32[0] = x), u32[0]);
/** to_int32 in movement.cu. */
function toInt32(x: number): number {
  if (x > -2147483649 && x < 2147483648) return Math.trunc(x) | 0;
  if (!Number.isFinite(x)) return 0;
  let m = Math.trunc(x) % 4294967296;
  if (m < 0) m += 4294967296;
  return m | 0;
}
const hilo = (hi: number, lo: number) => {
  const v = new DataView(new ArrayBuffer(8));
  v.setInt32(0, lo, true);
  v.setInt32(4, hi, true);
  return v.getFloat64(0, true);
};

function runKernel(mem: EmulatedMemory, kernel: string, p: Decoded): void {
  const name = kernel.replace(/_wide$/, '');
  const n = p.n as number;
  const out = p.out as bigint;
  const ints = (key: string) => p[key] as number[];
  switch (name) {
    case 'gather_b32':
      for (let i = 0; i < n; i++) {
        let rem = i;
        let src = p.inOffset as number;
        for (let d = (p.rank as number) - 1; d >= 0; d--) {
          const size = ints('outShape')[d];
          src += (rem % size) * ints('inStride')[d];
          rem = Math.floor(rem / size);
        }
        mem.set(out, i, mem.get(p.in as bigint, src));
      }
      return;
    case 'pad_b32':
      for (let i = 0; i < n; i++) {
        let rem = i;
        let src = 0;
        let inside = true;
        for (let d = (p.rank as number) - 1; d >= 0; d--) {
          const size = ints('outShape')[d];
          const c = (rem % size) - ints('before')[d];
          rem = Math.floor(rem / size);
          inside = inside && c >= 0 && c < ints('inShape')[d];
          src += c * ints('inStride')[d];
        }
        mem.set(out, i, inside ? mem.get(p.in as bigint, src) : (p.value as number));
      }
      return;
    case 'concat_b32': {
      const width = p.width as number;
      const ins = p.in as bigint[];
      for (let i = 0; i < n; i++) {
        const row = Math.floor(i / width);
        const col = i - row * width;
        let k = 0;
        while (k + 1 < (p.count as number) && ints('colOffset')[k + 1] <= col) k++;
        mem.set(out, row * (p.outInner as number) + (p.colStart as number) + col, mem.get(ins[k], row * ints('inner')[k] + col - ints('colOffset')[k]));
      }
      return;
    }
    case 'gather_axis_b32': {
      const [inner, count, dimSize] = [p.inner as number, p.count as number, p.dimSize as number];
      for (let i = 0; i < n; i++) {
        const k = i % inner;
        const t = Math.floor(i / inner);
        const index = mem.get(p.indices as bigint, t % count) | 0;
        const o = Math.floor(t / count);
        mem.set(out, i, index >= 0 && index < dimSize ? mem.get(p.x as bigint, (o * dimSize + index) * inner + k) : 0);
      }
      return;
    }
    case 'one_hot_b32':
      for (let i = 0; i < n; i++) {
        const event = Math.floor(i / (p.depth as number));
        const c = i - event * (p.depth as number);
        mem.set(out, i, (mem.get(p.indices as bigint, event) | 0) === c ? (p.on as number) : (p.off as number));
      }
      return;
    case 'fill_b32':
      for (let i = 0; i < n; i++) mem.set(out, i, p.value as number);
      return;
    case 'cast_f32_i32':
      for (let i = 0; i < n; i++) mem.set(out, i, toInt32(asFloat(mem.get(p.in as bigint, i))));
      return;
    case 'cast_i32_f32':
      for (let i = 0; i < n; i++) mem.set(out, i, asBits(mem.get(p.in as bigint, i) | 0));
      return;
    case 'cast_f32_bool':
      for (let i = 0; i < n; i++) mem.set(out, i, (mem.get(p.in as bigint, i) & 0x7fffffff) !== 0 ? 1 : 0);
      return;
    case 'cast_i32_bool':
      for (let i = 0; i < n; i++) mem.set(out, i, mem.get(p.in as bigint, i) !== 0 ? 1 : 0);
      return;
    case 'range_affine_f32': {
      const start = Math.fround(hilo(p.startHi as number, p.startLo as number));
      const step = Math.fround(hilo(p.stepHi as number, p.stepLo as number));
      for (let i = 0; i < n; i++) mem.set(out, i, asBits(i * step + start));
      return;
    }
    case 'range_affine_i32':
      for (let i = 0; i < n; i++) mem.set(out, i, ((p.startLo as number) + Math.imul(i, p.stepLo as number)) | 0);
      return;
    case 'range_serial_f32':
    case 'range_serial_i32': {
      const isFloat = name.endsWith('f32');
      const step = hilo(p.stepHi as number, p.stepLo as number);
      const start = hilo(p.startHi as number, p.startLo as number);
      let v = isFloat ? Math.fround(start) : toInt32(start);
      for (let i = 0; i < n; i++) {
        if (i > 0) v = isFloat ? Math.fround(v + step) : toInt32(v + step);
        mem.set(out, i, isFloat ? asBits(v) : v);
      }
      return;
    }
    default:
      throw new Error(`emulated device: no emulation of ${kernel}`);
  }
}

const launched = new Map<string, number>();

function emulatedDevice(mem: EmulatedMemory): CudaDevice {
  const launch = (mod: string, kernel: string, params: Uint8Array) => {
    expect(mod).toBe('movement');
    launched.set(kernel, (launched.get(kernel) ?? 0) + 1);
    runKernel(mem, kernel, decode(kernel, params));
  };
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
      if (n > 0) launch(mod, kernel, params);
    },
    launch: (mod: string, kernel: string, _grid: number[], _block: number, params: Uint8Array) => launch(mod, kernel, params),
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

// ---- the suite ---------------------------------------------------------------------------------

const BACKEND = 'cuda-emulated';
const mem = new EmulatedMemory();

describe('movement kernels on an emulated device', () => {
  afterAll(() => {
    for (const c of tf.getKernelsForBackend(BACKEND)) tf.unregisterKernel(c.kernelName, BACKEND);
    tf.removeBackend(BACKEND);
  });

  it('the launch structs parse from movement.cu', () => {
    expect(STRUCTS.get('GatherParams')!.map((f) => f.offset)).toEqual([0, 8, 16, 24, 32, 40, 136]);
    expect(STRUCTS.get('ConcatParams')!.find((f) => f.name === 'inner')!.offset).toBe(304);
    expect(KERNEL_STRUCT.size).toBeGreaterThanOrEqual(19);
  });

  it('agree with tfjs cpu on every movement op case, with outputs poisoned', async () => {
    for (const c of movementKernels) tf.registerKernel({ ...c, backendName: BACKEND });
    for (const c of tf.getKernelsForBackend('cpu')) {
      if (tf.getKernel(c.kernelName, BACKEND) === undefined) tf.registerKernel({ ...cpuFallback(c), backendName: BACKEND });
    }
    tf.registerBackend(BACKEND, () => {
      const be = new CudaBackend(emulatedDevice(mem));
      be.poison = true;
      return be;
    }, 0);
    const rows = await runOpCases(movementCases, BACKEND);
    const failures = rows.filter((r) => !r.pass).map((r) => `${r.name} ${r.what}: err ${r.maxErr} ${r.detail}`);
    expect(failures).toEqual([]);
    await tf.setBackend('cpu');
    // Every kernel of the .cu file ran at least once, except the long-index variants.
    const narrow = [...KERNEL_STRUCT.keys()].filter((k) => !k.endsWith('_wide'));
    expect(narrow.filter((k) => !launched.has(k))).toEqual([]);
  }, 60_000);
});
