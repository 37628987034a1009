/**
 * `probe`: a linear probe on a frozen backbone (vit, mae, simclr or byol). The backbone is the
 * checkpoint named by `init.from` (only its feature tensors are loaded), or, without `init.from`, a
 * fresh one built from `model:` with the unit's seed — the "random encoder" baseline, which starts
 * from the same weights a pretraining stage with that seed starts from. Each feature is standardised
 * across the batch without affine parameters (the zoo's featureNorm, MAE's probe) before one linear
 * layer; scored like classify (test accuracy and loss).
 */
import { ConfigError } from '@sigattn/common';
import { createModelFromSpec, type ClassifierHead } from '@sigattn/model-zoo';
import { labelledImageHooks } from './classify.js';
import type { InitCheckpoint, Task, TaskContext } from './task.js';
import type { ImageSplits } from './image-data.js';

/** Fashion-MNIST's classes. */
const CLASSES = 10;
const BACKBONES = ['vit', 'mae', 'simclr', 'byol'];
const HEADS = ['linear-probe', 'finetune'];

/**
 * The backbone spec and the name prefix of its tensors in the checkpoint: a pretraining run's model
 * is the backbone itself; a probe or fine-tune run's holds it under `backbone.`.
 */
function backboneOf(init: InitCheckpoint, task: string): { spec: { name: string } & Record<string, unknown>; prefix: string } {
  const nested = HEADS.includes(init.spec.name);
  const spec = (nested ? init.spec.backbone : init.spec) as { name: string } & Record<string, unknown>;
  if (!BACKBONES.includes(spec.name)) {
    throw new ConfigError(
      `init.from: ${init.dir} holds a ${init.spec.name} model; the ${task} task needs a ${BACKBONES.join(', ')} backbone (or a probe / fine-tune of one); point init.from at a pretraining stage`,
    );
  }
  return { spec, prefix: nested ? 'backbone.' : '' };
}

/** The classifier head around a pretrained (init) or fresh (cfg.model) backbone. */
function createHead(head: 'linear-probe' | 'finetune', task: string, ctx: TaskContext, init: InitCheckpoint | null): ClassifierHead {
  const from = init === null ? { spec: ctx.cfg.model, prefix: '' } : backboneOf(init, task);
  const model = createModelFromSpec({ name: head, backbone: from.spec, classes: CLASSES }, ctx.seed, init === null ? 'config key model' : `init.from ${init?.dir}`) as ClassifierHead;
  if (init !== null) {
    try {
      // Only the feature path: MAE's decoder, the projectors and BYOL's target stay behind.
      init.load(model.backbone.featureEntries().map(([n, v]) => [from.prefix + n, v] as const));
    } catch (err) {
      model.dispose();
      throw err;
    }
    ctx.log(`[${task}] backbone: ${from.spec.name} from ${init.dir} (the stage's model: section is not used)`);
  }
  return model;
}

export function headTask(name: 'probe' | 'finetune', head: 'linear-probe' | 'finetune', description: string): Task<ImageSplits> {
  return {
    name,
    description,
    models: BACKBONES,
    ...labelledImageHooks,
    createModel: (ctx, init) => createHead(head, name, ctx, init),
  };
}

export const probeTask = headTask(
  'probe',
  'linear-probe',
  'linear probe on a frozen vit/mae/simclr/byol backbone (init.from, or a random one) on Fashion-MNIST; test accuracy and loss',
);
