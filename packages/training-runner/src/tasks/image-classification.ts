/** Supervised image classification (the quickstart's task): a ViT (or a probe / fine-tune head) on Fashion-MNIST. */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync } from 'node:fs';
import { imageBatches, type ImageSplit } from '@sigattn/data';
import { AdamW, createModelFromSpec, crossEntropy, warmupCosine, type ZooModel } from '@sigattn/model-zoo';
import { ConfigError } from '../config/schema.js';
import type { RunConfig } from '../config/run-config.js';
import { readCheckpointState, restoreCheckpoint, saveCheckpoint } from '../checkpoint.js';
import type { EpochMetrics, VariantSummary } from '../metrics.js';
import { Progress } from '../progress.js';

export interface ImageData {
  train: ImageSplit;
  test: ImageSplit;
}

export interface TaskContext {
  variant: string;
  checkpointDir: string;
  configHash: string;
  /** Called after every epoch with all rows so far (the experiment rewrites metrics.csv). */
  onEpoch: (rows: EpochMetrics[]) => void;
  log: (line: string) => void;
}

function toTensors(batch: { x: Float32Array; y: Int32Array; size: number }, split: ImageSplit): [tf.Tensor4D, tf.Tensor1D] {
  return [tf.tensor4d(batch.x, [batch.size, split.height, split.width, 1]), tf.tensor1d(batch.y, 'int32')];
}

/** A zoo model that maps images to class logits. */
export type ImageClassifier = ZooModel & { forward(images: tf.Tensor4D, training?: boolean): tf.Tensor2D };

const CLASSIFIERS = ['vit', 'linear-probe', 'finetune'];

export function createClassifier(cfg: RunConfig): ImageClassifier {
  if (!CLASSIFIERS.includes(cfg.model.name)) {
    throw new ConfigError(`config key model.name: the image-classification task needs one of ${CLASSIFIERS.join(', ')}, found ${JSON.stringify(cfg.model.name)}`);
  }
  return createModelFromSpec(cfg.model, cfg.seed, 'config key model') as ImageClassifier;
}

export async function evaluate(model: ImageClassifier, split: ImageSplit, batchSize: number): Promise<{ loss: number; accuracy: number }> {
  let correct = 0;
  let lossSum = 0;
  for (const batch of imageBatches(split, { batchSize })) {
    const [x, y] = toTensors(batch, split);
    const [loss, pred] = tf.tidy(() => {
      const logits = model.forward(x);
      // crossEntropy is the batch mean; scale to a sum so the split's mean weighs a ragged last batch right.
      return [tf.mul(crossEntropy(logits, y), batch.size), tf.argMax(logits, -1)];
    });
    const p = await pred.data();
    lossSum += (await loss.data())[0];
    for (let i = 0; i < batch.size; i++) if (p[i] === batch.y[i]) correct++;
    tf.dispose([x, y, loss, pred]);
  }
  return { loss: lossSum / split.count, accuracy: correct / split.count };
}

export interface TaskResult {
  summary: VariantSummary;
  metrics: EpochMetrics[];
}

