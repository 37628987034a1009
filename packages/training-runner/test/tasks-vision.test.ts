/**
 * The vision self-supervised tasks (mae, simclr, byol) and the evaluation heads (probe, finetune):
 * each task's hooks, a short training that improves its held-out metric, the weight hand-off through
 * stages, and the headline claim — a probe on an MAE-pretrained encoder beats a probe on a random one.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@sigattn/kernel-core';
import { FASHION_MNIST_DEFAULT_PATH } from '@sigattn/data';
import { Byol, createModelFromSpec, trainStep, type Batch, type ClassifierHead, type ZooModel } from '@sigattn/model-zoo';
import { createOptimizer, openInitCheckpoint, readCheckpointState, runConfigSchema, runExperiment, type RunConfig } from '../src/index.js';
import type { InitCheckpoint, Task, TaskContext } from '../src/tasks/task.js';
import { byolTask } from '../src/tasks/byol.js';
import { finetuneTask } from '../src/tasks/finetune.js';
import { checkImageData, knnAccuracy, type ImageSplits } from '../src/tasks/image-data.js';
import { maeTask } from '../src/tasks/mae.js';
import { probeTask } from '../src/tasks/probe.js';
import { simclrTask } from '../src/tasks/simclr.js';
import { REPO_CONFIGS, tempDirs, writeImageFixture } from './fixtures.js';

const temps = tempDirs();
let fixture = '';

beforeAll(async () => {
  await initBackend('wasm');
  fixture = temps.make('sigattn-vision-fixture-');
  writeImageFixture(fixture, 512, 200, 3);
});
afterAll(temps.cleanup);

const encoder = { imageSize: 28, channels: 1, patchSize: 7, dim: 16, depth: 1, heads: 2, mlpRatio: 2, pool: 'mean', attention: { kind: 'sigmoid', qkNorm: 'layernorm' } };
const MODELS = {
  mae: { name: 'mae', ...encoder, decoderDim: 16, decoderHeads: 2 },
  simclr: { name: 'simclr', ...encoder, projHidden: 32, projDim: 16 },
  byol: { name: 'byol', ...encoder, projHidden: 32, projDim: 16, predHidden: 32 },
};

/** A unit's context as the runner builds it: the run schema, then the task's data schema. */
function contextFor(task: Task<ImageSplits>, model: object, train: object = {}, data: object = {}): TaskContext {
  const tree = { name: 't', task: task.name, model, data: { path: fixture, testLimit: 100, ...data }, train: { epochs: 1, batchSize: 64, lr: 3e-3, warmupSteps: 2, ...train } };
  const cfg = runConfigSchema.parse(tree, '') as RunConfig;
  return { cfg: { ...cfg, data: task.dataSchema.parse(cfg.data, 'data') }, seed: cfg.seed, log: () => {} };
}

/** What the runner's loop does, minus checkpoints: the optimiser from train.*, trainStep (with afterStep) per batch. */
async function train(task: Task<ImageSplits>, model: ZooModel, data: ImageSplits, ctx: TaskContext, epochs: number): Promise<void> {
  const opt = createOptimizer(ctx.cfg, model);
  const total = task.stepsPerEpoch(data, ctx) * epochs;
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for await (const batch of task.trainBatches(data, ctx, epoch)) {
      await trainStep(model, batch, opt, { step: step++, totalSteps: total });
      tf.dispose(batch as tf.TensorContainer);
    }
  }
  opt.dispose();
}

async function firstBatch(task: Task<ImageSplits>, data: ImageSplits, ctx: TaskContext, epoch: number): Promise<Batch> {
  for await (const b of task.trainBatches(data, ctx, epoch)) return b;
  throw new Error('no batch');
}

const values = (t: tf.Tensor) => Array.from(t.dataSync());

