/**
 * One op suite for every backend: each case builds its inputs from a seeded generator on the host, runs
 * the same tfjs ops on the backend under test and on a reference backend (tfjs's cpu), and compares
 * outputs and — for `grad` cases — the gradients of a random weighting of the outputs with respect to
 * every float32 input. The vitest suite runs it on wasm in CI (so the cases themselves are checked) and on
 * cuda where a driver exists; the GPU bundle's `cuda-ops-check` entry runs it on the GPU host.
 *
 * Tolerance: |got − want| ≤ tol·(1 + |want|) elementwise (int and bool outputs exactly); NaN must match NaN.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, deriveSeed, sha256 } from '@sigattn/common';

/** A case's own seed: its inputs do not change when cases are added or reordered. */
const caseSeed = (seed: number, name: string, part = 0) => deriveSeed(seed, parseInt(sha256(name).slice(0, 8), 16), part);

export interface InputSpec {
  shape: number[];
  dtype?: 'float32' | 'int32' | 'bool';
  /** Uniform range of float inputs (default [-2, 2]); for int32 inputs values are ints in [lo, hi). */
  range?: [number, number];
}

export interface OpCase {
  /** Unique, says what is checked: `Add broadcast [3,1,5]+[4,5]`. */
  name: string;
  /** The tfjs kernels the case is meant to exercise (for the coverage check against kernels.json). */
  kernels: string[];
  inputs: InputSpec[];
  run: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
  /** Also compare d(Σ w·out)/d(input) for every float32 input. */
  grad?: boolean;
  /** Default 1e-5 (f32 ops that round the same way); matmuls and reductions state their own. */
  tol?: number;
}

export interface OpResult {
  name: string;
  /** 'out0', 'out1', … then 'grad0', … per compared tensor. */
  what: string;
  maxErr: number;
  tol: number;
  pass: boolean;
  detail: string;
}

type Host = { values: Float32Array | Int32Array | Uint8Array; shape: number[]; dtype: tf.DataType };

function makeInputs(c: OpCase, seed: number): Host[] {
  const rng = new Rng(caseSeed(seed, c.name));
  return c.inputs.map((spec) => {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const dtype = spec.dtype ?? 'float32';
    const [lo, hi] = spec.range ?? (dtype === 'float32' ? [-2, 2] : [0, 4]);
    if (dtype === 'float32') return { values: Float32Array.from({ length: n }, () => rng.uniform(lo, hi)), shape: spec.shape, dtype };
    if (dtype === 'int32') return { values: Int32Array.from({ length: n }, () => lo + rng.int(hi - lo)), shape: spec.shape, dtype };
    return { values: Uint8Array.from({ length: n }, () => rng.int(2)), shape: spec.shape, dtype };
  });
}

/** Outputs and gradients of one case on the active backend, read back to the host. */
function evaluate(c: OpCase, inputs: Host[], seed: number): Host[] {
  return tf.tidy(() => {
    const xs = inputs.map((h) => tf.tensor(h.values, h.shape, h.dtype));
    const outs = [c.run(...xs)].flat();
    const read = (t: tf.Tensor): Host => ({ values: t.dataSync() as Host['values'], shape: t.shape, dtype: t.dtype });
    const results = outs.map(read);
    if (c.grad) {
      const floatIdx = xs.map((x, i) => (x.dtype === 'float32' ? i : -1)).filter((i) => i >= 0);
      const rng = new Rng(caseSeed(seed, c.name, 1));
      const weights = outs.map((o) => tf.tensor(Float32Array.from({ length: o.size }, () => rng.uniform(-1, 1)), o.shape));
      const f = (...fx: tf.Tensor[]) => {
        const all = xs.map((x, i) => (floatIdx.includes(i) ? fx[floatIdx.indexOf(i)] : x));
        const ys = [c.run(...all)].flat();
        return tf.addN(ys.map((y, i) => tf.sum(tf.mul(y.dtype === 'float32' ? y : tf.cast(y, 'float32'), weights[i])))) as tf.Scalar;
      };
      for (const g of tf.grads(f)(floatIdx.map((i) => xs[i]))) results.push(read(g));
    }
    return results;
  });
}

function compare(name: string, what: string, got: Host, want: Host, tol: number): OpResult {
  const fail = (detail: string): OpResult => ({ name, what, maxErr: Infinity, tol, pass: false, detail });
  if (got.shape.join() !== want.shape.join()) return fail(`shape [${got.shape.join(', ')}], expected [${want.shape.join(', ')}]`);
  if (got.dtype !== want.dtype) return fail(`dtype ${got.dtype}, expected ${want.dtype}`);
  const exact = want.dtype !== 'float32';
  let maxErr = 0;
  let worst = -1;
  for (let i = 0; i < want.values.length; i++) {
    const a = got.values[i], b = want.values[i];
    if (Number.isNaN(b) || Number.isNaN(a)) {
      if (Number.isNaN(a) !== Number.isNaN(b)) return fail(`element ${i}: ${a}, expected ${b}`);
      continue;
    }
    const err = exact ? Math.abs(a - b) : Math.abs(a - b) / (1 + Math.abs(b));
    if (!(err <= maxErr)) {
      maxErr = err;
      worst = i;
    }
  }
  const pass = exact ? maxErr === 0 : maxErr <= tol;
  return { name, what, maxErr, tol, pass, detail: worst < 0 ? '' : `worst element ${worst}: ${got.values[worst]} vs ${want.values[worst]}` };
}

/**
 * Run `cases` on `backend` and on `reference`; returns one row per compared tensor. Switches tfjs's
 * backend (and leaves `backend` active).
 */
export async function runOpCases(cases: readonly OpCase[], backend: string, { reference = 'cpu', seed = 1 } = {}): Promise<OpResult[]> {
  const names = new Set<string>();
  for (const c of cases) {
    if (names.has(c.name)) throw new Error(`op cases: duplicate case name ${JSON.stringify(c.name)}`);
    names.add(c.name);
  }
  const rows: OpResult[] = [];
  for (const c of cases) {
    const inputs = makeInputs(c, seed);
    await tf.setBackend(reference);
    const want = evaluate(c, inputs, seed);
    await tf.setBackend(backend);
    let got: Host[];
    try {
      got = evaluate(c, inputs, seed);
    } catch (err) {
      rows.push({ name: c.name, what: 'run', maxErr: Infinity, tol: 0, pass: false, detail: (err as Error).message.split('\n')[0] });
      continue;
    }
    const nGrads = c.grad ? c.inputs.filter((s) => (s.dtype ?? 'float32') === 'float32').length : 0;
    const nOuts = want.length - nGrads;
    const labels = want.map((_, i) => (i < nOuts ? `out${i}` : `grad${i - nOuts}`));
    want.forEach((w, i) => rows.push(compare(c.name, labels[i], got[i], w, c.tol ?? 1e-5)));
  }
  return rows;
}
