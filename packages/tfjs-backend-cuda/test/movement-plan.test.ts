/**
 * The movement kernels' host-side plans, checked without a GPU: each test replays the index math of
 * the kernel in cuda/movement.cu (same loops, same formulas) over a plan and compares the result with
 * tfjs cpu's op, for many shapes, perms, begins, paddings, reps and ranges.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@sigattn/common';
import {
  bits32,
  collapseGather,
  concatLaunches,
  concatPlan,
  isContiguousGather,
  padPlan,
  rangeIsAffine,
  rangeLength,
  slicePlan,
  stridedSliceSpec,
  tilePlan,
  transposePlan,
  MOVE_MAX_DIMS,
  type ConcatLaunch,
  type ConcatPlan,
  type GatherPlan,
  type PadPlan,
} from '../src/kernels/movement.js';
import { sizeOf, stridesOf } from '../src/kernels/util.js';
import { deviceToInt32, rangeSerial } from './movement-device.js';

// ---- The kernels' index math, line for line ----------------------------------------------------

/** gather_b32 (after the host's contiguous check, which a copy of n elements from inOffset replaces). */
function runGather(plan: GatherPlan, input: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n).fill(NaN);
  if (n === 0) return out;
  if (isContiguousGather(plan)) return input.slice(plan.inOffset, plan.inOffset + n);
  expect(plan.outShape.length).toBeLessThanOrEqual(MOVE_MAX_DIMS);
  for (let i = 0; i < n; i++) {
    let rem = i;
    let src = plan.inOffset;
    for (let d = plan.outShape.length - 1; d >= 0; d--) {
      const size = plan.outShape[d];
      const c = rem % size;
      rem = Math.floor(rem / size);
      src += c * plan.inStrides[d];
    }
    expect(src >= 0 && src < input.length, `gather reads element ${src} of ${input.length}`).toBe(true);
    out[i] = input[src];
  }
  return out;
}

/** pad_b32. */
function runPad(plan: PadPlan, input: Float32Array, n: number, value: number): Float32Array {
  const out = new Float32Array(n).fill(NaN);
  const inStride = stridesOf(plan.inShape);
  expect(plan.outShape.length).toBeLessThanOrEqual(6);
  for (let i = 0; i < n; i++) {
    let rem = i;
    let src = 0;
    let inside = true;
    for (let d = plan.outShape.length - 1; d >= 0; d--) {
      const size = plan.outShape[d];
      const c = (rem % size) - plan.before[d];
      rem = Math.floor(rem / size);
      inside = inside && c >= 0 && c < plan.inShape[d];
      src += c * inStride[d];
    }
    out[i] = inside ? input[src] : value;
  }
  return out;
}

/** concat_b32 over every launch, or the per-input copies when outer is 1 (as the host does). */
function runConcat(plan: ConcatPlan, launches: ConcatLaunch[], inputs: Float32Array[], n: number): Float32Array {
  const out = new Float32Array(n).fill(NaN);
  for (const launch of launches) {
    if (plan.outer === 1) {
      launch.inputs.forEach((k, j) => out.set(inputs[k], launch.colStart + launch.colOffsets[j]));
      continue;
    }
    const total = plan.outer * launch.width;
    for (let i = 0; i < total; i++) {
      const row = Math.floor(i / launch.width);
      const col = i - row * launch.width;
      let k = 0;
      while (k + 1 < launch.inputs.length && launch.colOffsets[k + 1] <= col) k++;
      const inner = plan.inners[launch.inputs[k]];
      out[row * plan.outInner + launch.colStart + col] = inputs[launch.inputs[k]][row * inner + col - launch.colOffsets[k]];
    }
  }
  return out;
}

/** range_affine_* and range_serial_*. */
function runRange(start: number, step: number, size: number, dtype: 'float32' | 'int32'): number[] {
  const out: number[] = [];
  if (rangeIsAffine(start, step, size, dtype)) {
    if (dtype === 'float32') {
      // fmaf(i, step, start) with its operands and result exact (what rangeIsAffine promises).
      const [s, t] = [Math.fround(start), Math.fround(step)];
      expect([s, t]).toEqual([start, step]);
      for (let i = 0; i < size; i++) out.push(Math.fround(i * t + s));
    } else {
      const first = bits32(start, 'int32');
      const stepWord = Number(BigInt.asIntN(32, BigInt(step)));
      for (let i = 0; i < size; i++) out.push((first + Math.imul(i, stepWord)) | 0);
    }
    return out;
  }
  return rangeSerial(start, step, size, dtype === 'float32');
}