describe('image data', () => {
  it('a missing dataset is one line naming the path and the install command', () => {
    expect(() => checkImageData({ path: join(fixture, 'nope') })).toThrow(/^data\.path: Fashion-MNIST not found at \S+nope; install it with `tools\/setup\.sh` \(or `apt-get install dataset-fashion-mnist` as root\)/);
  });

  it('k-NN: cosine neighbours, majority vote, ties to the nearest neighbour', () => {
    const memory = { values: Float32Array.from([1, 0, 0.9, 0.1, 0, 1, -1, 0]), labels: [0, 0, 1, 2] };
    // Queries: near (1, 0) → 0; between (0, 1) and (0.9, 0.1) → tie at k = 2, nearest says 1; near (−1, 0) → 2.
    const queries = { values: Float32Array.from([1, 0.05, 0.1, 1, -1, 0.1]), labels: [0, 1, 0] };
    expect(knnAccuracy(memory, queries, 2, 1, 3)).toBeCloseTo(2 / 3);
    expect(knnAccuracy(memory, queries, 2, 2, 3)).toBeCloseTo(2 / 3);
    // k = 3 for the second query: (0, 1), (0.9, 0.1), (1, 0) → labels 1, 0, 0 → 0 wins.
    expect(knnAccuracy(memory, { values: queries.values.slice(2, 4), labels: [0] }, 2, 3, 3)).toBe(1);
  });
});

describe('mae', () => {
  it('masks are seeded by (seed, epoch, image), differ per image and epoch; the held-out loss uses fixed masks and falls with training', async () => {
    // Raw-pixel targets: the fixture's patches are mostly noise, whose per-patch normalised values no model predicts.
    const ctx = contextFor(maeTask, { ...MODELS.mae, normPixLoss: false }, { epochs: 3, lr: 5e-3 });
    const data = await maeTask.load(ctx);
    expect(maeTask.stepsPerEpoch(data, ctx)).toBe(8);
    const [a, b, c] = [await firstBatch(maeTask, data, ctx, 0), await firstBatch(maeTask, data, ctx, 0), await firstBatch(maeTask, data, ctx, 1)];
    const masks = (x: Batch) => (x.visibleIdx ?? []).map((m) => Array.from(m).join(','));
    expect(masks(a)).toHaveLength(64);
    expect(masks(a).every((m) => m.split(',').length === 4)).toBe(true); // 16 patches, 75 % masked
    expect(masks(b)).toEqual(masks(a));
    expect(new Set(masks(a)).size).toBeGreaterThan(20);
    expect(masks(c)).not.toEqual(masks(a));
    tf.dispose([a, b, c] as tf.TensorContainer);

    const model = createModelFromSpec(ctx.cfg.model, ctx.seed);
    const before = await maeTask.evaluate(model, data, ctx, 0);
    expect((await maeTask.evaluate(model, data, ctx, 0)).test_recon_loss).toBe(before.test_recon_loss);
    await train(maeTask, model, data, ctx, 3);
    const after = await maeTask.evaluate(model, data, ctx, 2);
    expect(after.test_recon_loss).toBeLessThan(0.8 * before.test_recon_loss);
    model.dispose();
  });
});

const HAVE_FASHION_MNIST = existsSync(join(FASHION_MNIST_DEFAULT_PATH, 'train-images-idx3-ubyte.gz'));
const SSL = [
  ['simclr', simclrTask],
  ['byol', byolTask],
] as const;

