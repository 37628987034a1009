/**
 * The reduce kernels checked without a GPU: `emulate` replays reduce_impl in cuda/reduce.cu over a
 * planReduce plan — which thread reads which element (warp rows, block rows, column slices), the
 * per-thread runs, the shuffle and shared-memory trees, float32 rounding of every add — with the same
 * ops (Sum, Max with its NaN rule, ArgMax with its NaN/tie mapping), and compares the results with tfjs
 * cpu for many shapes and axis sets. Every input element must be read exactly once per reduction.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@sigattn/common';
import { ReduceMode, WARP_ROW_MAX, planReduce, reduceOffset, type ReducePlan } from '../src/kernels/reduce.js';
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

/** reduce_impl, thread by thread. `reads` counts how often each input element is read. */
function emulate<A>(plan: ReducePlan, x: Float32Array, op: Op<A>, reads: Int32Array): number[] {
  const out: number[] = new Array(plan.outer).fill(NaN);
  const load = (row: number, j: number) => {
    const off = reduceOffset(plan, row, j);
    reads[off]++;
    return op.load(x[off], j);
  };
  if (plan.mode === ReduceMode.WarpRows) {
    expect(plan.grid * (plan.block / 32)).toBeGreaterThanOrEqual(plan.outer);
    for (let row = 0; row < plan.outer; row++) {
      const lanes = Array.from({ length: 32 }, (_, lane) => {
        let acc = op.init();
        for (let j = lane; j < plan.inner; j += 32) acc = op.combine(acc, load(row, j));
        return acc;
      });
      out[row] = op.finish(warpReduce(op, lanes), plan.inner);
    }
  } else if (plan.mode === ReduceMode.BlockRows) {
    expect(plan.grid).toBe(plan.outer);
    const warps = plan.block / 32;
    for (let row = 0; row < plan.outer; row++) {
      const threads = Array.from({ length: plan.block }, (_, t) => {
        let acc = op.init();
        for (let j = t; j < plan.inner; j += plan.block) acc = op.combine(acc, load(row, j));
        return acc;
      });
      const smem = Array.from({ length: warps }, (_, w) => warpReduce(op, threads.slice(32 * w, 32 * w + 32)));
      const total = warpReduce(op, Array.from({ length: 32 }, (_, l) => (l < warps ? smem[l] : op.init())));
      out[row] = op.finish(total, plan.inner);
    }
  } else {
    const slices = plan.block / 32;
    expect(plan.grid * 32).toBeGreaterThanOrEqual(plan.outer);
    for (let o = 0; o < plan.outer; o++) {
      const part = Array.from({ length: slices }, (_, s) => {
        let acc = op.init();
        for (let j = s; j < plan.inner; j += slices) acc = op.combine(acc, load(o, j));
        return acc;
      });
      out[o] = op.finish(part.reduce((r, p) => op.combine(r, p)), plan.inner);
    }
  }
  return out;
}

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
      const plan = planReduce(shape, axes);
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
        const plan = planReduce(shape, [axis]);
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

  it('uses rows for trailing axes and columns for leading ones', () => {
    expect(planReduce([33, 9], [1])).toMatchObject({ mode: ReduceMode.WarpRows, outer: 33, inner: 9, redShape: [9], redStrides: [1] });
    expect(planReduce([7, WARP_ROW_MAX + 1], [1])).toMatchObject({ mode: ReduceMode.BlockRows, block: 1024, grid: 7 });
    expect(planReduce([2, 3, 4], [1, 2])).toMatchObject({ mode: ReduceMode.WarpRows, redShape: [12], redStrides: [1] });
    expect(planReduce([2, 3, 4], [0, 1, 2])).toMatchObject({ mode: ReduceMode.WarpRows, outer: 1, outShape: [1], outStrides: [0] });
    expect(planReduce([1000, 3], [0])).toMatchObject({ mode: ReduceMode.Columns, block: 1024, grid: 1, redShape: [1000], redStrides: [3] });
    expect(planReduce([40, 9000], [0])).toMatchObject({ mode: ReduceMode.Columns, block: 256, grid: 282 });
    expect(planReduce([4, 5, 6], [0, 1])).toMatchObject({ mode: ReduceMode.Columns, outShape: [6], redShape: [20], redStrides: [6] });
  });
});