export async function trainImageClassifier(cfg: RunConfig, data: ImageData, ctx: TaskContext): Promise<TaskResult> {
  const { train: trainCfg } = cfg;
  const model = createClassifier(cfg);
  const trainable = model.trainableEntries();
  const variables = trainable.map(([, v]) => v);
  const optimizer = new AdamW(trainable, { lr: trainCfg.lr, weightDecay: trainCfg.weightDecay });
  const params = model.params.entries();
  const stepsPerEpoch = Math.floor(data.train.count / trainCfg.batchSize);
  const totalSteps = stepsPerEpoch * trainCfg.epochs;
  const schedule = { peak: trainCfg.lr, warmupSteps: trainCfg.warmupSteps, totalSteps, finalFraction: trainCfg.minLrRatio };
  if (stepsPerEpoch === 0) {
    throw new Error(`train.batchSize ${trainCfg.batchSize} is larger than the ${data.train.count} training examples; lower it or raise data.trainLimit`);
  }
  mkdirSync(ctx.checkpointDir, { recursive: true });

  let rows: EpochMetrics[] = [];
  let steps = 0;
  let wallSeconds = 0;
  let startEpoch = 0;
  const state = readCheckpointState(ctx.checkpointDir);
  if (state !== null && state.configHash === ctx.configHash) {
    restoreCheckpoint(ctx.checkpointDir, state, params, optimizer);
    ({ metrics: rows, steps, wallSeconds, epochsDone: startEpoch } = state);
    ctx.log(`[${ctx.variant}] resuming from ${ctx.checkpointDir} after epoch ${startEpoch}/${trainCfg.epochs}`);
  } else if (state !== null) {
    throw new Error(
      `${ctx.checkpointDir}: holds a checkpoint of a different config; rerun with --fresh to discard it, or set output to another directory`,
    );
  }

  for (let epoch = startEpoch; epoch < trainCfg.epochs; epoch++) {
    const t0 = performance.now();
    const progress = new Progress(`[${ctx.variant}] epoch ${epoch + 1}/${trainCfg.epochs}`, stepsPerEpoch, trainCfg.logEvery);
    let lossSum = 0;
    let step = 0;
    for (const batch of imageBatches(data.train, { batchSize: trainCfg.batchSize, seed: cfg.seed * 1000 + epoch, dropLast: true })) {
      const [x, y] = toTensors(batch, data.train);
      optimizer.lr = trainCfg.schedule === 'cosine' ? warmupCosine(schedule, steps) : trainCfg.lr;
      const { value: loss, grads } = tf.variableGrads(() => model.batchLoss({ images: x, labels: y }, true), variables);
      optimizer.step(grads);
      // Read the loss asynchronously: webgpu in Node cannot read tensors synchronously.
      const value = (await loss.data())[0];
      tf.dispose([x, y, loss, ...Object.values(grads)]);
      if (!Number.isFinite(value)) throw new Error(`[${ctx.variant}] training diverged at epoch ${epoch + 1} step ${step + 1}: loss ${value}; lower train.lr`);
      lossSum += value;
      step++;
      steps++;
      progress.update(step, lossSum / step, (step * trainCfg.batchSize) / ((performance.now() - t0) / 1000));
    }
    const trainSeconds = (performance.now() - t0) / 1000;
    const test = await evaluate(model, data.test, trainCfg.evalBatchSize);
    const epochSeconds = (performance.now() - t0) / 1000;
    wallSeconds += epochSeconds;
    const row: EpochMetrics = {
      variant: ctx.variant,
      epoch: epoch + 1,
      steps,
      train_loss: lossSum / step,
      test_loss: test.loss,
      test_accuracy: test.accuracy,
      examples_per_s: (step * trainCfg.batchSize) / trainSeconds,
      epoch_s: epochSeconds,
    };
    rows = [...rows, row];
    progress.done(
      `[${ctx.variant}] epoch ${epoch + 1}/${trainCfg.epochs}  train loss ${row.train_loss.toFixed(4)}  test acc ${(100 * test.accuracy).toFixed(2)}%` +
        `  ${row.examples_per_s.toFixed(0)} img/s  ${epochSeconds.toFixed(1)} s`,
    );
    await saveCheckpoint(ctx.checkpointDir, params, optimizer, { configHash: ctx.configHash, epochsDone: epoch + 1, steps, wallSeconds, metrics: rows });
    ctx.onEpoch(rows);
  }
  const last = rows[rows.length - 1];
  const summary: VariantSummary = {
    variant: ctx.variant,
    parameters: model.params.count(),
    finalTrainLoss: last.train_loss,
    testAccuracy: last.test_accuracy,
    wallSeconds,
  };
  model.dispose();
  optimizer.dispose();
  return { summary, metrics: rows };
}