describe.each(SSL)('%s', (name, task) => {
  it('two views per image, the same for the same (seed, epoch), new ones the next epoch; held-out loss and k-NN accuracy', async () => {
    const ctx = contextFor(task, MODELS[name], {}, { knnTrainLimit: 256 });
    const data = await task.load(ctx);
    const [a, b, c] = [await firstBatch(task, data, ctx, 0), await firstBatch(task, data, ctx, 0), await firstBatch(task, data, ctx, 1)];
    const [v1, v2] = a.views as [tf.Tensor4D, tf.Tensor4D];
    expect(v1.shape).toEqual([64, 28, 28, 1]);
    expect(values(v1)).not.toEqual(values(v2));
    expect(values((b.views as tf.Tensor4D[])[0])).toEqual(values(v1));
    expect(values((c.views as tf.Tensor4D[])[0])).not.toEqual(values(v1));
    tf.dispose([a, b, c] as tf.TensorContainer);
    const model = createModelFromSpec(ctx.cfg.model, ctx.seed);
    const first = await task.evaluate(model, data, ctx, 0);
    expect(first.test_loss).toBeGreaterThan(0);
    expect(first.knn_accuracy).toBeGreaterThanOrEqual(0);
    expect(first.knn_accuracy).toBeLessThanOrEqual(1);
    // The held-out views are fixed: evaluating twice gives the same numbers.
    expect(await task.evaluate(model, data, ctx, 1)).toEqual(first);
    model.dispose();
  });

  // The fixture's images are i.i.d. noise plus a class bar: nothing instance-specific survives a
  // random resized crop, so contrastive learning has nothing to learn there. Real images do.
  it.skipIf(!HAVE_FASHION_MNIST)('on 512 Fashion-MNIST images, 4 short epochs lower the held-out loss', async () => {
    const ctx = contextFor(task, MODELS[name], { epochs: 4 }, { path: FASHION_MNIST_DEFAULT_PATH, trainLimit: 512, testLimit: 256, knnTrainLimit: 512 });
    const data = await task.load(ctx);
    const model = createModelFromSpec(ctx.cfg.model, ctx.seed);
    const before = await task.evaluate(model, data, ctx, 0);
    await train(task, model, data, ctx, 4);
    const after = await task.evaluate(model, data, ctx, 3);
    expect(after.test_loss).toBeLessThan(0.95 * before.test_loss);
    expect(after.knn_accuracy).toBeGreaterThan(0.3); // chance: 10 %
    model.dispose();
  });
});

describe('byol', () => {
  it('the loop’s afterStep moves the EMA target toward the online network (it starts as an exact copy)', async () => {
    const ctx = contextFor(byolTask, { ...MODELS.byol, tauBase: 0.9 }, { epochs: 1, stepsPerEpoch: 3 });
    const data = await byolTask.load(ctx);
    const model = createModelFromSpec(ctx.cfg.model, ctx.seed) as Byol;
    const target = () => values(model.params.get('target.backbone.patch_embed.w'));
    const online = () => values(model.params.get('online.backbone.patch_embed.w'));
    expect(target()).toEqual(online());
    const t0 = target();
    await train(byolTask, model, data, ctx, 1);
    const [t1, o1] = [target(), online()];
    expect(t1).not.toEqual(t0);
    expect(t1).not.toEqual(o1);
    // τ = 0.9 at step 0: the target moved part of the way from its start toward the online weights.
    const dist = (a: number[], b: number[]) => Math.hypot(...a.map((x, i) => x - b[i]));
    expect(dist(t1, o1)).toBeLessThan(dist(t0, o1));
    model.dispose();
  });
});

