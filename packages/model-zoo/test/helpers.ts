/** Shared test helpers: the wasm backend, seeded random tensors, gradient reachability, overfitting. */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@sigattn/kernel-core';
import { AdamW, trainStep, type ZooModel, type Batch } from '../src/index.js';

export async function setup(): Promise<void> {
  await initBackend('wasm');
}

/** Seeded standard-normal tensor (never zeros). */
export function randn(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

/** Names of trainable parameters whose gradient is zero (or missing) for this batch. */
export function unreachedParams(model: ZooModel, batch: Batch): string[] {
  const entries = model.trainableEntries();
  const { value, grads } = tf.variableGrads(() => model.batchLoss(batch, false), entries.map(([, v]) => v));
  value.dispose();
  const missing: string[] = [];
  for (const [name, v] of entries) {
    const g = grads[v.name];
    if (g === undefined || tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) === 0) missing.push(name);
  }
  Object.values(grads).forEach((g) => g.dispose());
  return missing;
}

/** Train on one fixed batch; returns [first loss, last loss]. Throws if a step leaks tensors. */
export async function overfit(model: ZooModel, batch: Batch, steps: number, lr: number): Promise<[number, number]> {
  const opt = new AdamW(model.trainableEntries(), { lr, weightDecay: 0 });
  let first = NaN;
  let last = NaN;
  let live = 0;
  for (let s = 0; s < steps; s++) {
    const loss = await trainStep(model, batch, opt, { step: s, totalSteps: steps, training: false });
    if (s === 0) {
      first = loss;
      live = tf.memory().numTensors;
    }
    last = loss;
  }
  const leaked = tf.memory().numTensors - live;
  if (leaked !== 0) throw new Error(`${model.modelName}: ${leaked} tensors leaked over ${steps - 1} training steps`);
  opt.dispose();
  return [first, last];
}
