/**
 * The one training loop, for every task: build the model (or restore it), then per epoch feed the
 * task's batches through the zoo's trainStep (lr schedule, optional clipping, the model's afterStep
 * hook), stop on a non-finite loss, evaluate, append a metrics row and save a checkpoint.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync } from 'node:fs';
import { RunError, explainWasmAbort } from '@sigattn/common';
import { AdamW, Lars, createModelFromSpec, trainStep, warmupCosine, type Batch, type Optimizer, type ZooModel } from '@sigattn/model-zoo';
import type { RunConfig } from './config/run-config.js';
import { readCheckpointState, restoreCheckpoint, saveCheckpoint } from './checkpoint.js';
import { Progress } from './progress.js';
import type { InitCheckpoint, Task, TaskContext } from './tasks/task.js';

export type MetricsRow = Record<string, string | number>;

export interface UnitRun {
  /** Shown in every log line, e.g. `sigmoid seed 1 probe`. */
  label: string;
  /** Identity columns written first in each metrics row (variant, seed, stage). */
  ids: Record<string, string | number>;
  checkpointDir: string;
  configHash: string;
  init: InitCheckpoint | null;
  /** Called after every epoch with this unit's rows so far. */
  onEpoch: (rows: MetricsRow[]) => void;
  log: (line: string) => void;
}

export interface UnitResult {
  rows: MetricsRow[];
  parameters: number;
  wallSeconds: number;
  /** The model's zoo spec, as saved in the checkpoint. */
  resumedFrom: number;
}

export function createOptimizer(cfg: RunConfig, model: ZooModel): Optimizer {
  const { optimizer, lr, weightDecay, momentum } = cfg.train;
  const entries = model.trainableEntries();
  return optimizer === 'lars' ? new Lars(entries, { lr, weightDecay, momentum }) : new AdamW(entries, { lr, weightDecay });
}

async function* iterate(batches: Iterable<Batch> | AsyncIterable<Batch>): AsyncGenerator<Batch> {
  yield* batches;
}

