/**
 * The reduce kernels checked without a GPU: `emulate` replays reduce_impl in cuda/reduce.cu over a
 * planReduce plan — which thread reads which element (warp rows, block rows, column slices), the
 * per-thread runs, the shuffle and shared-memory trees, float32 rounding of every add — with the same
 * ops (Sum, Max with its NaN rule, ArgMax with its NaN/tie mapping), and compares the results with tfjs
 * cpu for many shapes and axis sets. Every input element must be read exactly once per reduction.
 * Split plans replay both passes: pass 1 block by block over blockIdx.y's chunk of j (each partial
 * written exactly once), pass 2 a warp per output over the partials in their fixed lane/tree order.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@sigattn/common';
import { CHUNKS_BLOCK, ReduceMode, SPLIT_MIN_PER_THREAD, WARP_ROW_MAX, planReduce, reduceOffset, splitReduce, type ReducePlan } from '../src/kernels/reduce.js';
import { MAX_RANK, sizeOf } from '../src/kernels/util.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

interface Op<A> {
  init(): A;
  load(v: number, j: number): A;
  combine(a: A, b: A): A;
  finish(a: A, n: number): number;
}

const INT_MAX = 2 ** 31 - 1;
const sumOp: Op<number> = { init: () => 0, load: (v) => v, combine: (a, b) => Math.fround(a + b), finish: (a) => a };
const maxOp: Op<number> = {
  init: () => -Infinity,
  load: (v) => v,
  combine: (a, b) => (Number.isNaN(a) || a > b ? a : b),
  finish: (a, n) => (n === 0 ? NaN : a),
};
type Arg = { v: number; i: number };
const argMaxOp: Op<Arg> = {
  init: () => ({ v: -Infinity, i: INT_MAX }),
  load: (v, j) => (Number.isNaN(v) ? (j === 0 ? { v: Infinity, i: 0 } : { v: -Infinity, i: INT_MAX }) : { v, i: j }),
  combine: (a, b) => (a.v > b.v || (a.v === b.v && a.i < b.i) ? a : b),
  finish: (a, n) => (n === 0 || a.i === INT_MAX ? 0 : a.i),
};

/** __shfl_down_sync tree over 32 lanes: lane 0's result (out-of-range lanes read their own value). */
function warpReduce<A>(op: Op<A>, lanes: A[]): A {
  let v = lanes;
  for (let off = 16; off > 0; off >>= 1) v = v.map((x, l) => op.combine(x, l + off < 32 ? v[l + off] : x));
  return v[0];
}

/**
 * One layout of reduce_impl over the chunk [jBegin, jEnd) of every output: each output's accumulator
 * before finish(), as the kernel stores it (pass 1's partial, or finished when not split).
 */
function layoutPass<A>(plan: ReducePlan, op: Op<A>, jBegin: number, jEnd: number, load: (row: number, j: number) => A): A[] {
  if (plan.mode === ReduceMode.WarpRows) {
    expect(plan.grid * (plan.block / 32)).toBeGreaterThanOrEqual(plan.outer);
    return Array.from({ length: plan.outer }, (_, row) => {
      const lanes = Array.from({ length: 32 }, (_, lane) => {
        let acc = op.init();
        for (let j = jBegin + lane; j < jEnd; j += 32) acc = op.combine(acc, load(row, j));
        return acc;
      });
      return warpReduce(op, lanes);
    });
  }
  if (plan.mode === ReduceMode.BlockRows) {
    expect(plan.grid).toBe(plan.outer);
    const warps = plan.block / 32;
    return Array.from({ length: plan.outer }, (_, row) => {
      const threads = Array.from({ length: plan.block }, (_, t) => {
        let acc = op.init();
        for (let j = jBegin + t; j < jEnd; j += plan.block) acc = op.combine(acc, load(row, j));
        return acc;
      });
      const smem = Array.from({ length: warps }, (_, w) => warpReduce(op, threads.slice(32 * w, 32 * w + 32)));
      return warpReduce(op, Array.from({ length: 32 }, (_, l) => (l < warps ? smem[l] : op.init())));
    });
  }
  expect(plan.mode).toBe(ReduceMode.Columns);
  const slices = plan.block / 32;
  expect(plan.grid * 32).toBeGreaterThanOrEqual(plan.outer);
  return Array.from({ length: plan.outer }, (_, o) => {
    const part = Array.from({ length: slices }, (_, s) => {
      let acc = op.init();
      for (let j = jBegin + s; j < jEnd; j += slices) acc = op.combine(acc, load(o, j));
      return acc;
    });
    return part.reduce((r, p) => op.combine(r, p));
  });
}

