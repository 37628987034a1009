/**
 * The fused `attention` op on every tfjs backend available here: cpu and wasm always, webgpu when its
 * kernels are registered and an adapter exists. The same random cases run on each backend; forward
 * (O and LSE straight from the kernel) and gradients (tf.grads through attention()) must meet the
 * 2× naive-f32 rule against the float64 reference (kernel-notes.md §7).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ATTENTION_BWD,
  ATTENTION_FWD,
  attention,
  attrsFromResolved,
  WebGPUAttention,
  checkAttentionCase,
  checkWebGPUCase,
  lseFromStats,
  runWebGPUCase,
  flashAttentionBackward,
  flashAttentionForward,
  initBackend,
  makeRng,
  randomAttentionCase,
  randomNormalF32,
  referenceAttentionForward,
  resolveAttention,
  testSeed,
  type AttentionCase,
  type BackendName,
} from '../src/index.js';

const seed = testSeed();
const CASES_PER_KIND = 100;

/**
 * cpu and wasm always; webgpu wherever an adapter exists (Mesa lavapipe in CI). On webgpu the naive
 * yardstick is the larger error of the CPU naive path and the naive WGSL path on the same device
 * (src/webgpu/check.ts): the device's exp() differs from Math.exp by a few ulp, and with errors of a
 * few ulp that alone moves the maximum by more than 2×.
 */
async function availableBackends(): Promise<BackendName[]> {
  const backends: BackendName[] = ['cpu', 'wasm'];
  if (tf.getKernel(ATTENTION_FWD, 'webgpu') !== undefined && tf.getKernel(ATTENTION_BWD, 'webgpu') !== undefined) {
    try {
      await initBackend('webgpu');
      backends.push('webgpu');
    } catch (e) {
      console.warn(`attention-op tests: webgpu kernels are registered but the backend is unavailable (${(e as Error).message})`);
    }
  }
  return backends;
}
const backends = await availableBackends();

// One list of cases shared by all backends (each case derives from its own seed, printed on failure),
// so the reference is computed once per case.
const cases: AttentionCase[] = [];
for (const kind of ['sigmoid', 'softmax'] as const) {
  for (let n = 0; n < CASES_PER_KIND; n++) {
    cases.push(randomAttentionCase(makeRng(seed + (kind === 'sigmoid' ? 0 : 100_000) + n), { kind }));
  }
}

/** The naive WGSL yardstick, compiled once on the webgpu backend's device. */
let naiveHost: WebGPUAttention | null = null;

async function runCase(c: AttentionCase): Promise<string> {
  const q = tf.tensor4d(c.q, c.qShape);
  const k = tf.tensor4d(c.k, c.kvShape);
  const v = tf.tensor4d(c.v, c.kvShape);
  const dO = tf.tensor4d(c.dO, c.qShape);
  const attrs = attrsFromResolved(c.resolved) as unknown as tf.NamedAttrMap;
  const [o, stats] = tf.engine().runKernel(ATTENTION_FWD, { q, k, v }, attrs) as tf.Tensor[];
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) =>
    attention(a as tf.Tensor4D, b as tf.Tensor4D, d as tf.Tensor4D, c.spec))([q, k, v], dO);
  const [oData, statsData, dq, dk, dv] = await Promise.all([o, stats, ...grads].map((t) => t.data()));
  tf.dispose([q, k, v, dO, o, stats, ...grads]);
  const got = { o: oData, lse: lseFromStats(statsData), dq, dk, dv };
  if (tf.getBackend() === 'webgpu') {
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    if (naiveHost?.device !== device) naiveHost = new WebGPUAttention(device);
    return checkWebGPUCase(c, got, await runWebGPUCase(naiveHost, c, 'naive')).message;
  }
  return checkAttentionCase(c, got).message;
}

