/**
 * The fused activation's WGSL kernels (src/webgpu/activation.ts) on the tfjs webgpu backend (lavapipe in
 * CI), against the composed ops and their tfjs autodiff on cpu: y and dx for gelu_tanh and silu, ranks 2
 * to 4, element counts that are and are not multiples of 4 (the vec4 and the scalar kernels), inputs over
 * [−20, 20], near 0 and the values 0, −0, ±1, ±20. Every output lands in a NaN-poisoned buffer, so an
 * unwritten element fails. Fixed seeds. (Infinities and NaN inputs are left out: WGSL does not promise
 * IEEE behaviour for them.)
 *
 * Tolerance: WGSL has no double, so tanh and the sigmoid are float32 here where the contract rounds them
 * from double, and the compiler may contract to fma. Each element may differ by 8 units of 2⁻²⁴ times
 * the magnitude of the terms it is made of, with tanh's and the sigmoid's own error (a few ulps of 1, or
 * of s) carried through to the output; the bound is computed per element in float64 and the worst
 * observed ratio to it is printed.
 *
 * No adapter fails the file unless SIGATTN_ALLOW_NO_WEBGPU=1 (then it is skipped, with the reason).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@sigattn/common';
import { ACTIVATION_BWD, ACTIVATION_FWD, composedActivation, fusedActivation, initBackend, type ActivationKind } from '../src/index.js';
import { GELU_TANH_A, GELU_TANH_C } from '../src/tfjs/activation-names.js';
import { ACTIVATION_WEBGPU_KERNELS } from '../src/webgpu/activation.js';
import { runPoisoned, spyOnDispatches, uploadToGPU, webgpuMissingReason } from './webgpu-pass-helpers.js';

const KINDS: ActivationKind[] = ['gelu_tanh', 'silu'];
const U = 2 ** -24;
const K = 8;
/** Ranks 2–4; 4, 1600, 28·1536 and 42·128 elements are multiples of 4 (vec4), 1·1, 50·257 … are not. */
const SHAPES = [[1, 4], [1, 1], [50, 32], [50, 257], [1031, 33], [2, 3, 7, 128], [2, 7, 257], [4, 7, 1536]];

const missingReason = await webgpuMissingReason();

/** Wide values, the region near 0, tiny ones, and the special finite values, in random order. */
function inputs(rng: Rng, n: number): Float32Array {
  const special = [0, -0, 1, -1, 20, -20];
  return Float32Array.from({ length: n }, (_, i) => {
    if (i < special.length && n > 2 * special.length) return special[i];
    const pick = rng.int(4);
    return pick === 0 ? rng.uniform(-20, 20) : pick === 1 ? rng.uniform(-1e-3, 1e-3) : rng.uniform(-4, 4);
  });
}

/** Per-element bounds on |webgpu − cpu| for y and dx (see the file comment), in float64. */
function bounds(kind: ActivationKind, x: Float32Array, dy: Float32Array): [Float64Array, Float64Array] {
  const ty = new Float64Array(x.length), tdx = new Float64Array(x.length);
  for (let j = 0; j < x.length; j++) {
    const v = x[j], g = Math.abs(dy[j]);
    if (kind === 'silu') {
      const s = 1 / (1 + Math.exp(-v));
      // exp's error grows with |x| (WGSL allows 3 + 2|x| ulps); s enters as a product.
      const k = K * U * (1 + Math.abs(v) / 4);
      ty[j] = k * Math.abs(v * s);
      tdx[j] = k * (g * s + g * Math.abs(v) * s * ((1 - s) + s));
    } else {
      const inner = (v + GELU_TANH_A * v ** 3) * GELU_TANH_C;
      const t = Math.tanh(inner), h = Math.abs(v / 2);
      // tanh's error: a few ulps of 1, plus i's rounding carried through (1 − t²)·|i|.
      const tErr = 1 + Math.abs(inner) * (1 - t * t);
      const dInner = GELU_TANH_C * (1 + 3 * GELU_TANH_A * v * v);
      ty[j] = K * U * (h * (1 + Math.abs(t)) + h * tErr);
      const terms = 0.5 * g * (1 + t) + g * h * (1 - t * t) * dInner;
      tdx[j] = K * U * (terms + g * (0.5 + 2 * h * Math.abs(t) * dInner) * tErr + g * h * (1 - t * t) * dInner * 4);
    }
  }
  return [ty, tdx];
}

