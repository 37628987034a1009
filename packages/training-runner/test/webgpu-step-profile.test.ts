/**
 * The counting wrapper behind bench/webgpu-step-profile.ts, on the webgpu backend (lavapipe in CI).
 * Like kernel-core's WebGPU suites: no adapter fails the file unless SIGATTN_ALLOW_NO_WEBGPU=1 (then
 * it is skipped, with the reason).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@sigattn/common';
import { initBackend } from '@sigattn/kernel-core';
import { AdamW, createModel, type Batch } from '@sigattn/model-zoo';
import { API_CALLS, DEFAULT_STAGE, OUTSIDE_KERNELS, STAGES, WebGPUCallCounter, profileTrainingSteps, webgpuFlags } from '../bench/webgpu-profile.js';

let missingReason = '';
try {
  await initBackend('webgpu');
} catch (e) {
  missingReason = (e as Error).message;
  if (process.env.SIGATTN_ALLOW_NO_WEBGPU !== '1') throw new Error(`WebGPU tests need an adapter: ${missingReason} (set SIGATTN_ALLOW_NO_WEBGPU=1 to skip)`);
}
const skip = missingReason !== '';
if (skip) console.warn(`webgpu step-profile tests skipped: ${missingReason}`);

describe.skipIf(skip)('WebGPUCallCounter (webgpu backend)', () => {
  let counter: WebGPUCallCounter;
  beforeAll(() => { counter = WebGPUCallCounter.install(); });
  afterAll(() => counter?.uninstall());

  it('attributes one Add to its kernel: two uploads, one dispatch, one bind group; the read-back is outside kernels', async () => {
    const rng = new Rng(3);
    // 37 elements: a buffer size no other test uses, so the pool has nothing to reuse.
    const av = Array.from({ length: 37 }, () => rng.normal());
    const bv = Array.from({ length: 37 }, () => rng.normal());
    const a = tf.tensor1d(av);
    const b = tf.tensor1d(bv);
    counter.reset();
    const c = tf.add(a, b);
    const values = await c.data();
    const t = counter.tallies();
    expect(values[5]).toBeCloseTo(av[5] + bv[5], 5);
    expect(t.kernels.Add.calls).toBe(1);
    expect(t.kernels.Add.api).toMatchObject({ dispatchWorkgroups: 1, createBindGroup: 1, getBindGroupLayout: 1, writeBuffer: 1, 'createBuffer(mapped)': 2 });
    expect(t.api.dispatchWorkgroups.calls).toBe(1);
    expect(t.api.dispatchWorkgroups.workgroups).toBeGreaterThan(0);
    expect(t.api.mapAsync.calls).toBe(1);
    expect(t.api.mapAsync.bytes).toBe(4 * 37);
    expect(t.kernels[OUTSIDE_KERNELS].api.mapAsync).toBe(1);
    expect(t.api['createBuffer(mapped)'].bytes).toBe(2 * 4 * 37);
    tf.dispose([a, b, c]);
  });

  it('a tiny ViT trained as the runner does: steady steps repeat the same counts, compile nothing, and every call has an owner', async () => {
    const model = createModel('vit', {
      imageSize: 8, channels: 1, patchSize: 4, dim: 16, depth: 1, heads: 1, mlpRatio: 2, classes: 3,
      attention: { kind: 'sigmoid', bias: 'negLogN', qkNorm: 'layernorm', causal: false },
    }, 0);
    const optimizer = new AdamW(model.trainableEntries(), { lr: 0.003, weightDecay: 0.05 });
    const rng = new Rng(5);
    const makeBatch = (): Batch => ({
      images: tf.tensor4d(Float32Array.from({ length: 4 * 64 }, () => rng.next()), [4, 8, 8, 1]),
      labels: tf.tensor1d(Int32Array.from({ length: 4 }, () => rng.int(3)), 'int32'),
    });
    const records = await profileTrainingSteps(counter, model, optimizer, makeBatch, { warmup: 2, steps: 2 });
    model.dispose();
    optimizer.dispose();

    expect(records.map((r) => r.phase)).toEqual(['warmup', 'warmup', 'profiled', 'profiled']);
    // Two warm-up steps: the buffer pool still grows in the second step (the first update of the AdamW slots).
    const [warm, , s1, s2] = records;
    expect(Number.isFinite(s1.loss) && Number.isFinite(s2.loss)).toBe(true);
    // The first step compiles the programs; later ones find them in the cache.
    expect(warm.tallies.api.createComputePipeline.calls).toBeGreaterThan(0);
    expect(s1.tallies.api.createComputePipeline.calls + s2.tallies.api.createShaderModule.calls).toBe(0);
    expect(s2.backend.programCache).toBe(warm.backend.programCache);
    // Same work every step: every call count and every kernel count repeats.
    for (const c of API_CALLS) expect(s2.tallies.api[c].calls, c).toBe(s1.tallies.api[c].calls);
    expect(Object.fromEntries(Object.entries(s2.tallies.kernels).map(([n, k]) => [n, k.calls])))
      .toEqual(Object.fromEntries(Object.entries(s1.tallies.kernels).map(([n, k]) => [n, k.calls])));
    expect(s2.numTensors).toBe(s1.numTensors);
    // Attribution is complete: the per-kernel counts add up to the totals.
    for (const c of API_CALLS) {
      const attributed = Object.values(s1.tallies.kernels).reduce((s, k) => s + (k.api[c] ?? 0), 0);
      expect(attributed, c).toBe(s1.tallies.api[c].calls);
    }
    // Stages: the forward pass and AdamW are told apart from the rest, and they add up too.
    const stages = s1.tallies.stages;
    expect(Object.keys(stages).sort()).toEqual([DEFAULT_STAGE, STAGES.forward, STAGES.optimizer].sort());
    const kernelCalls = Object.entries(s1.tallies.kernels).reduce((s, [n, k]) => s + (n === OUTSIDE_KERNELS ? 0 : k.calls), 0);
    expect(Object.values(stages).reduce((s, t) => s + t.kernels, 0)).toBe(kernelCalls);
    expect(Object.values(stages).reduce((s, t) => s + (t.api.dispatchWorkgroups ?? 0), 0)).toBe(s1.tallies.api.dispatchWorkgroups.calls);
    expect(stages[STAGES.optimizer].api.dispatchWorkgroups).toBeGreaterThan(0);
    expect(stages[STAGES.optimizer].api.mapAsync ?? 0).toBe(0);
    // The methods wrapped for the stages are the model's and optimiser's own again.
    expect(Object.prototype.hasOwnProperty.call(model, 'batchLoss') || Object.prototype.hasOwnProperty.call(optimizer, 'step')).toBe(false);
    // A training step dispatches work through tfjs kernels and reads the loss back.
    expect(s1.tallies.kernels.BatchMatMul.calls).toBeGreaterThan(0);
    expect(s1.tallies.api.dispatchWorkgroups.calls).toBeGreaterThan(s1.tallies.kernels.BatchMatMul.calls);
    expect(s1.tallies.kernels[OUTSIDE_KERNELS].api.mapAsync).toBeGreaterThanOrEqual(1);
  });

  it('lists the WEBGPU_* flags with the values in effect', () => {
    const flags = webgpuFlags();
    expect(flags.WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE).toBe(tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE'));
    expect(flags.WEBGPU_CPU_FORWARD).toBe(false); // initBackend turns CPU forwarding off
  });

  it('uninstall restores the original methods: nothing is counted afterwards', async () => {
    counter.uninstall();
    counter.reset();
    const x = tf.tidy(() => tf.add(tf.ones([5]), tf.ones([5])));
    await x.data();
    expect(counter.tallies().api.dispatchWorkgroups.calls).toBe(0);
    expect(counter.tallies().kernels).toEqual({});
    tf.dispose(x);
    counter = WebGPUCallCounter.install(); // afterAll uninstalls it again
  });
});