describe('probe and finetune', () => {
  const fakeInit = (spec: { name: string } & Record<string, unknown>): InitCheckpoint => ({ dir: '/runs/x', spec, load: () => {} });

  it('without init.from: a fresh backbone from model: (the random-encoder baseline), frozen under a probe, trained under finetune', () => {
    const ctx = contextFor(probeTask, MODELS.simclr);
    const probe = probeTask.createModel?.(ctx, null) as ClassifierHead;
    expect(probe.modelName).toBe('linear-probe');
    expect(probe.trainableEntries().map(([n]) => n)).toEqual(['head.w', 'head.b']);
    // Same seed, same names: the baseline starts where a pretraining stage with this seed starts.
    const fresh = createModelFromSpec(ctx.cfg.model, ctx.seed);
    expect(values(probe.params.get('backbone.backbone.patch_embed.w'))).toEqual(values(fresh.params.get('backbone.patch_embed.w')));
    const ft = finetuneTask.createModel?.(contextFor(finetuneTask, MODELS.simclr), null) as ClassifierHead;
    expect(ft.trainableEntries().some(([n]) => n.startsWith('backbone.backbone.'))).toBe(true);
    expect(ft.trainableEntries().some(([n]) => n.includes('projector'))).toBe(false);
    [probe, fresh, ft].forEach((m) => m.dispose());
  });

  it('a checkpoint of a model without image features is one line naming it', () => {
    const ctx = contextFor(probeTask, MODELS.mae);
    expect(() => probeTask.createModel?.(ctx, fakeInit({ name: 'lm', vocab: 8 }))).toThrow(
      /^init\.from: \/runs\/x holds a lm model; the probe task needs a vit, mae, simclr, byol backbone/,
    );
  });

  it('loads only the backbone’s feature tensors; a tensor missing from the checkpoint is named', async () => {
    const out = temps.make('sigattn-vision-init-');
    const file = join(out, 'pre.yaml');
    writeFileSync(
      file,
      [
        `extends: ${join(REPO_CONFIGS, 'base.yaml')}`,
        'name: pre',
        `output: ${out}`,
        `data: { path: ${fixture}, trainLimit: 128, testLimit: 64 }`,
        `model: ${JSON.stringify({ ...MODELS.byol, use: 'byol-tiny' })}`,
        'task: byol',
        'train: { epochs: 1, batchSize: 64, warmupSteps: 1 }',
      ].join('\n'),
    );
    await runExperiment(file, { log: () => {} });
    const dir = join(out, 'pre', 'default', 'seed-0', 'checkpoint');
    const state = readCheckpointState(dir);
    if (state === null) throw new Error('no checkpoint');
    const ctx = contextFor(probeTask, MODELS.mae);
    const probe = probeTask.createModel?.(ctx, openInitCheckpoint(dir, state)) as ClassifierHead;
    expect(probe.backbone.modelName).toBe('byol');
    const pretrained = createModelFromSpec(state.spec, 99);
    openInitCheckpoint(dir, state).load(pretrained.params.entries());
    for (const n of ['online.backbone.patch_embed.w', 'online.backbone.blocks.0.attn.qkv.w']) {
      expect(values(probe.params.get(`backbone.${n}`)), n).toEqual(values(pretrained.params.get(n)));
    }
    // The target network is not a feature tensor: it keeps its fresh copy of the (fresh) online weights.
    expect(values(probe.params.get('backbone.target.backbone.patch_embed.w'))).not.toEqual(values(pretrained.params.get('target.backbone.patch_embed.w')));
    const broken = { ...state, params: state.params.filter((e) => e.name !== 'online.backbone.norm.gamma') };
    expect(() => probeTask.createModel?.(ctx, openInitCheckpoint(dir, broken))).toThrow(/backbone tensor online\.backbone\.norm\.gamma \[16\] is not in the checkpoint/);
    [probe, pretrained].forEach((m) => m.dispose());
  });
});