/** Train one unit (one stage of one variant × seed) to cfg.train.epochs, resuming from its checkpoint. */
export async function trainUnit<D>(cfg: RunConfig, task: Task<D>, data: D, run: UnitRun): Promise<UnitResult> {
  const ctx: TaskContext = { cfg, seed: cfg.seed, log: run.log };
  const model = task.createModel ? task.createModel(ctx, run.init) : createModelFromSpec(cfg.model, cfg.seed, 'config key model');
  const optimizer = createOptimizer(cfg, model);
  const { train } = cfg;
  const stepsPerEpoch = task.stepsPerEpoch(data, ctx);
  const totalSteps = stepsPerEpoch * train.epochs;
  const schedule = { peak: train.lr, warmupSteps: train.warmupSteps, totalSteps, finalFraction: train.minLrRatio };
  const perBatch = task.examplesPerBatch?.(ctx) ?? train.batchSize;
  mkdirSync(run.checkpointDir, { recursive: true });

  let rows: MetricsRow[] = [];
  let steps = 0;
  let wallSeconds = 0;
  let startEpoch = 0;
  const state = readCheckpointState(run.checkpointDir);
  if (state !== null && state.configHash !== run.configHash) {
    model.dispose();
    optimizer.dispose();
    throw new RunError(
      `${run.checkpointDir}: holds a checkpoint of a different config (a key that changes training differs); rerun with --fresh to restart this unit, or set output to another directory`,
    );
  }
  if (state !== null) {
    restoreCheckpoint(run.checkpointDir, state, model, optimizer);
    ({ steps, wallSeconds, epochsDone: startEpoch } = state);
    rows = state.metrics;
    if (startEpoch < train.epochs) run.log(`[${run.label}] resuming from ${run.checkpointDir} after epoch ${startEpoch}/${train.epochs}`);
  }

  let firstLoss = NaN;
  try {
    for (let epoch = startEpoch; epoch < train.epochs; epoch++) {
      const t0 = performance.now();
      const progress = new Progress(`[${run.label}] epoch ${epoch + 1}/${train.epochs}`, stepsPerEpoch, train.logEvery);
      let lossSum = 0;
      let step = 0;
      for await (const batch of iterate(task.trainBatches(data, ctx, epoch))) {
        let loss: number;
        try {
          loss = await trainStep(model, batch, optimizer, {
            step: steps,
            totalSteps,
            lr: train.schedule === 'cosine' ? warmupCosine(schedule, steps) : train.lr,
            clip: train.clip > 0 ? train.clip : undefined,
          });
        } catch (err) {
          // tfjs-backend-wasm aborts with a bare RuntimeError when its 4 GiB heap runs out.
          throw tf.getBackend() === 'wasm' ? explainWasmAbort(err, `lower train.batchSize (${train.batchSize}) or use --set backend=webgpu`) : err;
        } finally {
          tf.dispose(batch as tf.TensorContainer);
        }
        if (!Number.isFinite(loss)) {
          throw new RunError(
            `[${run.label}] training diverged at epoch ${epoch + 1} step ${step + 1}: loss ${loss}; the last good checkpoint (epoch ${epoch}) is intact in ${run.checkpointDir}; lower train.lr or add a stabiliser (model.attention.qkNorm, model.layerScale)`,
          );
        }
        if (Number.isNaN(firstLoss)) firstLoss = loss;
        lossSum += loss;
        step++;
        steps++;
        progress.update(step, lossSum / step, `${((step * perBatch) / ((performance.now() - t0) / 1000)).toFixed(0)} ex/s`);
      }
      if (step === 0) throw new RunError(`[${run.label}] the ${task.name} task yielded no training batches; check data limits and train.batchSize`);
      const trainSeconds = (performance.now() - t0) / 1000;
      const metrics = await task.evaluate(model, data, ctx, epoch);
      for (const m of task.metrics) {
        if (typeof metrics[m.name] !== 'number') throw new Error(`task ${task.name}: evaluate() did not return metric ${m.name}`);
      }
      const epochSeconds = (performance.now() - t0) / 1000;
      wallSeconds += epochSeconds;
      const trainLoss = lossSum / step;
      const row: MetricsRow = {
        ...run.ids,
        epoch: epoch + 1,
        steps,
        train_loss: trainLoss,
        ...metrics,
        examples_per_s: (step * perBatch) / trainSeconds,
        epoch_s: epochSeconds,
      };
      rows = [...rows, row];
      const shown = task.metrics
        .slice(0, 2)
        .map((m) => `${m.label} ${m.percent ? `${(100 * metrics[m.name]).toFixed(2)}%` : metrics[m.name].toFixed(4)}`)
        .join('  ');
      progress.done(`[${run.label}] epoch ${epoch + 1}/${train.epochs}  train loss ${trainLoss.toFixed(4)}  ${shown}  ${epochSeconds.toFixed(1)} s`);
      if (trainLoss > 10 * Math.max(firstLoss, 1e-3) || !Number.isFinite(trainLoss)) {
        run.log(
          `warning: [${run.label}] epoch ${epoch + 1} train loss ${trainLoss.toPrecision(5)} is over 10× the first step's (${firstLoss.toPrecision(5)}): training is unstable. ` +
            'The checkpoint is saved; consider a lower train.lr, a longer warm-up or a stabiliser',
        );
      }
      await saveCheckpoint(run.checkpointDir, model, optimizer, {
        configHash: run.configHash,
        epochsDone: epoch + 1,
        epochsPlanned: train.epochs,
        steps,
        wallSeconds,
        metrics: rows,
      });
      run.onEpoch(rows);
    }
    return { rows, parameters: model.params.count(), wallSeconds, resumedFrom: startEpoch };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}
