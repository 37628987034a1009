/**
 * The fused norm op (src/tfjs/norm.ts, norm-names.ts). cpu has no NORM_FWD kernel, so fusedNorm must be
 * the composed ops bit for bit, values and gradients. The gradient wiring (norm-grad.ts: saved inputs,
 * stats, beta only for layernorm) is checked by registering float64 reference kernels of the contract
 * on cpu for one test: fusedNorm then runs NORM_FWD/NORM_BWD and must agree with the composed ops and
 * their autodiff. Fixed seeds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@sigattn/common';
import { NORM_BWD, NORM_FWD, composedNorm, fusedNorm, type NormAttrs, type NormKind } from '../src/index.js';
import { readCpu, writeCpu, type CpuBackend } from '../src/tfjs/kernels/backend-access.js';

const KINDS: NormKind[] = ['layernorm', 'rmsnorm'];
const SHAPES = [[3, 4], [50, 33], [2, 5, 64], [2, 3, 2, 7]];

function random(shape: number[], rng: Rng, lo = -2, hi = 2): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.uniform(lo, hi)), shape);
}

/** Output and the gradients of Σ w·norm(x) for x, gamma (and beta) as flat arrays. */
function valueAndGrads(norm: typeof fusedNorm, x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor | null, kind: NormKind, w: tf.Tensor): Float32Array[] {
  return tf.tidy(() => {
    const params = beta === null ? [x, gamma] : [x, gamma, beta];
    const f = (...p: tf.Tensor[]) => tf.sum(tf.mul(norm(p[0], p[1], p[2] ?? null, kind, 1e-5), w)) as tf.Scalar;
    const y = norm(x, gamma, beta, kind, 1e-5);
    return [y, ...tf.grads(f)(params)].map((t) => t.dataSync() as Float32Array);
  });
}

/** The contract's math in float64 (norm-names.ts), results rounded to float32. */
function referenceKernels(): tf.KernelConfig[] {
  const rowsOf = (x: tf.TensorInfo) => ({ c: x.shape[x.shape.length - 1], rows: x.shape.reduce((a, b) => a * b, 1) / x.shape[x.shape.length - 1] });
  const fwd: tf.KernelConfig = {
    kernelName: NORM_FWD,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const cpu = backend as unknown as CpuBackend;
      const { kind, eps } = attrs as unknown as NormAttrs;
      const { x, gamma, beta } = inputs as Record<string, tf.TensorInfo | undefined>;
      expect(beta === undefined).toBe(kind === 'rmsnorm');
      const xv = readCpu(cpu, x!), gv = readCpu(cpu, gamma!), bv = beta === undefined ? null : readCpu(cpu, beta);
      const { c, rows } = rowsOf(x!);
      const y = new Float32Array(xv.length), stats = new Float32Array(rows * 2);
      for (let r = 0; r < rows; r++) {
        const row = xv.subarray(r * c, (r + 1) * c);
        const mean = kind === 'layernorm' ? row.reduce((a, b) => a + b, 0) / c : 0;
        const rstd = 1 / Math.sqrt(row.reduce((a, b) => a + (b - mean) ** 2, 0) / c + eps);
        for (let j = 0; j < c; j++) y[r * c + j] = (row[j] - mean) * rstd * gv[j] + (bv === null ? 0 : bv[j]);
        stats[2 * r] = mean;
        stats[2 * r + 1] = rstd;
      }
      return [writeCpu(cpu, y, [...x!.shape]), writeCpu(cpu, stats, [rows, 2])];
    },
  };
  const bwd: tf.KernelConfig = {
    kernelName: NORM_BWD,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const cpu = backend as unknown as CpuBackend;
      const { kind } = attrs as unknown as NormAttrs;
      const { x, gamma, stats, dy } = inputs as Record<string, tf.TensorInfo>;
      const [xv, gv, sv, dv] = [x, gamma, stats, dy].map((t) => readCpu(cpu, t));
      const { c, rows } = rowsOf(x);
      const dx = new Float32Array(xv.length), dgamma = new Float64Array(c), dbeta = new Float64Array(c);
      for (let r = 0; r < rows; r++) {
        const [mean, rstd] = [sv[2 * r], sv[2 * r + 1]];
        const xh = Array.from({ length: c }, (_, j) => (xv[r * c + j] - mean) * rstd);
        const g = Array.from({ length: c }, (_, j) => dv[r * c + j] * gv[j]);
        const mg = kind === 'layernorm' ? g.reduce((a, b) => a + b, 0) / c : 0;
        const mgx = g.reduce((a, b, j) => a + b * xh[j], 0) / c;
        for (let j = 0; j < c; j++) {
          dx[r * c + j] = rstd * (g[j] - mg - xh[j] * mgx);
          dgamma[j] += dv[r * c + j] * xh[j];
          dbeta[j] += dv[r * c + j];
        }
      }
      const outs = [writeCpu(cpu, dx, [...x.shape]), writeCpu(cpu, Float32Array.from(dgamma), [c])];
      return kind === 'layernorm' ? [...outs, writeCpu(cpu, Float32Array.from(dbeta), [c])] : outs;
    },
  };
  return [fwd, bwd];
}

