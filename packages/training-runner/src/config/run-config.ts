/** The schema of a run config (configs/base.yaml documents every key). */
import { resolveSpec } from '@sigattn/model-zoo';
import { anyValue, int, list, num, obj, oneOf, record, str, withDefault, type Infer, type Schema } from './schema.js';

/**
 * The model section is a model-zoo spec (`{ name, ...config keys }`, the shape of configs/models/*.yaml);
 * the zoo's registry validates it, with errors that name the key under `model.`.
 */
const modelSchema: Schema<ModelSpec> = {
  expected: 'a model-zoo spec { name, ...config }',
  parse: (value, key) => resolveSpec(value, `config key ${key}`) as ModelSpec,
  objectLike: true,
};

/** The `data:` section belongs to the task, which validates it (tasks/<task>.ts `dataSchema`). */
const dataSchema: Schema<Record<string, unknown>> = { ...record(anyValue()), fallback: {}, objectLike: true };

export const TRAIN_SCHEMA = obj({
  epochs: int({ min: 1 }),
  batchSize: int({ min: 1 }),
  /** Cap on optimiser steps per epoch; 0 = one full pass over the training data. */
  stepsPerEpoch: withDefault(int({ min: 0 }), 0),
  optimizer: withDefault(oneOf(['adamw', 'lars'] as const), 'adamw' as 'adamw' | 'lars'),
  /** Peak learning rate. */
  lr: num({ min: 0, exclusiveMin: true }),
  /** Decoupled weight decay (norms, biases, LayerScale, CLS and positions get none). */
  weightDecay: withDefault(num({ min: 0 }), 0.05),
  /** LARS momentum (AdamW ignores it). */
  momentum: withDefault(num({ min: 0, max: 1 }), 0.9),
  /** Clip gradients to this global norm; 0 = off. */
  clip: withDefault(num({ min: 0 }), 0),
  /** constant, or linear warm-up for warmupSteps then cosine decay to minLrRatio·lr at the last step. */
  schedule: withDefault(oneOf(['constant', 'cosine'] as const), 'cosine' as 'constant' | 'cosine'),
  warmupSteps: withDefault(int({ min: 0 }), 0),
  minLrRatio: withDefault(num({ min: 0, max: 1 }), 0.1),
  evalBatchSize: withDefault(int({ min: 1 }), 500),
  /** Progress line every this many steps when stdout is not a terminal (display only: not part of a run's identity). */
  logEvery: withDefault(int({ min: 1 }), 50),
});

export const runConfigSchema = obj({
  name: str(),
  /** The task module that trains and scores this run (packages/training-runner/src/tasks/). */
  task: withDefault(str(), 'classify'),
  seed: withDefault(int({ min: 0 }), 0),
  /** Sweep: one unit per (variant, seed); empty = just `seed`. */
  seeds: withDefault(list(int({ min: 0 })), [] as number[]),
  backend: withDefault(oneOf(['wasm', 'cpu', 'webgpu', 'cuda'] as const), 'wasm' as 'wasm' | 'cpu' | 'webgpu' | 'cuda'),
  output: withDefault(str(), 'results'),
  data: dataSchema,
  model: modelSchema,
  init: obj({
    /**
     * Start from a finished run's weights: a stage of this experiment (its name), or a unit directory
     * `results/<experiment>/<variant>/seed-<k>[/<stage>]`; `{variant}` and `{seed}` are substituted.
     */
    from: withDefault(str({ allowEmpty: true }), ''),
  }),
  train: TRAIN_SCHEMA,
  eval: obj({
    /**
     * Sigmoid bias when evaluating at a length other than the training length n: `train-length` keeps
     * b = −log n_train (the paper's rule); `eval-length` recomputes b = −log n_eval.
     */
    bias: withDefault(oneOf(['train-length', 'eval-length'] as const), 'train-length' as 'train-length' | 'eval-length'),
  }),
  /** Named variants, each a map of dotted keys over this config, e.g. { 'model.attention.kind': sigmoid }. */
  variants: withDefault(record(record(anyValue())), {}),
});

/** A model-zoo spec after validation: every default filled in. */
export type ModelSpec = { name: string } & Record<string, unknown>;

export type RunConfig = Infer<typeof runConfigSchema>;
export type TrainConfig = RunConfig['train'];