// ---- helpers -----------------------------------------------------------------------------------

const rng = new Rng(12);
function values(n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniform(-2, 2));
}
function randomShape(rank: number, max = 5): number[] {
  return Array.from({ length: rank }, () => 1 + rng.int(max));
}
function cpu(f: () => tf.Tensor): Float32Array {
  return tf.tidy(() => Float32Array.from(f().dataSync()));
}
function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('gather plans', () => {
  it('collapse merges only dims that walk one arithmetic sequence', () => {
    expect(collapseGather({ outShape: [2, 3, 4], inStrides: [12, 4, 1], inOffset: 5 })).toEqual({ outShape: [24], inStrides: [1], inOffset: 5 });
    expect(collapseGather({ outShape: [2, 1, 3, 4], inStrides: [1, 99, 8, 2], inOffset: 0 })).toEqual({ outShape: [2, 12], inStrides: [1, 2], inOffset: 0 });
    expect(collapseGather({ outShape: [3, 2, 4], inStrides: [0, 0, 1], inOffset: 0 })).toEqual({ outShape: [6, 4], inStrides: [0, 1], inOffset: 0 });
    expect(collapseGather({ outShape: [1, 1], inStrides: [7, 3], inOffset: 2 })).toEqual({ outShape: [], inStrides: [], inOffset: 2 });
    expect(isContiguousGather(transposePlan([2, 1, 3], [1, 0, 2]))).toBe(true);
    expect(isContiguousGather(slicePlan([4, 5, 6], [1, 0, 0], [2, 5, 6]))).toBe(true);
    expect(isContiguousGather(slicePlan([4, 5, 6], [1, 1, 0], [2, 4, 6]))).toBe(false);
  });

  it('Transpose: every perm of rank 1–4 and sampled perms of rank 5–6 match tfjs cpu', () => {
    const shapes = [[7], [3, 5], [1, 4], [2, 3, 4], [3, 1, 5], [2, 3, 1, 4], [3, 2, 5, 2], [1, 1, 3, 1]];
    for (const shape of shapes) {
      const x = values(sizeOf(shape));
      for (const perm of permutations(shape.length)) {
        const want = cpu(() => tf.transpose(tf.tensor(x, shape), perm));
        expect(runGather(transposePlan(shape, perm), x, want.length), `[${shape}] perm [${perm}]`).toEqual(want);
      }
    }
    for (const rank of [5, 6]) {
      for (let trial = 0; trial < 12; trial++) {
        const shape = randomShape(rank, 4);
        const perm = Array.from(rng.permutation(rank));
        const x = values(sizeOf(shape));
        const want = cpu(() => tf.transpose(tf.tensor(x, shape), perm));
        expect(runGather(transposePlan(shape, perm), x, want.length), `[${shape}] perm [${perm}]`).toEqual(want);
      }
    }
  });

  it('Slice: random begins and sizes (incl. -1 and empty) of rank 1–5 match tfjs cpu', () => {
    for (let trial = 0; trial < 200; trial++) {
      const rank = 1 + (trial % 5);
      const shape = randomShape(rank, 6);
      const begin = shape.map((s) => rng.int(s + 1));
      const size = shape.map((s, d) => (rng.int(4) === 0 ? -1 : rng.int(s - begin[d] + 1)));
      const x = values(sizeOf(shape));
      const xt = { shape } as unknown as tf.Tensor;
      const [b, sz] = tf.slice_util.parseSliceParams(xt, begin, size);
      const want = cpu(() => tf.slice(tf.tensor(x, shape), begin, size));
      expect(runGather(slicePlan(shape, b, sz), x, sizeOf(sz)), `[${shape}] begin [${begin}] size [${size}]`).toEqual(want);
    }
  });

  it('SplitV: one slice plan per output matches tf.split', () => {
    for (let trial = 0; trial < 40; trial++) {
      const rank = 1 + (trial % 5);
      const shape = randomShape(rank, 6);
      const axis = rng.int(rank);
      const splits: number[] = [];
      for (let left = shape[axis]; left > 0;) {
        const s = rng.int(left + 1);
        splits.push(s);
        left -= s;
      }
      if (splits.length === 0) splits.push(0);
      splits[splits.length - 1] += shape[axis] - splits.reduce((a, b) => a + b, 0);
      const x = values(sizeOf(shape));
      const want = tf.tidy(() => tf.split(tf.tensor(x, shape), splits, axis).map((t) => Float32Array.from(t.dataSync())));
      const begin = shape.map(() => 0);
      splits.forEach((s, j) => {
        const size = [...shape];
        size[axis] = s;
        expect(runGather(slicePlan(shape, begin, size), x, sizeOf(size)), `[${shape}] splits [${splits}] axis ${axis} output ${j}`).toEqual(want[j]);
        begin[axis] += s;
      });
    }
  });

  it('Tile: random reps of rank 1–6 match tfjs cpu', () => {
    for (let trial = 0; trial < 60; trial++) {
      const rank = 1 + (trial % 6);
      const shape = randomShape(rank, rank > 4 ? 3 : 5);
      const reps = shape.map(() => 1 + rng.int(3));
      const x = values(sizeOf(shape));
      const want = cpu(() => tf.tile(tf.tensor(x, shape), reps));
      expect(runGather(tilePlan(shape, reps), x, want.length), `[${shape}] reps [${reps}]`).toEqual(want);
    }
  });

  it('StridedSlice: negative begins and strides, masks, shrink and new axes match tfjs cpu', () => {
    const shape = [4, 5, 6];
    const x = values(sizeOf(shape));
    type Args = [number[], number[], number[], number, number, number, number, number];
    const run = ([begin, end, strides, beginMask, endMask, ellipsisMask, newAxisMask, shrinkAxisMask]: Args) => tf.tidy(() => {
      const t = tf.stridedSlice(tf.tensor(x, shape), begin, end, strides, beginMask, endMask, ellipsisMask, newAxisMask, shrinkAxisMask);
      return { shape: t.shape, values: Float32Array.from(t.dataSync()) };
    });
    // [args, the reference's args where tfjs cpu's own strided path fails on the case, the dims that shrink]
    const cases: [Args, Args | null, number[]][] = [
      // begin, end, strides, beginMask, endMask, ellipsisMask, newAxisMask, shrinkAxisMask
      [[[0, 0, 0], [4, 5, 6], [1, 1, 1], 0, 0, 0, 0, 0], null, []],
      [[[1, 0, 2], [3, 5, 6], [1, 1, 1], 0, 0, 0, 0, 0], null, []],
      [[[0, 1, 0], [4, 5, 6], [2, 2, 3], 0, 0, 0, 0, 0], null, []],
      [[[-1, -1, -1], [-5, -6, -7], [-1, -1, -1], 0, 0, 0, 0, 0], null, []],
      [[[3, 4, 5], [0, 0, 0], [-2, -3, -2], 0, 0, 0, 0, 0], null, []],
      [[[-3, 1, -2], [4, -1, 6], [1, 2, 1], 0, 0, 0, 0, 0], null, []],
      [[[0, 0], [1, 6], [1, 2], 0, 0, 1, 0, 0], null, []],
      [[[1, 0, 1], [3, 0, 5], [1, 1, 2], 0, 0, 0, 2, 0], null, []],
      [[[0, 0, 0], [4, 5, 6], [1, 1, 1], 7, 7, 0, 0, 0], null, []],
      [[[2, 0, 0], [3, 5, 6], [1, 1, 1], 0, 0, 0, 0, 1], null, []],
      // tfjs cpu reads out of bounds when a dim shrinks next to a non-unit stride: compare with the
      // unshrunk slice, squeezed.
      [[[2, 0, 0], [3, 5, 6], [1, 1, 2], 0, 0, 0, 0, 1], [[2, 0, 0], [3, 5, 6], [1, 1, 2], 0, 0, 0, 0, 0], [0]],
      [[[0, 3, 0], [4, 4, 6], [1, 1, -1], 5, 5, 0, 0, 2], [[0, 3, 0], [4, 4, 6], [1, 1, -1], 5, 5, 0, 0, 0], [1]],
    ];
    for (const [args, reference, shrunk] of cases) {
      const label = JSON.stringify(args);
      const want = run(reference ?? args);
      const wantShape = want.shape.filter((_, d) => !shrunk.includes(d));
      const [begin, end, strides, beginMask, endMask, ellipsisMask, newAxisMask, shrinkAxisMask] = args;
      const { plan, outShape } = stridedSliceSpec(shape, { begin, end, strides, beginMask, endMask, ellipsisMask, newAxisMask, shrinkAxisMask });
      expect(outShape, label).toEqual(wantShape);
      const got = plan === null ? x : runGather(plan, x, sizeOf(outShape));
      expect(got, label).toEqual(want.values);
    }
    // begin after end with stride 1: an empty slice (tfjs cpu throws on it).
    const empty = stridedSliceSpec(shape, { begin: [3, 0, 0], end: [1, 5, 6], strides: [1, 1, 1], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 });
    expect(empty.outShape).toEqual([0, 5, 6]);
  });
});