describe('stages through the runner', () => {
  it('pretrain (mae) → probe and finetune from it, and a random-encoder probe; both kinds; the probe keeps the pretrained encoder frozen', async () => {
    const out = temps.make('sigattn-vision-stages-');
    const file = join(out, 'stages.yaml');
    writeFileSync(
      file,
      [
        `extends: ${join(REPO_CONFIGS, 'base.yaml')}`,
        'name: stages',
        `output: ${out}`,
        `data: { path: ${fixture}, trainLimit: 256, testLimit: 100 }`,
        'model: { use: mae-tiny, dim: 16, depth: 1, heads: 2, decoderDim: 16, pool: mean }',
        'train: { epochs: 1, batchSize: 64, warmupSteps: 2 }',
        'variants: { softmax: { model.attention.kind: softmax }, sigmoid: { model.attention.kind: sigmoid } }',
        'stages:',
        '  pretrain: { task: mae }',
        '  probe: { task: probe, init: { from: pretrain }, train: { lr: 0.05, weightDecay: 0 } }',
        '  finetune: { task: finetune, init: { from: pretrain }, train: { epochs: 3, lr: 0.01 } }',
        '  probe-random: { task: probe, train: { lr: 0.05, weightDecay: 0 } }',
      ].join('\n'),
    );
    const result = await runExperiment(file, { log: () => {} });
    expect([...new Set(result.rows.map((r) => `${r.variant}:${r.stage}`))]).toEqual(
      ['softmax', 'sigmoid'].flatMap((v) => ['pretrain', 'probe', 'finetune', 'probe-random'].map((s) => `${v}:${s}`)),
    );
    for (const r of result.rows.filter((x) => x.epoch === (x.stage === 'finetune' ? 3 : 1))) {
      if (r.stage === 'pretrain') expect(Number(r.test_recon_loss)).toBeGreaterThan(0);
      else expect(Number(r.test_accuracy)).toBeGreaterThan(0.3);
    }
    expect(result.table).toContain('### stage probe (task probe)');
    expect(result.table).toMatch(/\| variant \| seeds \| epochs \| test recon loss \|/);

    const unit = (stage: string) => join(out, 'stages', 'sigmoid', 'seed-0', stage, 'checkpoint');
    const load = (stage: string) => {
      const state = readCheckpointState(unit(stage));
      if (state === null) throw new Error(`no checkpoint for ${stage}`);
      const model = createModelFromSpec(state.spec, 123);
      openInitCheckpoint(unit(stage), state).load(model.params.entries());
      return model;
    };
    const [pre, probe, ft, random] = ['pretrain', 'probe', 'finetune', 'probe-random'].map(load);
    const w = 'encoder.blocks.0.attn.qkv.w';
    expect(values(probe.params.get(`backbone.${w}`))).toEqual(values(pre.params.get(w)));
    expect(values(ft.params.get(`backbone.${w}`))).not.toEqual(values(pre.params.get(w)));
    expect(values(random.params.get(`backbone.${w}`))).not.toEqual(values(pre.params.get(w)));
    expect(readFileSync(join(out, 'stages', 'sigmoid', 'seed-0', 'probe', 'config.yaml'), 'utf8')).toMatch(/from: pretrain/);
    [pre, probe, ft, random].forEach((m) => m.dispose());
  }, 120_000);
});

describe.skipIf(!HAVE_FASHION_MNIST)('Fashion-MNIST (tools/setup.sh installs it)', () => {
  it('a probe on an MAE-pretrained encoder beats a probe on a random encoder at the same budget', async () => {
    const out = temps.make('sigattn-vision-mae-');
    const file = join(out, 'mae-probe.yaml');
    const probeTrain = 'train: { epochs: 4, lr: 0.05, weightDecay: 0 }';
    writeFileSync(
      file,
      [
        `extends: ${join(REPO_CONFIGS, 'base.yaml')}`,
        'name: mae-probe',
        `output: ${out}`,
        'data: { trainLimit: 2048, testLimit: 500 }',
        'model: { use: mae-tiny, dim: 32, heads: 2, decoderDim: 32, pool: mean }',
        'train: { batchSize: 64, warmupSteps: 10 }',
        'stages:',
        '  pretrain: { task: mae, train: { epochs: 6, lr: 0.005 } }',
        `  probe: { task: probe, init: { from: pretrain }, ${probeTrain} }`,
        `  probe-random: { task: probe, ${probeTrain} }`,
      ].join('\n'),
    );
    const { rows } = await runExperiment(file, { log: () => {} });
    const last = (stage: string) => rows.filter((r) => r.stage === stage).at(-1) as Record<string, number>;
    const recon = rows.filter((r) => r.stage === 'pretrain').map((r) => Number(r.test_recon_loss));
    expect(recon.at(-1)).toBeLessThan(recon[0]);
    const [pretrained, random] = [last('probe'), last('probe-random')];
    // Measured: 62.4 % vs 55.6 % test accuracy (500 images), test loss 1.18 vs 1.36.
    expect(Number(pretrained.test_accuracy)).toBeGreaterThan(Number(random.test_accuracy) + 0.03);
    expect(Number(pretrained.test_loss)).toBeLessThan(Number(random.test_loss));
  }, 300_000);
});