/** reduce_impl, thread by thread (both passes of a split). `reads` counts how often each input element is read. */
function emulate<A>(plan: ReducePlan, x: Float32Array, op: Op<A>, reads: Int32Array): number[] {
  const load = (row: number, j: number) => {
    const off = reduceOffset(plan, row, j);
    reads[off]++;
    return op.load(x[off], j);
  };
  // Chunks: gridDim.y of them, none empty, together exactly [0, inner).
  expect(plan.chunks).toBeGreaterThanOrEqual(1);
  expect(plan.chunks).toBeLessThanOrEqual(65535);
  if (plan.chunks === 1) {
    expect(plan.chunkLen).toBe(plan.inner);
    return layoutPass(plan, op, 0, plan.inner, load).map((a) => op.finish(a, plan.inner));
  }
  expect((plan.chunks - 1) * plan.chunkLen).toBeLessThan(plan.inner);
  expect(plan.chunks * plan.chunkLen).toBeGreaterThanOrEqual(plan.inner);
  // Pass 1: blockIdx.y = c stores its accumulators at partials[c * outer + o]; every one exactly once.
  const partials: (A | undefined)[] = new Array(plan.chunks * plan.outer).fill(undefined);
  for (let c = 0; c < plan.chunks; c++) {
    const jBegin = c * plan.chunkLen;
    layoutPass(plan, op, jBegin, Math.min(jBegin + plan.chunkLen, plan.inner), load).forEach((a, o) => {
      expect(partials[c * plan.outer + o]).toBeUndefined();
      partials[c * plan.outer + o] = a;
    });
  }
  expect(partials.every((a) => a !== undefined)).toBe(true);
  // Pass 2 (kChunks): CHUNKS_BLOCK / 32 warps per block, one per output; lane l combines chunks l,
  // l + 32, … in order, then the warp tree; finish() with the whole reduction's length.
  const warpsNeeded = Math.ceil(plan.outer / (CHUNKS_BLOCK / 32)) * (CHUNKS_BLOCK / 32);
  expect(warpsNeeded).toBeGreaterThanOrEqual(plan.outer);
  return Array.from({ length: plan.outer }, (_, row) => {
    const lanes = Array.from({ length: 32 }, (_, lane) => {
      let acc = op.init();
      for (let c = lane; c < plan.chunks; c += 32) acc = op.combine(acc, partials[c * plan.outer + row] as A);
      return acc;
    });
    return op.finish(warpReduce(op, lanes), plan.inner);
  });
}

/** The H200's SMs (the lead's target); plans elsewhere in this file use it unless they say otherwise. */
const SMS = 132;

const CASES: [number[], number[]][] = [
  [[33, 9], [1]],
  [[33, 9], [0]],
  [[5000], [0]],
  [[7, 1300], [1]],
  [[300, 20], [1]],
  [[1000, 3], [0]],
  [[40, 900], [0]],
  [[4, 5, 6], [1]],
  [[4, 5, 6], [0, 2]],
  [[4, 5, 6], [2, 0]],
  [[3, 4, 5], [0, 1]],
  [[2, 3, 4, 5, 3], [1, 3]],
  [[2, 3, 4, 5, 3], [0, 2, 4]],
  [[2, 3, 4, 5, 3], [0, 1, 2, 3, 4]],
  [[6, 1, 7], [1]],
  [[1, 1037], [0]],
  [[2, 1, 3, 1, 4, 2], [1, 3, 5]],
  [[3, 0, 4], [1]],
];

