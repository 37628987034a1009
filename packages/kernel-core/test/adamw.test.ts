/**
 * The fused AdamW kernel (ADAMW_UPDATE, src/tfjs/adamw-names.ts). cpu and wasm: bit for bit the composed
 * tfjs ops that model-zoo's AdamW ran before it (the same float32 scalars, the same operation order),
 * over several steps, shapes (odd sizes too), both decay groups and non-default betas. webgpu (lavapipe
 * in CI): within a few float32 ulps of the same update (WGSL may fuse a multiply-add into an fma), with
 * the outputs placed in NaN-poisoned buffers so an unwritten element fails. Fixed seeds.
 * No adapter fails the webgpu part unless SIGATTN_ALLOW_NO_WEBGPU=1 (then it is skipped, with the reason).
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@sigattn/common';
import { ADAMW_UPDATE, initBackend, requestWebGPUDevice, type AdamWAttrs } from '../src/index.js';
import { adamwConstants, adamwUpdate } from '../src/tfjs/kernels/adamw-update.js';

const SHAPES = [[1], [7], [3, 5], [17, 33], [4, 3, 129], [1031]];
const STEPS = 4;

interface Hyper { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number }
const HYPERS: Hyper[] = [
  { lr: 0.003, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 },
  { lr: 0.003, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
  { lr: 0.1, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.3 },
];

function attrsAt(h: Hyper, t: number): AdamWAttrs {
  return { lr: h.lr * t, beta1: h.beta1, beta2: h.beta2, eps: h.eps, weightDecay: h.weightDecay, biasCorrection1: 1 - h.beta1 ** t, biasCorrection2: 1 - h.beta2 ** t };
}

/** The update as model-zoo's AdamW composed it before the fused kernel (optim/adamw.ts' fallback). */
function composed(w: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, a: AdamWAttrs): tf.Tensor[] {
  return tf.tidy(() => {
    const m1 = tf.add(tf.mul(m, tf.scalar(a.beta1)), tf.mul(g, tf.scalar(1 - a.beta1)));
    const v1 = tf.add(tf.mul(v, tf.scalar(a.beta2)), tf.mul(tf.square(g), tf.scalar(1 - a.beta2)));
    let u = tf.div(tf.div(m1, tf.scalar(a.biasCorrection1)), tf.add(tf.sqrt(tf.div(v1, tf.scalar(a.biasCorrection2))), tf.scalar(a.eps)));
    if (a.weightDecay > 0) u = tf.add(u, tf.mul(w, tf.scalar(a.weightDecay)));
    return [tf.sub(w, tf.mul(u, tf.scalar(a.lr))), m1, v1];
  });
}

function fused(w: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, a: AdamWAttrs): tf.Tensor[] {
  return tf.engine().runKernel(ADAMW_UPDATE, { param: w, grad: g, m, v }, a as unknown as tf.NamedAttrMap) as tf.Tensor[];
}

/** A gradient with a few exact zeros and a spread of magnitudes (v' = 0 exercises ε alone). */
function gradient(rng: Rng, n: number, step: number): Float32Array {
  const g = rng.normalF32(n, 10 ** (step - 3));
  for (let i = 0; i < n; i += 5) g[i] = 0;
  return g;
}

const bits = (t: tf.Tensor) => new Uint32Array((t.dataSync() as Float32Array).slice().buffer);

describe.each(['cpu', 'wasm'] as const)('fused AdamW on %s', (backend) => {
  it(`is bit-identical to the composed ops: ${SHAPES.length} shapes × ${HYPERS.length} settings × ${STEPS} steps`, async () => {
    await initBackend(backend);
    expect(tf.getKernel(ADAMW_UPDATE, backend)).toBeDefined();
    const rng = new Rng(20261204);
    for (const shape of SHAPES) {
      for (const h of HYPERS) {
        const n = tf.util.sizeFromShape(shape);
        let a = [tf.tensor(rng.normalF32(n, 1), shape), tf.zeros(shape), tf.zeros(shape)];
        let b = a.map((t) => t.clone());
        for (let t = 1; t <= STEPS; t++) {
          const g = tf.tensor(gradient(rng, n, t), shape);
          const at = attrsAt(h, t);
          const want = composed(a[0], g, a[1], a[2], at);
          const got = fused(b[0], g, b[1], b[2], at);
          ['param', 'm', 'v'].forEach((name, k) => {
            expect(got[k].shape).toEqual(shape);
            expect(bits(got[k]), `${name} after step ${t}, shape [${shape}], ${JSON.stringify(h)}`).toEqual(bits(want[k]));
          });
          tf.dispose([g, ...a, ...b]);
          [a, b] = [want, got];
        }
        tf.dispose([...a, ...b]);
      }
    }
  });

  it('rejects mismatched shapes and a missing input with a one-line error', async () => {
    await initBackend(backend);
    const [x, y] = [tf.zeros([3]), tf.zeros([4])];
    const a = attrsAt(HYPERS[0], 1);
    expect(() => fused(x, y, x, x, a)).toThrow(`adamw (${backend}): grad has shape [4] but param has [3]`);
    expect(() => tf.engine().runKernel(ADAMW_UPDATE, { param: x, grad: x, m: x }, a as unknown as tf.NamedAttrMap)).toThrow(/input v is missing/);
    tf.dispose([x, y]);
  });
});