for (const backend of backends) {
  describe(`attention op on ${backend} (seed ${seed})`, () => {
    beforeAll(async () => {
      await initBackend(backend);
    });

    for (const kind of ['sigmoid', 'softmax'] as const) {
      it(`${kind}: ${CASES_PER_KIND} random cases, O/LSE/dQ/dK/dV within 2× the naive f32 error`, async () => {
        const before = tf.memory().numTensors;
        const failures: string[] = [];
        for (const c of cases.filter((x) => x.spec.kind === kind)) {
          const message = await runCase(c);
          if (message !== '') failures.push(message);
        }
        expect(failures.join('\n')).toBe('');
        expect(tf.memory().numTensors, 'tensors leaked by the op or its gradient').toBe(before);
        // webgpu on lavapipe compiles its pipelines on first use: ~1–3 min on 2 cores with a cold Mesa cache.
      }, 600_000);
    }

    it('attention mass at init: σ(z − log n) rows sum to ≈ n/(n+1) for near-zero logits', async () => {
      const rng = makeRng(seed);
      const [B, H, N, D] = [2, 3, 37, 32];
      // Tiny random q, k (not zeros) make every logit ≈ 0; V = 1 turns each output row into its row mass.
      const q = tf.tensor4d(randomNormalF32(rng, B * H * N * D, 1e-4), [B, H, N, D]);
      const k = tf.tensor4d(randomNormalF32(rng, B * H * N * D, 1e-4), [B, H, N, D]);
      const v = tf.ones([B, H, N, D]) as tf.Tensor4D;
      for (const [bias, expected] of [[{ negLogN: N }, N / (N + 1)], [0, N / 2]] as const) {
        const o = attention(q, k, v, { kind: 'sigmoid', bias });
        const data = await o.data();
        o.dispose();
        for (let x = 0; x < data.length; x++) expect(data[x]).toBeCloseTo(expected, 4);
      }
      tf.dispose([q, k, v]);
    });
  });
}

describe('registration', () => {
  it('registers both kernels for cpu and wasm and the gradient on import', () => {
    for (const b of ['cpu', 'wasm']) {
      expect(tf.getKernel(ATTENTION_FWD, b), `${ATTENTION_FWD} on ${b}`).toBeDefined();
      expect(tf.getKernel(ATTENTION_BWD, b), `${ATTENTION_BWD} on ${b}`).toBeDefined();
    }
    expect(tf.getGradient(ATTENTION_FWD)).toBeDefined();
  });

  it('rejects non-float32 inputs, naming the tensor and the fix', async () => {
    await initBackend('cpu');
    const q = tf.ones([1, 1, 4, 8], 'int32') as tf.Tensor4D;
    const k = tf.ones([1, 1, 4, 8]) as tf.Tensor4D;
    expect(() => attention(q, k, k, { kind: 'softmax' })).toThrow(/q must have dtype float32, got int32.*tf\.cast/);
    tf.dispose([q, k]);
  });
});

describe('TypeScript flash kernels on poisoned buffers', () => {
  // Outputs start as NaN, so any element the kernels forget to write fails the comparison.
  const rng = makeRng(seed + 7);
  it('write every element of O, the row statistics, dQ, dK, dV (40 random cases)', () => {
    const failures: string[] = [];
    for (let n = 0; n < 40; n++) {
      const c = randomAttentionCase(makeRng(seed + 200_000 + n), { maxN: rng.pick([20, 70]) });
      const r = c.resolved;
      const o = new Float32Array(c.q.length).fill(NaN);
      const stats = new Float32Array(2 * r.B * r.H * r.Nq).fill(NaN);
      const dq = new Float32Array(c.q.length).fill(NaN);
      const dk = new Float32Array(c.k.length).fill(NaN);
      const dv = new Float32Array(c.v.length).fill(NaN);
      flashAttentionForward(r, c.q, c.k, c.v, o, stats);
      flashAttentionBackward(r, c.q, c.k, c.v, o, stats, c.dO, dq, dk, dv);
      const message = checkAttentionCase(c, { o, lse: lseFromStats(stats), dq, dk, dv }).message;
      if (message !== '') failures.push(message);
    }
    expect(failures.join('\n')).toBe('');
  });

  it('are checked strictly: a 1 % scale error is caught', () => {
    // Skip cases whose output is ~0 everywhere (e.g. every key padded away), where scale cannot matter.
    let c = randomAttentionCase(makeRng(seed + 9), { kind: 'sigmoid', maxN: 30 });
    for (let n = 10; referenceAttentionForward(c.resolved, c.q, c.k, c.v).o.every((x) => Math.abs(x) < 1e-3); n++) {
      c = randomAttentionCase(makeRng(seed + n), { kind: 'sigmoid', maxN: 30 });
    }
    const wrong = resolveAttention(c.qShape, c.kvShape, c.kvShape, { ...c.spec, scale: c.resolved.scale * 1.01 });
    const o = new Float32Array(c.q.length);
    const stats = new Float32Array(2 * wrong.B * wrong.H * wrong.Nq);
    flashAttentionForward(wrong, c.q, c.k, c.v, o, stats);
    expect(checkAttentionCase(c, { o }).message, c.label).not.toBe('');
  });
});

afterAll(async () => {
  await initBackend('cpu');
});
