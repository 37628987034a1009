/**
 * The task contract. A task is what a kernel is in tfjs: one file under tasks/, one entry in
 * tasks/registry.ts. The runner owns everything around it — config loading, units (variant × seed),
 * the one training loop (lr schedule, async step, NaN stop, progress), checkpoints, weight hand-off,
 * metrics.csv and the summary — so a task only says what is specific to it:
 *
 *   which zoo models it trains  →  `models`          (checked before any data loads)
 *   what its `data:` keys are   →  `dataSchema`      (validated with the rest of the config)
 *   whether the data is there   →  `checkData`       (cheap; before anything is written)
 *   how to load it              →  `load`
 *   what one epoch feeds        →  `stepsPerEpoch`, `trainBatches`
 *   how it is scored            →  `metrics`, `evaluate`
 */
import type { Batch, ZooModel } from '@sigattn/model-zoo';
import type { Schema } from '../config/schema.js';
import type { RunConfig } from '../config/run-config.js';

/** One metric column a task reports after each epoch. */
export interface MetricSpec {
  /** Column name in metrics.csv (snake_case), e.g. 'test_accuracy', 'ppl_x2'. */
  name: string;
  /** Shown in summaries, e.g. 'test accuracy'. */
  label: string;
  /** For reading tables: is a larger value better? */
  higherIsBetter: boolean;
  /** Stored as a fraction, shown ×100 with a % sign. */
  percent?: boolean;
}

/** What a task's hooks get: the unit's resolved config (its variant and seed applied) and a logger. */
export interface TaskContext {
  cfg: RunConfig;
  /** The unit's seed (cfg.seed): every random draw of data order, masks and views derives from it. */
  seed: number;
  log: (line: string) => void;
}

export interface Task<Data = unknown> {
  /** The `task:` key. */
  readonly name: string;
  /** One line for `sigattn tasks` and the docs. */
  readonly description: string;
  /** Zoo model names (`model.name`) this task trains. */
  readonly models: readonly string[];
  /** Schema of the `data:` section (defaults filled in); its keys are this task's to define. */
  readonly dataSchema: Schema<Record<string, unknown>>;
  /** Metric columns, headline first (the summary's main column). */
  readonly metrics: readonly MetricSpec[];
  /**
   * Throw a DataError (from @sigattn/common) if the inputs are missing, with the exact command that
   * builds them. Must be cheap (file existence, manifest): it runs before anything is written.
   */
  checkData(data: Record<string, unknown>): void;
  /**
   * Optional: throw a ConfigError if this unit's whole config cannot work with the task (a model key
   * that contradicts the data, an evaluation the model cannot run). Cheap; runs for every unit and
   * stage, after checkData and before anything is written. `load` is shared by every unit with the
   * same `data:`, so checks and values that depend on other keys belong here or in the per-unit hooks.
   */
  checkConfig?(cfg: RunConfig): void;
  /** Load everything training and evaluation need: once per distinct `data:` section, shared by the units that have it. */
  load(ctx: TaskContext): Promise<Data>;
  /**
   * Build the model. Default: the zoo registry from `cfg.model`. Tasks that start from another run
   * (probe, finetune) get `init`, the checkpoint named by `init.from`, and build from its spec.
   */
  createModel?(ctx: TaskContext, init: InitCheckpoint | null): ZooModel;
  /** Optimiser steps in one epoch (after any train.stepsPerEpoch cap the runner applies). */
  stepsPerEpoch(data: Data, ctx: TaskContext): number;
  /**
   * The training batches of one epoch, in a seeded order (derive it from ctx.seed and epoch). The loop
   * disposes every tensor in a batch after its step. Yield at most stepsPerEpoch batches.
   */
  trainBatches(data: Data, ctx: TaskContext, epoch: number): Iterable<Batch> | AsyncIterable<Batch>;
  /**
   * Held-out metrics after an epoch: one value per `metrics` entry (extra keys are kept too). Read
   * tensors with `await t.data()` (webgpu cannot read synchronously) and dispose what you create.
   */
  evaluate(model: ZooModel, data: Data, ctx: TaskContext, epoch: number): Promise<Record<string, number>>;
  /** Images, sequences or tokens per training batch, for the throughput column (default train.batchSize). */
  examplesPerBatch?(ctx: TaskContext): number;
}

/** A finished run's checkpoint, as `init.from` resolves it. */
export interface InitCheckpoint {
  /** The checkpoint directory. */
  dir: string;
  /** The zoo spec of the model that was trained there. */
  spec: { name: string } & Record<string, unknown>;
  /** Load tensors named in `names` (checkpoint name → live variable); errors name the tensor. */
  load(pairs: readonly (readonly [string, import('@tensorflow/tfjs').Variable])[]): void;
}