describe('PadV2 plans', () => {
  it('random paddings on every side of rank 1–6 match tfjs cpu', () => {
    for (let trial = 0; trial < 150; trial++) {
      const rank = 1 + (trial % 6);
      const shape = randomShape(rank, rank > 4 ? 3 : 5);
      const paddings = shape.map(() => [rng.int(3) === 0 ? 0 : rng.int(3), rng.int(3) === 0 ? 0 : rng.int(3)] as [number, number]);
      const value = rng.int(2) === 0 ? 0 : rng.uniform(-3, 3);
      const x = values(sizeOf(shape));
      const want = cpu(() => tf.pad(tf.tensor(x, shape), paddings, value));
      const plan = padPlan(shape, paddings);
      expect(runPad(plan, x, want.length, Math.fround(value)), `[${shape}] paddings ${JSON.stringify(paddings)}`).toEqual(want);
    }
  });

  it('merges unpadded dims into the dim outside them', () => {
    expect(padPlan([2, 3, 4], [[1, 1], [0, 0], [0, 0]])).toEqual({ outShape: [48], inShape: [24], before: [12] });
    expect(padPlan([2, 3, 4], [[0, 0], [1, 0], [0, 0]])).toEqual({ outShape: [2, 16], inShape: [2, 12], before: [0, 4] });
    expect(padPlan([1, 3, 1], [[0, 0], [0, 0], [2, 1]])).toEqual({ outShape: [3, 4], inShape: [3, 1], before: [0, 2] });
  });

  it('an empty input pads to all constant', () => {
    const plan = padPlan([2, 0, 3], [[0, 0], [1, 2], [0, 0]]);
    expect(runPad(plan, new Float32Array(0), 2 * 3 * 3, 7)).toEqual(new Float32Array(18).fill(7));
  });
});

