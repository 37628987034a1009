/**
 * The fused norm's WGSL kernels (src/webgpu/norm.ts) on the tfjs webgpu backend (lavapipe in CI), against
 * the composed ops and their tfjs autodiff on cpu: y, the row stats (mean, rstd), dx, dgamma and dbeta,
 * layernorm and rmsnorm, C 4 to 1536 (ragged: 257), 1 to 1031 rows (one chunk and many in the column sums),
 * ranks 2 to 4. Every output lands in a NaN-poisoned buffer, so an unwritten element fails. Fixed seeds.
 *
 * Tolerance: float32 WGSL is not tfjs cpu bit for bit (the sums run as trees in float32 where cpu adds in
 * double, and the compiler may contract to fma), so each element may differ by (d + 8)/2 units of 2⁻²⁴
 * times the magnitude of the terms it is made of, d being the depth of the longest sum behind it (row
 * sums: ⌈C/lanes⌉ + log₂ lanes; column sums: ⌈rows per chunk / 8⌉ + 8 + chunks). The worst observed
 * ratio to that bound is printed.
 *
 * No adapter fails the file unless SIGATTN_ALLOW_NO_WEBGPU=1 (then it is skipped, with the reason).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@sigattn/common';
import { NORM_BWD, NORM_FWD, composedNorm, fusedNorm, initBackend, type NormKind } from '../src/index.js';
import { NORM_WEBGPU_KERNELS, normLanes, planNormColumns } from '../src/webgpu/norm.js';
import { runPoisoned, spyOnDispatches, uploadToGPU, webgpuMissingReason } from './webgpu-pass-helpers.js';

const KINDS: NormKind[] = ['layernorm', 'rmsnorm'];
const EPS = 1e-5;
const U = 2 ** -24;
/** Leading dims per case: 1 row (rank 2), 50 rows (rank 3), 1031 rows (rank 2, a prime: a ragged last chunk), 42 rows (rank 4). */
const LEADING = [[1], [2, 25], [1031], [2, 3, 7]];
const CS = [4, 32, 128, 257, 1536];

const missingReason = await webgpuMissingReason();

interface Case { kind: NormKind; shape: number[]; x: Float32Array; gamma: Float32Array; beta: Float32Array | null; dy: Float32Array }

function makeCase(rng: Rng, kind: NormKind, leading: number[], C: number): Case {
  const shape = [...leading, C];
  const n = tf.util.sizeFromShape(shape);
  // An offset per case so the mean is not ~0 (layernorm's subtraction matters), gamma around 1.
  const offset = rng.uniform(-3, 3);
  return {
    kind, shape,
    x: Float32Array.from({ length: n }, () => offset + rng.normal()),
    gamma: Float32Array.from({ length: C }, () => rng.uniform(0.5, 1.5)),
    beta: kind === 'layernorm' ? Float32Array.from({ length: C }, () => rng.uniform(-1, 1)) : null,
    dy: Float32Array.from({ length: n }, () => rng.normal()),
  };
}