/** The tfjs kernels one norm forward and backward dispatches, in order (dy given, so no loss ops; tf.grads' own Identity left out). */
async function normKernels(norm: typeof fusedNorm, kind: NormKind): Promise<string[]> {
  const info = await tf.profile(() => {
    const [x, gamma, dy] = [tf.ones([3, 8]), tf.ones([8]), tf.ones([3, 8])];
    const params = kind === 'layernorm' ? [x, gamma, tf.zeros([8])] : [x, gamma];
    return tf.grads((...p: tf.Tensor[]) => norm(p[0], p[1], p[2] ?? null, kind, 1e-5))(params, dy);
  });
  return info.kernels.map((k) => k.name).filter((name) => name !== 'Identity');
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('fusedNorm', () => {
  it('is the composed ops bit for bit on a backend without the kernel (cpu), values and gradients', () => {
    const rng = new Rng(11);
    for (const kind of KINDS) {
      for (const shape of SHAPES) {
        const c = shape[shape.length - 1];
        const [x, gamma, w] = [random(shape, rng), random([c], rng, 0.5, 1.5), random(shape, rng, -1, 1)];
        const beta = kind === 'layernorm' ? random([c], rng) : null;
        const fused = valueAndGrads(fusedNorm, x, gamma, beta, kind, w);
        const composed = valueAndGrads(composedNorm, x, gamma, beta, kind, w);
        expect(fused.length).toBe(kind === 'layernorm' ? 4 : 3);
        fused.forEach((f, i) => expect(Array.from(f), `${kind} [${shape}] tensor ${i}`).toEqual(Array.from(composed[i])));
        tf.dispose([x, gamma, w, ...(beta ? [beta] : [])]);
      }
    }
  });

  describe('with NORM_FWD / NORM_BWD registered (float64 reference kernels on cpu)', () => {
    beforeAll(() => {
      for (const k of referenceKernels()) tf.registerKernel(k);
    });
    afterAll(() => {
      tf.unregisterKernel(NORM_FWD, 'cpu');
      tf.unregisterKernel(NORM_BWD, 'cpu');
    });

    it('runs the kernels, and its gradient (via NORM_BWD) agrees with autodiff of the composed ops', () => {
      const rng = new Rng(12);
      for (const kind of KINDS) {
        for (const shape of SHAPES) {
          const c = shape[shape.length - 1];
          const [x, gamma, w] = [random(shape, rng), random([c], rng, 0.5, 1.5), random(shape, rng, -1, 1)];
          const beta = kind === 'layernorm' ? random([c], rng) : null;
          const before = tf.memory().numTensors;
          const fused = valueAndGrads(fusedNorm, x, gamma, beta, kind, w);
          expect(tf.memory().numTensors, 'no tensor leaks').toBe(before);
          const composed = valueAndGrads(composedNorm, x, gamma, beta, kind, w);
          expect(fused.length).toBe(composed.length);
          fused.forEach((f, i) => {
            const err = Math.max(...f.map((v, j) => Math.abs(v - composed[i][j]) / (1 + Math.abs(composed[i][j]))));
            expect(err, `${kind} [${shape}] tensor ${i}`).toBeLessThan(2e-5);
          });
          tf.dispose([x, gamma, w, ...(beta ? [beta] : [])]);
        }
      }
    });

    it('is one kernel forward and one backward (the composed ops are not used)', async () => {
      for (const kind of KINDS) {
        expect(await normKernels(fusedNorm, kind), kind).toEqual([NORM_FWD, NORM_BWD]);
      }
    });
  });

  it('composed, a norm forward and backward is many kernels (what the fused kernels replace)', async () => {
    const counts = { layernorm: (await normKernels(composedNorm, 'layernorm')).length, rmsnorm: (await normKernels(composedNorm, 'rmsnorm')).length };
    console.log(`composed norm kernels (forward + backward): ${JSON.stringify(counts)}; fused: 2 each`);
    expect(counts.layernorm).toBeGreaterThan(10);
    expect(counts.rmsnorm).toBeGreaterThan(5);
  });

  it('rejects bad shapes and kinds with one line naming the argument', () => {
    const x = tf.zeros([2, 4]);
    expect(() => fusedNorm(x, tf.ones([3]), tf.zeros([4]), 'layernorm', 1e-5)).toThrow(/gamma has shape \[3\], expected \[4\]/);
    expect(() => fusedNorm(x, tf.ones([4]), null, 'layernorm', 1e-5)).toThrow(/layernorm needs beta/);
    expect(() => fusedNorm(x, tf.ones([4]), tf.zeros([4]), 'rmsnorm', 1e-5)).toThrow(/rmsnorm has no beta/);
    expect(() => fusedNorm(x, tf.ones([4]), null, 'batchnorm' as NormKind, 1e-5)).toThrow(/kind 'batchnorm'/);
  });
});