describe.skipIf(missingReason !== '')('fused activation on webgpu (lavapipe in CI)', () => {
  beforeAll(async () => { await initBackend('webgpu'); });
  afterAll(async () => { await initBackend('cpu'); });

  it(`y and dx match the composed ops on cpu within the stated bound: ${KINDS.length} kinds × ${SHAPES.length} shapes, poisoned outputs`, async () => {
    const rng = new Rng(20261211);
    let [worst, inexact, total] = [0, 0, 0];
    const failures: string[] = [];
    for (const kind of KINDS) {
      for (const shape of SHAPES) {
        const n = tf.util.sizeFromShape(shape);
        const xv = inputs(rng, n), dyv = Float32Array.from({ length: n }, () => rng.normal());
        await tf.setBackend('cpu');
        const want = tf.tidy(() => {
          const [x, dy] = [tf.tensor(xv, shape), tf.tensor(dyv, shape)];
          return [composedActivation(x, kind), tf.grad((t: tf.Tensor) => composedActivation(t, kind))(x, dy)].map((t) => t.dataSync() as Float32Array);
        });
        await tf.setBackend('webgpu');
        const [x, dy] = [tf.tensor(xv, shape), tf.tensor(dyv, shape)];
        const got = [...await runPoisoned(ACTIVATION_FWD, { x }, { kind }, [shape]), ...await runPoisoned(ACTIVATION_BWD, { x, dy }, { kind }, [shape])];
        tf.dispose([x, dy]);
        const tol = bounds(kind, xv, dyv);
        got.forEach((g, k) => {
          for (let i = 0; i < n; i++) {
            const err = Math.abs(g[i] - want[k][i]);
            total++;
            if (err > 0) [worst, inexact] = [Math.max(worst, err / tol[k][i]), inexact + 1];
            if (!(err <= tol[k][i]) && failures.length < 8) {
              failures.push(`${kind} [${shape}] ${k === 0 ? 'y' : 'dx'}[${i}] (x = ${xv[i]}, dy = ${dyv[i]}) = ${g[i]}, want ${want[k][i]} ± ${tol[k][i].toExponential(2)}`);
            }
          }
        });
      }
    }
    expect(failures.join('\n')).toBe('');
    console.log(`webgpu fused activation: ${inexact} of ${total} outputs differ from the composed ops on cpu, the worst by ${worst.toFixed(3)} of its bound`);
  }, 60_000);

  it('fusedActivation with its gradient runs exactly the fused WGSL kernels, one dispatch each way', async () => {
    const { dispatched, restore } = spyOnDispatches();
    try {
      for (const kind of KINDS) {
        for (const shape of [[6, 16], [5, 7]]) {
          const rng = new Rng(shape[1]);
          const n = tf.util.sizeFromShape(shape);
          const [x, dy] = [tf.tensor(rng.normalF32(n, 1), shape), tf.tensor(rng.normalF32(n, 1), shape)];
          uploadToGPU([x, dy]);
          dispatched.length = 0;
          const info = await tf.profile(() => tf.grad((t: tf.Tensor) => fusedActivation(t, kind))(x, dy));
          expect(info.kernels.map((k) => k.name).filter((name) => name !== 'Identity'), `${kind} [${shape}]: tfjs kernels`).toEqual([ACTIVATION_FWD, ACTIVATION_BWD]);
          const vec4 = n % 4 === 0;
          expect(dispatched, `${kind} [${shape}]: dispatches`).toEqual([ACTIVATION_WEBGPU_KERNELS.fwd(kind, vec4), ACTIVATION_WEBGPU_KERNELS.bwd(kind, vec4)]);
          tf.dispose([x, dy, info.result as tf.Tensor]);
        }
      }
    } finally {
      restore();
    }
  });

  it('an empty input gives an empty output; bad inputs fail with one line', () => {
    const y = tf.engine().runKernel(ACTIVATION_FWD, { x: tf.zeros([0, 3]) }, { kind: 'silu' }) as tf.Tensor;
    expect(y.shape).toEqual([0, 3]);
    const x = tf.zeros([2, 3]);
    expect(() => tf.engine().runKernel(ACTIVATION_BWD, { x, dy: tf.zeros([3, 2]) }, { kind: 'silu' })).toThrow(`${ACTIVATION_BWD} (webgpu): dy has shape [3, 2] but x has [2, 3]`);
    expect(() => tf.engine().runKernel(ACTIVATION_FWD, { x }, { kind: 'relu' })).toThrow(/kind 'relu' is not one of/);
  });
});