/** The composed ops on cpu: y, stats (mean, rstd as the composed ops compute them), dx, dgamma (, dbeta). */
function cpuReference(c: Case): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor(c.x, c.shape), gamma = tf.tensor(c.gamma), dy = tf.tensor(c.dy, c.shape);
    const beta = c.beta === null ? null : tf.tensor(c.beta);
    const params = beta === null ? [x, gamma] : [x, gamma, beta];
    const y = composedNorm(x, gamma, beta, c.kind, EPS);
    const grads = tf.grads((...p: tf.Tensor[]) => composedNorm(p[0], p[1], p[2] ?? null, c.kind, EPS))(params, dy);
    let mean: tf.Tensor, ms: tf.Tensor;
    if (c.kind === 'layernorm') ({ mean, variance: ms } = tf.moments(x, -1, true));
    else [mean, ms] = [tf.zerosLike(tf.mean(x, -1, true)), tf.mean(tf.square(x), -1, true)];
    const stats = tf.concat([mean, tf.rsqrt(tf.add(ms, EPS))], -1);
    return [y, stats, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

/** Per-element bounds of each output (see the file comment), in float64 from the inputs. */
function bounds(c: Case): Float64Array[] {
  const C = c.shape[c.shape.length - 1];
  const rows = c.x.length / C;
  const lanes = normLanes(C);
  const rowDepth = Math.ceil(C / lanes) + Math.log2(lanes);
  const plan = planNormColumns(rows, C);
  const colDepth = Math.ceil(plan.rowsPerChunk / 8) + 8 + plan.chunks;
  const kRow = U * (rowDepth + 8) / 2;
  const kCol = U * (colDepth + rowDepth + 8) / 2;
  const out = { y: new Float64Array(c.x.length), stats: new Float64Array(2 * rows), dx: new Float64Array(c.x.length), dgamma: new Float64Array(C), dbeta: new Float64Array(C) };
  for (let r = 0; r < rows; r++) {
    const row = c.x.subarray(r * C, (r + 1) * C), dy = c.dy.subarray(r * C, (r + 1) * C);
    const absMean = row.reduce((a, v) => a + Math.abs(v), 0) / C;
    const mean = c.kind === 'layernorm' ? row.reduce((a, v) => a + v, 0) / C : 0;
    const rstd = 1 / Math.sqrt(row.reduce((a, v) => a + (v - mean) ** 2, 0) / C + EPS);
    const xh = Array.from(row, (v) => (v - mean) * rstd);
    const g = Array.from(dy, (d, j) => d * c.gamma[j]);
    const meanAbsG = g.reduce((a, v) => a + Math.abs(v), 0) / C;
    const meanAbsGx = g.reduce((a, v, j) => a + Math.abs(v * xh[j]), 0) / C;
    // How far an error of the row mean moves x̂: the mean is a sum of |x| ~ absMean.
    const shift = rstd * absMean;
    out.stats[2 * r] = kRow * absMean;
    out.stats[2 * r + 1] = kRow * rstd;
    for (let j = 0; j < C; j++) {
      out.y[r * C + j] = kRow * ((Math.abs(xh[j]) + shift) * c.gamma[j] + Math.abs(c.beta?.[j] ?? 0));
      out.dx[r * C + j] = kRow * rstd * (Math.abs(g[j]) + meanAbsG + (Math.abs(xh[j]) + shift) * meanAbsGx);
      out.dgamma[j] += kCol * Math.abs(dy[j]) * (Math.abs(xh[j]) + shift);
      out.dbeta[j] += kCol * Math.abs(dy[j]);
    }
  }
  return [out.y, out.stats, out.dx, out.dgamma, ...(c.kind === 'layernorm' ? [out.dbeta] : [])];
}

describe.skipIf(missingReason !== '')('fused norm on webgpu (lavapipe in CI)', () => {
  beforeAll(async () => { await initBackend('webgpu'); });
  afterAll(async () => { await initBackend('cpu'); });

  it(`y, stats, dx, dgamma, dbeta match the composed ops on cpu within the stated bound: ${KINDS.length} kinds × C ${CS.join('/')} × ${LEADING.length} row shapes, poisoned outputs`, async () => {
    const rng = new Rng(20261210);
    let [worst, inexact, total] = [0, 0, 0];
    const failures: string[] = [];
    for (const kind of KINDS) {
      for (const C of CS) {
        for (const leading of LEADING) {
          const c = makeCase(rng, kind, leading, C);
          const rows = c.x.length / C;
          await tf.setBackend('cpu');
          const want = cpuReference(c);
          await tf.setBackend('webgpu');
          const [x, gamma, dy] = [tf.tensor(c.x, c.shape), tf.tensor(c.gamma), tf.tensor(c.dy, c.shape)];
          const beta = c.beta === null ? null : tf.tensor(c.beta);
          const attrs = { kind, eps: EPS };
          const fwdIn: Record<string, tf.Tensor> = beta === null ? { x, gamma } : { x, gamma, beta };
          const [y, statsValues] = await runPoisoned(NORM_FWD, fwdIn, attrs, [c.shape, [rows, 2]]);
          // The backward reads the forward's stats, as in training.
          const stats = tf.tensor(statsValues, [rows, 2]);
          const gradShapes = [c.shape, [C], ...(kind === 'layernorm' ? [[C]] : [])];
          const grads = await runPoisoned(NORM_BWD, { x, gamma, stats, dy }, attrs, gradShapes);
          tf.dispose([x, gamma, dy, stats, ...(beta ? [beta] : [])]);
          const got = [y, statsValues, ...grads];
          const tol = bounds(c);
          const names = ['y', 'stats', 'dx', 'dgamma', 'dbeta'];
          expect(got.length).toBe(want.length);
          got.forEach((g, k) => {
            expect(g.length, names[k]).toBe(want[k].length);
            for (let i = 0; i < g.length; i++) {
              const err = Math.abs(g[i] - want[k][i]);
              total++;
              if (err > 0) [worst, inexact] = [Math.max(worst, err / tol[k][i]), inexact + 1];
              if (!(err <= tol[k][i]) && failures.length < 8) {
                failures.push(`${kind} [${c.shape}] ${names[k]}[${i}] = ${g[i]}, want ${want[k][i]} ± ${tol[k][i].toExponential(2)}`);
              }
            }
          });
        }
      }
    }
    expect(failures.join('\n')).toBe('');
    console.log(`webgpu fused norm: ${inexact} of ${total} outputs differ from the composed ops on cpu, the worst by ${worst.toFixed(3)} of its bound`);
  }, 120_000);

  it('fusedNorm with gradients runs exactly the fused WGSL kernels: 1 dispatch forward, dx + columns (+ finish with several chunks) backward', async () => {
    const { dispatched, restore } = spyOnDispatches();
    try {
      for (const kind of KINDS) {
        for (const rows of [40, 1000]) {
          const rng = new Rng(rows);
          const C = 48;
          const [x, gamma, dy] = [tf.tensor(rng.normalF32(rows * C, 1), [rows, C]), tf.ones([C]), tf.tensor(rng.normalF32(rows * C, 1), [rows, C])];
          const params = kind === 'layernorm' ? [x, gamma, tf.zeros([C])] : [x, gamma];
          uploadToGPU([...params, dy]);
          dispatched.length = 0;
          const info = await tf.profile(() => tf.grads((...p: tf.Tensor[]) => fusedNorm(p[0], p[1], p[2] ?? null, kind, EPS))(params, dy));
          expect(info.kernels.map((k) => k.name).filter((n) => n !== 'Identity'), `${kind}, ${rows} rows: tfjs kernels`).toEqual([NORM_FWD, NORM_BWD]);
          const chunks = planNormColumns(rows, C).chunks;
          expect(chunks > 1).toBe(rows === 1000);
          const k = NORM_WEBGPU_KERNELS;
          expect(dispatched, `${kind}, ${rows} rows: dispatches`).toEqual([k.fwd(kind), k.dx(kind), k.columns(kind), ...(chunks > 1 ? [k.finish(kind)] : [])]);
          tf.dispose([...params, dy, ...info.result as tf.Tensor[]]);
        }
      }
    } finally {
      restore();
    }
  });

  it('an input without rows gives empty outputs and zero column sums; bad inputs fail with one line', async () => {
    const x = tf.zeros([0, 5]);
    const [y, stats] = tf.engine().runKernel(NORM_FWD, { x, gamma: tf.ones([5]), beta: tf.zeros([5]) }, { kind: 'layernorm', eps: EPS }) as tf.Tensor[];
    expect([y.shape, stats.shape]).toEqual([[0, 5], [0, 2]]);
    const [dx, dgamma, dbeta] = tf.engine().runKernel(NORM_BWD, { x, gamma: tf.ones([5]), stats, dy: x }, { kind: 'layernorm', eps: EPS }) as tf.Tensor[];
    expect([dx.shape, Array.from(await dgamma.data()), Array.from(await dbeta.data())]).toEqual([[0, 5], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]);
    const x2 = tf.zeros([3, 4]);
    expect(() => tf.engine().runKernel(NORM_FWD, { x: x2, gamma: tf.ones([3]) }, { kind: 'rmsnorm', eps: EPS })).toThrow(`${NORM_FWD} (webgpu): gamma has shape [3], expected [4]`);
    expect(() => tf.engine().runKernel(NORM_BWD, { x: x2, gamma: tf.ones([4]), stats: tf.zeros([2, 2]), dy: x2 }, { kind: 'rmsnorm', eps: EPS }))
      .toThrow(`${NORM_BWD} (webgpu): stats has shape [2, 2], expected [3, 2]`);
    expect(() => tf.engine().runKernel(NORM_FWD, { x: x2, gamma: tf.ones([4]) }, { kind: 'batchnorm', eps: EPS })).toThrow(/kind 'batchnorm' is not one of/);
  });
});