const allowMissing = process.env.SIGATTN_ALLOW_NO_WEBGPU === '1';
let missingReason = '';
try {
  (await requestWebGPUDevice()).device.destroy();
} catch (e) {
  missingReason = (e as Error).message;
  if (!allowMissing) throw new Error(`WebGPU tests need an adapter: ${missingReason} (set SIGATTN_ALLOW_NO_WEBGPU=1 to skip)`);
  console.warn(`webgpu tests skipped: ${missingReason}`);
}

/**
 * Per-element bound on |webgpu − float32 reference|, in float64 from the inputs and the reference: m' and
 * v' within 4 ulps of their terms' magnitude (an fma skips one rounding); û = m̂/(√v̂ + ε) within m''s
 * error carried through plus 32 ulps of û (WGSL allows 2.5 ulps per division and a few for sqrt); w'
 * within lr·(û's error) plus 4 ulps of its terms.
 */
function bounds(a: AdamWAttrs, w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, m1: Float32Array, v1: Float32Array) {
  const c = adamwConstants(a);
  const ulp4 = 2 ** -22;
  const out = { w: new Float64Array(w.length), m: new Float64Array(w.length), v: new Float64Array(w.length) };
  for (let i = 0; i < w.length; i++) {
    out.m[i] = ulp4 * (Math.abs(m[i]) * c.beta1 + Math.abs(g[i]) * c.oneMinusBeta1);
    out.v[i] = ulp4 * (v[i] * c.beta2 + g[i] * g[i] * c.oneMinusBeta2);
    const den = Math.sqrt(v1[i] / c.bc2) + c.eps;
    const uHat = Math.abs(m1[i] / c.bc1 / den);
    const du = out.m[i] / c.bc1 / den + 2 ** -19 * uHat;
    const decay = c.decay ? c.weightDecay * Math.abs(w[i]) : 0;
    out.w[i] = c.lr * du + ulp4 * (Math.abs(w[i]) + c.lr * (uHat + decay));
  }
  return out;
}

describe.skipIf(missingReason !== '')('fused AdamW on webgpu (lavapipe in CI)', () => {
  afterAll(async () => { await initBackend('cpu'); });

  it(`matches the float32 update within a few ulps, outputs in NaN-poisoned buffers: ${SHAPES.length} shapes × ${HYPERS.length} settings × ${STEPS} steps`, async () => {
    await initBackend('webgpu');
    const be = tf.backend() as unknown as { uploadToGPU(id: tf.DataId): void; tensorMap: { get(id: tf.DataId): { resource?: unknown } } };
    const resource = (t: tf.Tensor) => be.tensorMap.get(t.dataId).resource;
    const rng = new Rng(20261205);
    let [worst, inexact, total] = [0, 0, 0];
    for (const shape of SHAPES) {
      for (const h of HYPERS) {
        const n = tf.util.sizeFromShape(shape);
        let state = [tf.tensor(rng.normalF32(n, 1), shape), tf.zeros(shape), tf.zeros(shape)];
        for (let t = 1; t <= STEPS; t++) {
          const g = tf.tensor(gradient(rng, n, t), shape);
          const at = attrsAt(h, t);
          const [w, m, v] = await Promise.all(state.map(async (x) => (await x.data()) as Float32Array));
          const gv = (await g.data()) as Float32Array;
          const want = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
          adamwUpdate(adamwConstants(at), w, gv, m, v, want[0], want[1], want[2]);
          // Inputs on the GPU first, then three NaN buffers of the outputs' size freed last: the pool
          // hands them out first (LIFO), so the outputs land in them.
          for (const x of [...state, g]) be.uploadToGPU(x.dataId);
          const poison = [0, 1, 2].map(() => tf.fill(shape, NaN));
          for (const p of poison) expect(Array.from(await p.data()).every(Number.isNaN)).toBe(true);
          const poisoned = new Set(poison.map(resource));
          tf.dispose(poison);
          const got = fused(state[0], g, state[1], state[2], at);
          expect(got.every((x) => poisoned.has(resource(x))), 'the outputs were not placed in the poisoned buffers').toBe(true);
          const gotValues = await Promise.all(got.map(async (x) => (await x.data()) as Float32Array));
          const tol = bounds(at, w, gv, m, v, want[1], want[2]);
          const failures: string[] = [];
          (['w', 'm', 'v'] as const).forEach((name, k) => {
            for (let i = 0; i < n; i++) {
              const err = Math.abs(gotValues[k][i] - want[k][i]);
              total++;
              if (err > 0) [worst, inexact] = [Math.max(worst, err / tol[name][i]), inexact + 1];
              if (!(err <= tol[name][i]) && failures.length < 5) {
                failures.push(`${name}'[${i}] = ${gotValues[k][i]}, want ${want[k][i]} ± ${tol[name][i].toExponential(2)} (step ${t}, shape [${shape}], ${JSON.stringify(h)})`);
              }
            }
          });
          expect(failures.join('\n')).toBe('');
          tf.dispose([g, ...state]);
          state = got;
        }
        tf.dispose(state);
      }
    }
    console.log(`webgpu fused AdamW: ${inexact} of ${total} outputs differ from the float32 update, the worst by ${worst.toFixed(3)} of its bound`);
  });
});