describe('Concat plans', () => {
  it('random inputs (some empty) on every axis of rank 1–5 match tfjs cpu, in one launch or chunked', () => {
    for (let trial = 0; trial < 80; trial++) {
      const rank = 1 + (trial % 5);
      const base = randomShape(rank, 4);
      const axis = rng.int(rank);
      const count = 1 + rng.int(trial % 10 === 0 ? 20 : 5);
      const shapes = Array.from({ length: count }, () => base.map((s, d) => (d === axis ? rng.int(4) : s)));
      const xs = shapes.map((s) => values(sizeOf(s)));
      const want = cpu(() => tf.concat(xs.map((x, k) => tf.tensor(x, shapes[k])), axis));
      const plan = concatPlan(shapes, axis);
      for (const maxInputs of [16, 3, 1]) {
        const launches = concatLaunches(plan, maxInputs);
        for (const l of launches) expect(l.inputs.length).toBeLessThanOrEqual(maxInputs);
        expect(runConcat(plan, launches, xs, want.length), `shapes ${JSON.stringify(shapes)} axis ${axis} max ${maxInputs}`).toEqual(want);
      }
    }
  });

  it('Pack (stack) is a concat of the inputs with a unit axis', () => {
    const shape = [3, 4];
    const xs = [values(12), values(12), values(12)];
    for (const axis of [0, 1, 2]) {
      const expanded = [...shape];
      expanded.splice(axis, 0, 1);
      const plan = concatPlan(xs.map(() => expanded), axis);
      const want = cpu(() => tf.stack(xs.map((x) => tf.tensor(x, shape)), axis));
      expect(runConcat(plan, concatLaunches(plan), xs, want.length)).toEqual(want);
    }
  });
});

