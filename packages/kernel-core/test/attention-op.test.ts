/**
 * The fused `attention` op on every tfjs backend available here: cpu and wasm always, webgpu when an
 * adapter exists. The same random cases run on each backend; forward (O and LSE straight from the
 * kernel) and gradients (tf.grads through attention()) must meet the accuracy rule against the float64
 * reference (src/testing/accuracy.ts). Fixed seeds; `npx nx run kernel-core:fuzz` explores fresh ones.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@sigattn/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ATTENTION_BWD,
  ATTENTION_FWD,
  ATTENTION_KINDS,
  WEBGPU_KINDS,
  attention,
  attrsFromResolved,
  WebGPUAttention,
  initBackend,
  resolveAttention,
  type AttentionKind,
  type BackendName,
  type WebGPUKind,
} from '../src/index.js';
import { flashAttentionForward } from '../src/tfjs/kernels/flash-attention-fwd.js';
import { flashAttentionBackward } from '../src/tfjs/kernels/flash-attention-bwd.js';
import {
  checkAttentionCase,
  lseFromStats,
  randomAttentionCase,
  randomAttentionCases,
  referenceAttentionForward,
  runWebGPUCase,
  suiteSeed,
  type AttentionCase,
} from '@sigattn/kernel-core/testing';

const seed = suiteSeed(20261202);
const CASES_PER_KIND = 100;
/** relu/gelu on webgpu run the composed tfjs ops (no WGSL kernels): a few cases cover that path. */
const FALLBACK_CASES = 2;

/**
 * cpu and wasm always; webgpu wherever an adapter exists (Mesa lavapipe in CI). On webgpu the naive
 * yardstick adds the naive WGSL path on the same device: the device's exp() differs from Math.exp by
 * a few ulp, and with errors of a few ulp that alone moves the maximum by more than 2×.
 */
async function availableBackends(): Promise<BackendName[]> {
  const backends: BackendName[] = ['cpu', 'wasm'];
  try {
    await initBackend('webgpu');
    backends.push('webgpu');
  } catch (e) {
    console.warn(`attention-op tests: the webgpu backend is unavailable (${(e as Error).message})`);
  }
  return backends;
}
const backends = await availableBackends();

// One list of cases per kind shared by all backends, so the reference is computed once per case.
const cases = new Map<AttentionKind, AttentionCase[]>(ATTENTION_KINDS.map((kind, k) =>
  [kind, randomAttentionCases(seed + 100_000 * k, CASES_PER_KIND, { kind })]));

/** The naive WGSL yardstick, compiled once on the webgpu backend's device. */
let naiveHost: WebGPUAttention | null = null;

/** Whether the active backend runs `c` on its own fused kernel (webgpu: not relu/gelu). */
function fusedOnActiveBackend(c: AttentionCase): boolean {
  return tf.getBackend() !== 'webgpu' || WEBGPU_KINDS.includes(c.resolved.kind as WebGPUKind);
}

async function runCase(c: AttentionCase): Promise<string> {
  const q = tf.tensor4d(c.q, c.qShape);
  const k = tf.tensor4d(c.k, c.kvShape);
  const v = tf.tensor4d(c.v, c.kvShape);
  const dO = tf.tensor4d(c.dO, c.qShape);
  const fused = fusedOnActiveBackend(c);
  // O and the row statistics straight from the kernel where there is one; else O from the op.
  const forward = fused
    ? tf.engine().runKernel(ATTENTION_FWD, { q, k, v }, attrsFromResolved(c.resolved) as unknown as tf.NamedAttrMap) as tf.Tensor[]
    : [attention(q, k, v, c.spec)];
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) =>
    attention(a as tf.Tensor4D, b as tf.Tensor4D, d as tf.Tensor4D, c.spec))([q, k, v], dO);
  const [oData, dq, dk, dv, statsData] = await Promise.all([forward[0], ...grads, ...forward.slice(1)].map((t) => t.data()));
  tf.dispose([q, k, v, dO, ...forward, ...grads]);
  const got = { o: oData, dq, dk, dv, ...(statsData === undefined ? {} : { lse: lseFromStats(statsData) }) };
  if (tf.getBackend() === 'webgpu' && fused) {
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    if (naiveHost?.device !== device) naiveHost = new WebGPUAttention(device);
    return checkAttentionCase(c, got, await runWebGPUCase(naiveHost, c, 'naive')).message;
  }
  return checkAttentionCase(c, got).message;
}

