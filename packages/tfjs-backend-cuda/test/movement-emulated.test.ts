/**
 * The movement kernels' host code end to end without a GPU: the real CudaBackend and kernel configs run
 * on an emulated device whose launches decode the parameter bytes by the structs declared in
 * cuda/movement.cu (parsed from the source, so a field written in the wrong order or width fails here)
 * and replay each kernel's loop in TS. The movement op cases then run against tfjs cpu with poisoned
 * outputs; every other kernel (the gradients' Mul/Sum, …) goes through the cpu fallback.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { movementKernels } from '../src/kernels/movement.js';
import { runOpCases } from '../src/testing/index.js';
import { movementCases } from '../src/testing/cases/movement.js';
import { deviceToInt32, rangeSerial } from './movement-device.js';
import { CudaSourceLayout, EmulatedMemory, caseFailures, emulatedDevice, registerEmulatedBackend, removeEmulatedBackend, type Decoded, type Launch } from './emulated-device.js';

const layout = new CudaSourceLayout('movement.cu');
const STRUCTS = layout.structs;
const KERNEL_STRUCT = layout.kernelStruct;

// ---- the kernels of movement.cu in TS ----------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const asFloat = (bits: number) => ((u32[0] = bits), f32[0]);
const asBits = (x: number) => ((f32[0] = x), u32[0]);
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
      for (let i = 0; i < n; i++) mem.set(out, i, deviceToInt32(asFloat(mem.get(p.in as bigint, i))));
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
      rangeSerial(start, step, n, isFloat).forEach((v, i) => mem.set(out, i, isFloat ? asBits(v) : v));
      return;
    }
    default:
      throw new Error(`emulated device: no emulation of ${kernel}`);
  }
}

const mem = new EmulatedMemory();
const launched = new Map<string, number>();

function onLaunch(mod: string, kernel: string, _launch: Launch, params: Uint8Array): void {
  expect(mod).toBe('movement');
  launched.set(kernel, (launched.get(kernel) ?? 0) + 1);
  runKernel(mem, kernel, layout.decode(kernel, params));
}

// ---- the suite ---------------------------------------------------------------------------------

const BACKEND = 'cuda-emulated';

describe('movement kernels on an emulated device', () => {
  afterAll(() => removeEmulatedBackend(BACKEND));

  it('the launch structs parse from movement.cu', () => {
    expect(STRUCTS.get('GatherParams')!.map((f) => f.offset)).toEqual([0, 8, 16, 24, 32, 40, 136]);
    expect(STRUCTS.get('ConcatParams')!.find((f) => f.name === 'inner')!.offset).toBe(304);
    expect(KERNEL_STRUCT.size).toBeGreaterThanOrEqual(19);
  });

  it('agree with tfjs cpu on every movement op case, with outputs poisoned', async () => {
    registerEmulatedBackend(BACKEND, movementKernels, () => emulatedDevice(mem, onLaunch));
    expect(caseFailures(await runOpCases(movementCases, BACKEND))).toEqual([]);
    await tf.setBackend('cpu');
    // Every kernel of the .cu file ran at least once, except the long-index variants.
    const narrow = [...KERNEL_STRUCT.keys()].filter((k) => !k.endsWith('_wide'));
    expect(narrow.filter((k) => !launched.has(k))).toEqual([]);
  }, 60_000);
});
