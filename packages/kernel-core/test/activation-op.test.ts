/**
 * The fused activation op (src/tfjs/activation.ts, activation-names.ts). cpu has no ACTIVATION_FWD kernel,
 * so fusedActivation must be the composed ops bit for bit, values and gradients. The contract's step list
 * (activation-names.ts) and the gradient wiring (activation-grad.ts) are checked by registering kernels on
 * cpu for one test that compute exactly that step list in float32: fusedActivation then runs
 * ACTIVATION_FWD/ACTIVATION_BWD and must still equal the composed ops and their autodiff bit for bit.
 * Fixed seeds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@sigattn/common';
import { ACTIVATION_BWD, ACTIVATION_FWD, composedActivation, fusedActivation, type ActivationAttrs, type ActivationKind } from '../src/index.js';
import { GELU_TANH_A, GELU_TANH_C } from '../src/tfjs/activation-names.js';
import { readCpu, writeCpu, type CpuBackend } from '../src/tfjs/kernels/backend-access.js';

const KINDS: ActivationKind[] = ['gelu_tanh', 'silu'];
const f = Math.fround;
const K = f(GELU_TANH_A), C = f(GELU_TANH_C);

/** Values over [-20, 20], the region near 0, and the special values. */
function inputs(rng: Rng): Float32Array {
  const wide = Array.from({ length: 3000 }, () => rng.uniform(-20, 20));
  const narrow = Array.from({ length: 1000 }, () => rng.uniform(-3, 3));
  const tiny = Array.from({ length: 200 }, () => rng.uniform(-1e-3, 1e-3));
  return Float32Array.from([...wide, ...narrow, ...tiny, 0, -0, 1, -1, 20, -20, 1e30, -1e30, Infinity, -Infinity, NaN]);
}

/** The contract's forward and backward step lists (activation-names.ts), each line one float32 rounding. */
function contractForward(kind: ActivationKind, x: number): number {
  if (kind === 'silu') return f(x * f(1 / (1 + Math.exp(-x))));
  const x2 = f(x * x), x3 = f(x2 * x), k = f(x3 * K), d = f(x + k), i = f(d * C);
  const t = f(Math.tanh(i)), e = f(t + 1), h = f(x * 0.5);
  return f(h * e);
}

function contractBackward(kind: ActivationKind, x: number, dy: number): number {
  if (kind === 'silu') {
    const s = f(1 / (1 + Math.exp(-x)));
    return f(f(dy * s) + f(f(dy * x) * f(s * f(1 - s))));
  }
  const x2 = f(x * x), x3 = f(x2 * x), k = f(x3 * K), d = f(x + k), i = f(d * C);
  const t = f(Math.tanh(i)), e = f(t + 1), h = f(x * 0.5);
  const dh = f(dy * e), dt = f(dy * h);
  const di = f(f(1 - f(t * t)) * dt), dd = f(di * C), d3 = f(dd * K), d2 = f(d3 * x);
  return f(f(f(f(f(dh * 0.5) + dd) + f(d3 * x2)) + f(d2 * x)) + f(d2 * x));
}

function contractKernels(): tf.KernelConfig[] {
  const fwd: tf.KernelConfig = {
    kernelName: ACTIVATION_FWD,
    backendName: 'cpu',
    kernelFunc: ({ inputs: ins, backend, attrs }) => {
      const cpu = backend as unknown as CpuBackend;
      const { kind } = attrs as unknown as ActivationAttrs;
      const x = ins.x as tf.TensorInfo;
      return writeCpu(cpu, readCpu(cpu, x).map((v) => contractForward(kind, v)), [...x.shape]);
    },
  };
  const bwd: tf.KernelConfig = {
    kernelName: ACTIVATION_BWD,
    backendName: 'cpu',
    kernelFunc: ({ inputs: ins, backend, attrs }) => {
      const cpu = backend as unknown as CpuBackend;
      const { kind } = attrs as unknown as ActivationAttrs;
      const { x, dy } = ins as Record<string, tf.TensorInfo>;
      const [xv, dv] = [readCpu(cpu, x), readCpu(cpu, dy)];
      return writeCpu(cpu, xv.map((v, j) => contractBackward(kind, v, dv[j])), [...x.shape]);
    },
  };
  return [fwd, bwd];
}

/** y and d(Σ w·y)/dx as flat arrays. */
function valueAndGrad(act: typeof fusedActivation, x: tf.Tensor, kind: ActivationKind, w: tf.Tensor): Float32Array[] {
  return tf.tidy(() => {
    const y = act(x, kind);
    const dx = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(act(v, kind), w)))(x);
    return [y.dataSync() as Float32Array, dx.dataSync() as Float32Array];
  });
}