function randomCase(rng: Rng): [number[], number[]] {
  const rank = 1 + rng.int(5);
  const shape = Array.from({ length: rank }, () => 1 + rng.int(6));
  const axes = shape.map((_, d) => d).filter(() => rng.int(2) === 0);
  return [shape, axes.length > 0 ? axes : [rng.int(rank)]];
}

describe('planReduce + the kernel index math', () => {
  const rng = new Rng(3);
  const cases = [...CASES, ...Array.from({ length: 150 }, () => randomCase(rng))];

  it('reads every element once and matches tfjs cpu Max (exact) and Sum (float32 rounding) for fixed and 150 random axis sets', () => {
    for (const [shape, axes] of cases) {
      const label = `[${shape}] axes [${axes}]`;
      const n = sizeOf(shape);
      const x = Float32Array.from({ length: n }, () => rng.uniform(-2, 2));
      const plan = planReduce(shape, axes, SMS);
      expect(plan.outShape.length, label).toBeLessThanOrEqual(MAX_RANK);
      expect(plan.redShape.length, label).toBeLessThanOrEqual(MAX_RANK);
      const reads = new Int32Array(n);
      const max = emulate(plan, x, maxOp, reads);
      expect(Array.from(reads), label).toEqual(new Array(n).fill(1));
      const sum = emulate(plan, x, sumOp, new Int32Array(n));
      const [wantMax, wantSum] = tf.tidy(() => {
        const t = tf.tensor(x, shape);
        return [tf.max(t, axes).dataSync(), tf.sum(t, axes).dataSync()];
      });
      if (n > 0) expect(max, label).toEqual(Array.from(wantMax));
      sum.forEach((s, i) => expect(Math.abs(s - wantSum[i]), label).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(wantSum[i]))));
    }
  });

  it('follows tfjs cpu ArgMax and Max with NaNs and ties in every layout', () => {
    const shapes: [number[], number][] = [[[33, 9], 1], [[33, 9], 0], [[7, 1300], 1], [[1000, 3], 0], [[4, 5, 6], 1], [[5, 40], 1]];
    for (const [shape, axis] of shapes) {
      for (const kind of ['nan', 'ties', 'nan-first']) {
        const n = sizeOf(shape);
        const x = Float32Array.from({ length: n }, () => (kind === 'ties' ? Math.floor(rng.uniform(0, 3)) : rng.uniform(-2, 2)));
        if (kind !== 'ties') for (let i = 0; i < n; i++) if (rng.int(kind === 'nan' ? 7 : 3) === 0) x[i] = NaN;
        const plan = planReduce(shape, [axis], SMS);
        const label = `${kind} [${shape}] axis ${axis} mode ${plan.mode}`;
        const [wantArg, wantMax] = tf.tidy(() => {
          const t = tf.tensor(x, shape);
          return [tf.argMax(t, axis).dataSync(), tf.max(t, axis).dataSync()];
        });
        expect(emulate(plan, x, argMaxOp, new Int32Array(n)), label).toEqual(Array.from(wantArg));
        expect(emulate(plan, x, maxOp, new Int32Array(n)), label).toEqual(Array.from(wantMax));
      }
    }
  });

  it('uses rows for trailing axes and columns for leading ones, split only where few blocks walk far', () => {
    const one = { chunks: 1 };
    expect(planReduce([33, 9], [1], SMS)).toMatchObject({ mode: ReduceMode.WarpRows, outer: 33, inner: 9, redShape: [9], redStrides: [1], ...one });
    expect(planReduce([7, WARP_ROW_MAX + 1], [1], SMS)).toMatchObject({ mode: ReduceMode.BlockRows, block: 1024, grid: 7, ...one });
    expect(planReduce([2, 3, 4], [1, 2], SMS)).toMatchObject({ mode: ReduceMode.WarpRows, redShape: [12], redStrides: [1], ...one });
    expect(planReduce([2, 3, 4], [0, 1, 2], SMS)).toMatchObject({ mode: ReduceMode.WarpRows, outer: 1, outShape: [1], outStrides: [0], ...one });
    expect(planReduce([40, 9000], [0], SMS)).toMatchObject({ mode: ReduceMode.Columns, block: 256, grid: 282, ...one });
    expect(planReduce([4, 5, 6], [0, 1], SMS)).toMatchObject({ mode: ReduceMode.Columns, outShape: [6], redShape: [20], redStrides: [6], ...one });
    // Few outputs, long reductions: 32 slices, then chunks for 2 blocks per SM (4 elements a thread at least).
    expect(planReduce([1000, 3], [0], SMS)).toMatchObject({ mode: ReduceMode.Columns, block: 1024, grid: 1, redShape: [1000], redStrides: [3], chunks: 7, chunkLen: 143 });
    expect(planReduce([12800, 128], [0], SMS)).toMatchObject({ mode: ReduceMode.Columns, block: 1024, grid: 4, chunks: 66, chunkLen: 194 });
    expect(planReduce([256, 50, 384], [0, 1], SMS)).toMatchObject({ mode: ReduceMode.Columns, block: 1024, grid: 12, redShape: [12800], chunks: 22, chunkLen: 582 });
    expect(planReduce([100000, 4], [0], SMS)).toMatchObject({ mode: ReduceMode.Columns, block: 1024, grid: 1, chunks: 264, chunkLen: 379 });
    // Long rows, few outputs: block rows, split until each thread reads 4.
    expect(planReduce([3, 70000], [1], SMS)).toMatchObject({ mode: ReduceMode.BlockRows, block: 1024, grid: 3, chunks: 17, chunkLen: 4118 });
    // The SM count sets the threshold: 282 column blocks keep a 132-SM device busy, not a 200-SM one.
    expect(planReduce([600, 9000], [0], SMS)).toMatchObject({ mode: ReduceMode.Columns, block: 256, grid: 282, chunks: 1 });
    expect(planReduce([600, 9000], [0], 200)).toMatchObject({ mode: ReduceMode.Columns, block: 1024, grid: 282, chunks: 2, chunkLen: 300 });
  });

  it('splits into non-empty chunks that cover the range, for busy targets and minimum chunk lengths', () => {
    const rng = new Rng(5);
    for (let t = 0; t < 2000; t++) {
      const blocks = 1 + rng.int(400);
      const threads = [32, 8, 256, 1024][rng.int(4)];
      const inner = rng.int(2 ** (1 + rng.int(24)));
      const sms = 1 + rng.int(200);
      const { chunks, chunkLen } = splitReduce(blocks, threads, inner, sms);
      const label = `blocks ${blocks} threads ${threads} inner ${inner} sms ${sms}`;
      if (chunks === 1) {
        expect(chunkLen, label).toBe(inner);
        // Not split: busy already, or too short for two chunks of the minimum length.
        expect(blocks >= 2 * sms || inner < 2 * SPLIT_MIN_PER_THREAD * threads, label).toBe(true);
        continue;
      }
      expect(blocks, label).toBeLessThan(2 * sms);
      expect((chunks - 1) * chunkLen, label).toBeLessThan(inner);
      expect(chunks * chunkLen, label).toBeGreaterThanOrEqual(inner);
      expect(chunkLen, label).toBeGreaterThanOrEqual(SPLIT_MIN_PER_THREAD * threads);
      expect(blocks * chunks, label).toBeLessThanOrEqual(2 * sms + blocks);
    }
  });
});

