/**
 * WGSL flash kernels on a real WebGPU adapter (Mesa lavapipe in CI): ≥ 100 random cases per kind
 * (ragged N, D ∈ {32, 64, 128}, causal, ALiBi, GQA, padding, Nq ≠ Nk) plus longer sequences that span
 * several tiles, outputs poisoned with NaN, forward and gradients vs the float64 reference under the
 * project's rule: error ≤ 2× the naive f32 implementation's (src/webgpu/check.ts).
 * No adapter fails the suite unless SIGATTN_ALLOW_NO_WEBGPU=1 (then it is skipped, with the reason).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import {
  WebGPUAttention, attention, checkWebGPUCase, initBackend, makeRng, poisonedF32, randomAttentionCase,
  requestWebGPUDevice, runWebGPUCase, testSeed, uploadF32, type AttentionCase, type AttentionKind, type AttentionOutputs,
} from '../src/index.js';

const CASES_PER_KIND = 100;
const allowMissing = process.env.SIGATTN_ALLOW_NO_WEBGPU === '1';

let device: GPUDevice | null = null;
let missingReason = '';
try {
  device = (await requestWebGPUDevice()).device;
} catch (e) {
  missingReason = (e as Error).message;
  if (!allowMissing) throw new Error(`WebGPU tests need an adapter: ${missingReason} (set SIGATTN_ALLOW_NO_WEBGPU=1 to skip)`);
}
const skip = device === null;
if (skip) console.warn(`webgpu tests skipped: ${missingReason}`);

describe.skipIf(skip)('WGSL flash attention vs float64 reference (lavapipe in CI)', () => {
  let host: WebGPUAttention;
  beforeAll(() => { host = new WebGPUAttention(device as GPUDevice); });

  for (const kind of ['sigmoid', 'softmax'] as AttentionKind[]) {
    it(`${kind}: ${CASES_PER_KIND} random cases, forward + dQ/dK/dV, NaN-poisoned outputs`, async () => {
      const rng = makeRng(testSeed());
      const failures: string[] = [];
      const seen = { causal: 0, alibi: 0, gqa: 0, padded: 0, ragged: 0, D: new Set<number>() };
      for (let n = 0; n < CASES_PER_KIND; n++) {
        const c = randomAttentionCase(rng, { kind });
        const r = c.resolved;
        seen.causal += +r.causal; seen.alibi += +(r.alibiSlopes !== null); seen.gqa += +(r.H !== r.Hkv);
        seen.padded += +(r.keyLengths !== null); seen.ragged += +(r.Nk % 64 !== 0); seen.D.add(r.D);
        const check = checkWebGPUCase(c, await runWebGPUCase(host, c, 'flash'), await runWebGPUCase(host, c, 'naive'));
        if (!check.ok) failures.push(check.message);
      }
      expect(failures.join('\n')).toBe('');
      // The random draw must actually cover every feature.
      expect(Math.min(seen.causal, seen.alibi, seen.gqa, seen.padded, seen.ragged)).toBeGreaterThan(5);
      expect(seen.D.size).toBe(3);
    }, 600_000);
  }

  it('long sequences (several 64-row tiles, causal block skipping): 6 cases per kind up to N = 300', async () => {
    const rng = makeRng(testSeed() + 1);
    const failures: string[] = [];
    for (let n = 0; n < 12; n++) {
      const c = randomAttentionCase(rng, { kind: n % 2 === 0 ? 'sigmoid' : 'softmax', maxN: 300, maxBatch: 1, maxKvHeads: 1 });
      const check = checkWebGPUCase(c, await runWebGPUCase(host, c, 'flash'), await runWebGPUCase(host, c, 'naive'));
      if (!check.ok) failures.push(check.message);
    }
    expect(failures.join('\n')).toBe('');
  }, 600_000);

  it('rejects unsupported head dims with an error naming D', () => {
    const rng = makeRng(1);
    const c = randomAttentionCase(rng, { headDims: [48] });
    const d = device as GPUDevice;
    const b = { q: uploadF32(d, c.q), k: uploadF32(d, c.k), v: uploadF32(d, c.v), o: poisonedF32(d, c.q.length), stats: poisonedF32(d, 16) };
    expect(() => host.forward(d.createCommandEncoder(), c.resolved, b)).toThrow(/head dim D ∈ \{32, 64, 128\}.*got 48/);
  });
});

/** O from attention() and dQ/dK/dV from tf.grads of sum(O ∘ dO), on the active tfjs backend. */
async function opOutputs(c: AttentionCase): Promise<Partial<AttentionOutputs>> {
  const q = tf.tensor4d(c.q, c.qShape), k = tf.tensor4d(c.k, c.kvShape), v = tf.tensor4d(c.v, c.kvShape);
  const dO = tf.tensor4d(c.dO, c.qShape);
  const o = attention(q, k, v, c.spec);
  const [dq, dk, dv] = tf.grads((a, b, d) => tf.sum(tf.mul(attention(a as tf.Tensor4D, b as tf.Tensor4D, d as tf.Tensor4D, c.spec), dO)))([q, k, v]);
  const got = { o: await o.data(), dq: await dq.data(), dk: await dk.data(), dv: await dv.data() };
  tf.dispose([q, k, v, dO, o, dq, dk, dv]);
  return got;
}

describe.skipIf(skip)('tfjs webgpu backend: attention op runs the WGSL kernels', () => {
  beforeAll(async () => { await initBackend('webgpu'); });
  afterAll(async () => { await initBackend('cpu'); });

  it('forward and gradients match the float64 reference for random cases of both kinds', async () => {
    expect(tf.getBackend()).toBe('webgpu');
    const rng = makeRng(testSeed());
    const failures: string[] = [];
    for (let n = 0; n < 8; n++) {
      const c = randomAttentionCase(rng, { kind: n % 2 === 0 ? 'sigmoid' : 'softmax', maxN: 70 });
      const check = checkWebGPUCase(c, await opOutputs(c), null);
      if (!check.ok) failures.push(check.message);
    }
    expect(failures.join('\n')).toBe('');
  }, 600_000);

  it('runs specs the WGSL kernels do not cover (head dim 16) through the composed ops, still matching the reference', async () => {
    const c = randomAttentionCase(makeRng(testSeed()), { kind: 'sigmoid', headDims: [16], maxN: 40 });
    expect(checkWebGPUCase(c, await opOutputs(c), null).message).toBe('');
  }, 120_000);
});