/** Bitwise equality (NaN equals NaN, +0 differs from −0 only if the composed ops differ too). */
function expectSameBits(got: Float32Array, want: Float32Array, what: string): void {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length), w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  const bad = Array.from(g.keys()).filter((j) => g[j] !== w[j] && !(Number.isNaN(got[j]) && Number.isNaN(want[j])));
  expect(bad.slice(0, 5).map((j) => `#${j}: ${got[j]} vs ${want[j]}`), what).toEqual([]);
}

/** The tfjs kernels one activation forward and backward dispatches (dy given, so no loss ops; tf.grads' own Identity left out). */
async function activationKernels(act: typeof fusedActivation, kind: ActivationKind): Promise<string[]> {
  const info = await tf.profile(() => tf.grads((x: tf.Tensor) => act(x, kind))([tf.ones([3, 8])], tf.ones([3, 8])));
  return info.kernels.map((k) => k.name).filter((name) => name !== 'Identity');
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('fusedActivation', () => {
  it('is the composed ops bit for bit on a backend without the kernel (cpu), values and gradients', () => {
    const rng = new Rng(21);
    for (const kind of KINDS) {
      const xv = inputs(rng);
      const [x, w] = [tf.tensor(xv, [xv.length]), tf.tensor(Float32Array.from(xv, () => rng.uniform(-1, 1)))];
      const fused = valueAndGrad(fusedActivation, x, kind, w);
      const composed = valueAndGrad(composedActivation, x, kind, w);
      fused.forEach((v, i) => expectSameBits(v, composed[i], `${kind} ${i === 0 ? 'y' : 'dx'}`));
      tf.dispose([x, w]);
    }
  });

  describe('with ACTIVATION_FWD / ACTIVATION_BWD registered (the contract step list in float32, on cpu)', () => {
    beforeAll(() => {
      for (const k of contractKernels()) tf.registerKernel(k);
    });
    afterAll(() => {
      tf.unregisterKernel(ACTIVATION_FWD, 'cpu');
      tf.unregisterKernel(ACTIVATION_BWD, 'cpu');
    });

    it('runs the kernels, and values and gradients equal the composed ops and their autodiff bit for bit', () => {
      const rng = new Rng(22);
      for (const kind of KINDS) {
        for (const shape of [[1], [7], [3, 11], [2, 3, 5, 7]]) {
          const n = shape.reduce((a, b) => a * b, 1);
          const [x, w] = [tf.tensor(Float32Array.from({ length: n }, () => rng.uniform(-6, 6)), shape), tf.tensor(Float32Array.from({ length: n }, () => rng.uniform(-1, 1)), shape)];
          const before = tf.memory().numTensors;
          const fused = valueAndGrad(fusedActivation, x, kind, w);
          expect(tf.memory().numTensors, 'no tensor leaks').toBe(before);
          const composed = valueAndGrad(composedActivation, x, kind, w);
          fused.forEach((v, i) => expectSameBits(v, composed[i], `${kind} [${shape}] ${i === 0 ? 'y' : 'dx'}`));
          tf.dispose([x, w]);
        }
        // Wide and special values through the kernels too.
        const xv = inputs(rng);
        const [x, w] = [tf.tensor(xv), tf.tensor(Float32Array.from(xv, () => rng.uniform(-1, 1)))];
        const fused = valueAndGrad(fusedActivation, x, kind, w);
        const composed = valueAndGrad(composedActivation, x, kind, w);
        fused.forEach((v, i) => expectSameBits(v, composed[i], `${kind} wide ${i === 0 ? 'y' : 'dx'}`));
        tf.dispose([x, w]);
      }
    });

    it('is one kernel forward and one backward (the composed ops are not used)', async () => {
      for (const kind of KINDS) expect(await activationKernels(fusedActivation, kind), kind).toEqual([ACTIVATION_FWD, ACTIVATION_BWD]);
    });
  });

  it('composed, an activation forward and backward is many kernels (what the fused kernels replace)', async () => {
    const counts = { gelu_tanh: (await activationKernels(composedActivation, 'gelu_tanh')).length, silu: (await activationKernels(composedActivation, 'silu')).length };
    console.log(`composed activation kernels (forward + backward): ${JSON.stringify(counts)}; fused: 2 each`);
    expect(counts).toEqual({ gelu_tanh: 37, silu: 10 });
  });

  it('rejects an unknown kind and a non-float32 x with one line naming them', () => {
    expect(() => fusedActivation(tf.zeros([2]), 'relu' as ActivationKind)).toThrow(/kind 'relu' is not one of gelu_tanh, silu/);
    expect(() => fusedActivation(tf.tensor([1, 2], [2], 'int32'), 'silu')).toThrow(/x has dtype int32, expected float32/);
  });
});