for (const backend of backends) {
  describe(`attention op on ${backend} (seed ${seed})`, () => {
    beforeAll(async () => {
      await initBackend(backend);
    });

    for (const kind of ATTENTION_KINDS) {
      const fallback = backend === 'webgpu' && !WEBGPU_KINDS.includes(kind as WebGPUKind);
      const count = fallback ? FALLBACK_CASES : CASES_PER_KIND;
      it(`${kind}: ${count} random cases${fallback ? ' through the composed fallback' : ''}, O/LSE/dQ/dK/dV within the accuracy rule`, async () => {
        const before = tf.memory().numTensors;
        const failures: string[] = [];
        for (const c of cases.get(kind)!.slice(0, count)) {
          const message = await runCase(c);
          if (message !== '') failures.push(message);
        }
        expect(failures.join('\n')).toBe('');
        expect(tf.memory().numTensors, 'tensors leaked by the op or its gradient').toBe(before);
        // webgpu on lavapipe compiles its pipelines on first use: ~1–3 min on 2 cores with a cold Mesa cache.
      }, 600_000);
    }

    it('attention mass at init: σ(z − log n) rows sum to ≈ n/(n+1) for near-zero logits', async () => {
      const rng = new Rng(seed);
      const [B, H, N, D] = [2, 3, 37, 32];
      // Tiny random q, k (not zeros) make every logit ≈ 0; V = 1 turns each output row into its row mass.
      const q = tf.tensor4d(rng.normalF32(B * H * N * D, 1e-4), [B, H, N, D]);
      const k = tf.tensor4d(rng.normalF32(B * H * N * D, 1e-4), [B, H, N, D]);
      const v = tf.ones([B, H, N, D]) as tf.Tensor4D;
      for (const [bias, expected] of [[{ negLogN: N }, N / (N + 1)], [0, N / 2]] as const) {
        const o = attention(q, k, v, { kind: 'sigmoid', bias });
        const data = await o.data();
        o.dispose();
        for (let x = 0; x < data.length; x++) expect(data[x]).toBeCloseTo(expected, 4);
      }
      tf.dispose([q, k, v]);
    });

    it('relu and gelu: the bias b = −log n divides the weights by n (a gain, not a shift)', async () => {
      const rng = new Rng(seed + 1);
      const [B, H, N, D] = [1, 2, 19, 32];
      const [q, k, v] = [0, 1, 2].map(() => tf.tensor4d(rng.normalF32(B * H * N * D), [B, H, N, D]));
      for (const kind of ['relu', 'gelu'] as const) {
        const plain = attention(q, k, v, { kind, causal: true });
        const divided = attention(q, k, v, { kind, causal: true, bias: { negLogN: N } });
        const [a, b] = await Promise.all([plain.data(), divided.data()]);
        tf.dispose([plain, divided]);
        expect(a.some((x) => Math.abs(x) > 0.1), `${kind} output is not trivially 0`).toBe(true);
        for (let x = 0; x < a.length; x++) expect(b[x]).toBeCloseTo(a[x] / N, 5);
      }
      tf.dispose([q, k, v]);
    });
  });
}

describe('registration', () => {
  it('initBackend has registered both kernels for cpu, wasm and webgpu, and the gradient', () => {
    for (const b of ['cpu', 'wasm', 'webgpu']) {
      expect(tf.getKernel(ATTENTION_FWD, b), `${ATTENTION_FWD} on ${b}`).toBeDefined();
      expect(tf.getKernel(ATTENTION_BWD, b), `${ATTENTION_BWD} on ${b}`).toBeDefined();
    }
    expect(tf.getGradient(ATTENTION_FWD)).toBeDefined();
  });

  it('importing the package registers nothing; registerAttentionKernels() does', () => {
    // A fresh process, so no other test file's registrations are visible.
    const script = [
      "import * as tf from '@tensorflow/tfjs';",
      "const kc = await import('@sigattn/kernel-core');",
      "const before = tf.getKernel(kc.ATTENTION_FWD, 'cpu') !== undefined || tf.getGradient(kc.ATTENTION_FWD) !== undefined;",
      'kc.registerAttentionKernels();',
      "const after = tf.getKernel(kc.ATTENTION_BWD, 'wasm') !== undefined && tf.getGradient(kc.ATTENTION_FWD) !== undefined;",
      'console.log(JSON.stringify({ before, after }));',
    ].join('\n');
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8' });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ before: false, after: true });
  }, 60_000);

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
  it('write every element of O, the row statistics, dQ, dK, dV (40 random cases of every kind)', () => {
    const failures: string[] = [];
    const short = randomAttentionCases(seed + 200_000, 20, { maxN: 20 });
    const long = randomAttentionCases(seed + 300_000, 20, { maxN: 70 });
    for (const c of [...short, ...long]) {
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
    let c = randomAttentionCase(seed + 9, { kind: 'sigmoid', maxN: 30 });
    for (let n = 10; referenceAttentionForward(c.resolved, c.q, c.k, c.v).o.every((x) => Math.abs(x) < 1e-3); n++) {
      c = randomAttentionCase(seed + n, { kind: 'sigmoid', maxN: 30 });
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