describe('creation and index kernels', () => {
  it('Range: length, step and values match tfjs cpu (closed form where exact, else the replayed recurrence)', () => {
    const cases: [number, number, number][] = [
      [0, 10, 1], [0, 10, 3], [5, -3, 1], [5, -3, -2], [10, 0, 0.5], [0, 1, 0.1], [-2.5, 7, 0.25], [1, 1, 1], [0, 5, -1],
      [0.3, 100, 0.7], [-1e6, 1e6, 12345], [0, 3000, 1.1], [1.5, 20, 2], [0, 1, 1 / 3], [3, 1e3, 7], [2 ** 23, 2 ** 23 + 10, 1],
    ];
    for (const dtype of ['float32', 'int32'] as const) {
      for (const [start, stop, step] of cases) {
        const want = Array.from(tf.tidy(() => tf.range(start, stop, step, dtype).dataSync()));
        const { size, step: used } = rangeLength(start, stop, step);
        expect(size, `${dtype} range(${start}, ${stop}, ${step})`).toBe(want.length);
        expect(runRange(start, used, size, dtype), `${dtype} range(${start}, ${stop}, ${step})`).toEqual(want);
      }
    }
    expect(rangeIsAffine(0, 0.1, 10, 'float32')).toBe(false);
    expect(rangeIsAffine(-2.5, 0.25, 38, 'float32')).toBe(true);
    expect(rangeIsAffine(0, 1.5, 10, 'int32')).toBe(false);
  });

  it('Range: the closed form equals the accumulated float32 values wherever rangeIsAffine says so', () => {
    let checked = 0;
    for (let trial = 0; trial < 300; trial++) {
      const k = rng.int(6);
      const start = (rng.int(2001) - 1000) / 2 ** k;
      const step = (1 + rng.int(50)) / 2 ** rng.int(6) * (rng.int(2) === 0 ? 1 : -1);
      const size = 1 + rng.int(200);
      if (!rangeIsAffine(start, step, size, 'float32')) continue;
      const acc: number[] = [Math.fround(start)];
      for (let i = 1; i < size; i++) acc.push(Math.fround(acc[i - 1] + step));
      expect(runRange(start, step, size, 'float32'), `start ${start} step ${step} size ${size}`).toEqual(acc);
      checked++;
    }
    expect(checked).toBeGreaterThan(200);
  });

  it('Cast float32 → int32: the device ToInt32 matches Int32Array.from, bits32 matches the typed arrays', () => {
    const xs = [0, -0, 0.5, -0.5, 1.9999, -1.9999, 2147483647, 2147483648, -2147483648, -2147483649, 3e9, -3e9, 1e20, -1e20,
      4294967296 * 5 + 7, NaN, Infinity, -Infinity, 1.4e-45, 16777217];
    const f32 = Float32Array.from(xs);
    expect(Array.from(f32, deviceToInt32)).toEqual(Array.from(Int32Array.from(f32)));
    expect(bits32(1, 'float32')).toBe(0x3f800000);
    expect(bits32(-1, 'float32')).toBe(0xbf800000 | 0);
    expect(bits32(-1.7, 'int32')).toBe(-1);
    expect(bits32(1, 'bool')).toBe(1);
  });

  it('OneHot and GatherV2 index math match tfjs cpu (out-of-range one-hot indices give all off)', () => {
    const indices = Int32Array.from({ length: 37 }, () => rng.int(9) - 1);
    const depth = 7;
    const want = cpu(() => tf.oneHot(tf.tensor1d(indices, 'int32'), depth, 0.75, -0.25, 'float32'));
    const got = Float32Array.from({ length: indices.length * depth }, (_, i) => {
      const event = Math.floor(i / depth);
      return indices[event] === i - event * depth ? 0.75 : -0.25;
    });
    expect(got).toEqual(want);

    const shape = [3, 5, 4];
    const x = values(60);
    for (const axis of [0, 1, 2]) {
      const idx = Int32Array.from({ length: 6 }, () => rng.int(shape[axis]));
      const g = cpu(() => tf.gather(tf.tensor(x, shape), tf.tensor2d(idx, [2, 3], 'int32'), axis));
      const dimSize = shape[axis];
      const inner = sizeOf(shape.slice(axis + 1));
      const count = idx.length;
      const out = Float32Array.from({ length: g.length }, (_, i) => {
        const k = i % inner;
        const t = Math.floor(i / inner);
        const j = t % count;
        const o = Math.floor(t / count);
        const index = idx[j];
        return index >= 0 && index < dimSize ? x[(o * dimSize + index) * inner + k] : 0;
      });
      expect(out, `axis ${axis}`).toEqual(g);
    }
  });
});