describe('the two-pass split (few outputs, long reductions)', () => {
  const rng = new Rng(11);
  // The bias-gradient shapes of the ViT step and the other few-output layouts; [300,5,2,16] over
  // [0,2] splits a two-dim strided reduced index.
  const SPLIT_CASES: [number[], number[]][] = [
    [[12800, 128], [0]],
    [[256, 50, 384], [0, 1]],
    [[100000, 4], [0]],
    [[3, 70000], [1]],
    [[300, 5, 2, 16], [0, 2]],
    [[900, 40], [0]],
    [[9000], [0]],
  ];

  // Sums of thousands of terms: float32 rounding grows with the partial sums, which reach far beyond the
  // result when it is near 0, so the bound adds 2^-24 of Σ|x| (the size of one rounding of the largest
  // possible partial sum) to the rows' 1e-5·(1 + |sum|).
  it('reads every element once, writes every partial once and matches tfjs cpu Sum (float32 rounding) and Max (exact)', () => {
    for (const [shape, axes] of SPLIT_CASES) {
      const plan = planReduce(shape, axes, SMS);
      const label = `[${shape}] axes [${axes}] mode ${plan.mode} chunks ${plan.chunks}`;
      expect(plan.chunks, label).toBeGreaterThan(1);
      const n = sizeOf(shape);
      const x = Float32Array.from({ length: n }, () => rng.uniform(-2, 2));
      const reads = new Int32Array(n);
      const sum = emulate(plan, x, sumOp, reads);
      expect(reads.every((r) => r === 1), label).toBe(true);
      const small = n <= 300000;
      const max = small ? emulate(plan, x, maxOp, new Int32Array(n)) : [];
      const [wantSum, wantMax, absSum] = tf.tidy(() => {
        const t = tf.tensor(x, shape);
        return [tf.sum(t, axes).dataSync(), tf.max(t, axes).dataSync(), tf.sum(tf.abs(t), axes).dataSync()];
      });
      sum.forEach((s, i) => expect(Math.abs(s - wantSum[i]), `${label} out ${i}`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(wantSum[i])) + 2 ** -24 * absSum[i]));
      if (small) expect(max, label).toEqual(Array.from(wantMax));
    }
  });

  it('keeps ArgMax on the first index of ties and the NaN-at-0 rule across chunks', () => {
    for (const [shape, axis] of [[[1000, 3], 0], [[900, 40], 0], [[3, 20000], 1]] as [number[], number][]) {
      for (const kind of ['nan', 'ties', 'nan-first']) {
        const n = sizeOf(shape);
        const x = Float32Array.from({ length: n }, () => (kind === 'ties' ? Math.floor(rng.uniform(0, 3)) : rng.uniform(-2, 2)));
        if (kind === 'nan') for (let i = 0; i < n; i++) if (rng.int(7) === 0) x[i] = NaN;
        // NaN in the first element of each output (index 0 wins) and in a later chunk (never taken).
        if (kind === 'nan-first') {
          const stride = axis === 0 ? shape[1] : 1;
          const rows = axis === 0 ? shape[1] : shape[0];
          for (let o = 0; o < rows; o++) {
            const base = axis === 0 ? o : o * shape[1];
            if (o % 2 === 0) x[base] = NaN;
            x[base + (shape[axis] - 1) * stride] = NaN;
          }
        }
        const plan = planReduce(shape, [axis], SMS);
        const label = `${kind} [${shape}] axis ${axis} mode ${plan.mode} chunks ${plan.chunks}`;
        expect(plan.chunks, label).toBeGreaterThan(1);
        const [wantArg, wantMax] = tf.tidy(() => {
          const t = tf.tensor(x, shape);
          return [tf.argMax(t, axis).dataSync(), tf.max(t, axis).dataSync()];
        });
        expect(emulate(plan, x, argMaxOp, new Int32Array(n)), label).toEqual(Array.from(wantArg));
        expect(emulate(plan, x, maxOp, new Int32Array(n)), label).toEqual(Array.from(wantMax));
      }
    }
  });

  it('is the unsplit result where the order does not matter (Max, ArgMax) and close to it for Sum', () => {
    const shape = [300, 5, 2, 16];
    const axes = [0, 2];
    const x = Float32Array.from({ length: sizeOf(shape) }, () => rng.uniform(-2, 2));
    const split = planReduce(shape, axes, SMS);
    const whole = { ...split, chunks: 1, chunkLen: split.inner };
    const reads = new Int32Array(x.length);
    expect(emulate(split, x, maxOp, reads)).toEqual(emulate(whole, x, maxOp, reads));
    const a = emulate(split, x, sumOp, reads);
    const b = emulate(whole, x, sumOp, reads);
    a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(b[i]))));
  });
});
