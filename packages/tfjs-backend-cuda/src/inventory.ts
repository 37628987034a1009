/**
 * The kernel inventory: every kernel that building a zoo model and its optimiser and running one
 * training step (forward, backward, global-norm clip, update, the model's afterStep) dispatches on
 * tfjs's cpu backend, with the variants that use it. A `cuda` backend must implement each of them for
 * the zoo to train on it. kernels.json in this package is the committed copy (scripts/record-kernels.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@sigattn/common';
import { ADAMW_UPDATE, ATTENTION_BWD, ATTENTION_FWD, initBackend } from '@sigattn/kernel-core';
import { AdamW, Lars, createModelFromSpec, trainStep, type Batch, type Optimizer } from '@sigattn/model-zoo';
import { withKernelListener } from './recorder.js';
import { ZOO_VARIANTS, type ZooVariant } from './zoo-variants.js';

export interface KernelUse {
  /** Dtypes of the kernel's inputs and outputs over all its dispatches, sorted. */
  dtypes: string[];
  /** Names of the variants (ZOO_VARIANTS) that dispatched it, sorted. */
  usedBy: string[];
}

export interface KernelInventory {
  /** Every variant recorded, in order. */
  variants: string[];
  /** tfjs's own kernels (tfjs-core's kernel names), sorted by name. */
  kernels: Record<string, KernelUse>;
  /** Kernels this repository registers: kernel-core's fused attention (forward, backward) and fused AdamW update. */
  custom: Record<string, KernelUse>;
}

/** The kernels this repository registers itself; a cuda backend implements them directly. */
export const CUSTOM_KERNELS: readonly string[] = [ATTENTION_FWD, ATTENTION_BWD, ADAMW_UPDATE];

const SEED = 1;
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function makeOptimizer(variant: ZooVariant, entries: [string, tf.Variable][]): Optimizer {
  return variant.optimizer === 'lars' ? new Lars(entries, { lr: 0.1 }) : new AdamW(entries, { lr: 1e-3 });
}

function disposeBatch(batch: Batch): void {
  for (const value of Object.values(batch)) {
    if (value instanceof tf.Tensor) value.dispose();
    else if (Array.isArray(value)) for (const v of value) if (v instanceof tf.Tensor) v.dispose();
  }
}

/**
 * Record the inventory on tfjs's cpu backend (switches tfjs to cpu). Deterministic: the models, batches
 * and dropout draw from fixed seeds, and which kernels run does not depend on the values anyway.
 */
export async function recordKernelInventory(variants: readonly ZooVariant[] = ZOO_VARIANTS): Promise<KernelInventory> {
  await initBackend('cpu');
  const uses = new Map<string, { dtypes: Set<string>; usedBy: Set<string> }>();
  let current: string | null = null;
  const listener = (kernelName: string, dtypes: readonly string[]) => {
    if (current === null) return;
    let use = uses.get(kernelName);
    if (use === undefined) uses.set(kernelName, (use = { dtypes: new Set(), usedBy: new Set() }));
    for (const d of dtypes) use.dtypes.add(d);
    use.usedBy.add(current);
  };
  await withKernelListener('cpu', listener, async () => {
    for (const variant of variants) {
      const batch = variant.batch(new Rng(SEED));
      current = variant.name;
      const model = createModelFromSpec(variant.spec, SEED, variant.name);
      const opt = makeOptimizer(variant, model.trainableEntries());
      try {
        await trainStep(model, batch, opt, { step: 0, totalSteps: 2, clip: 1 });
      } finally {
        current = null;
        opt.dispose();
        model.dispose();
        disposeBatch(batch);
      }
    }
  });
  const kernels: Record<string, KernelUse> = {};
  const custom: Record<string, KernelUse> = {};
  for (const name of [...uses.keys()].sort(byName)) {
    const use = uses.get(name) as { dtypes: Set<string>; usedBy: Set<string> };
    (CUSTOM_KERNELS.includes(name) ? custom : kernels)[name] = { dtypes: [...use.dtypes].sort(byName), usedBy: [...use.usedBy].sort(byName) };
  }
  return { variants: variants.map((v) => v.name), kernels, custom };
}
