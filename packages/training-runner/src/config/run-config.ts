/** The schema of a run config (configs/base.yaml documents every key). */
import { resolveSpec } from '@sigattn/model-zoo';
import { int, num, obj, oneOf, record, str, withDefault, anyValue, type Infer, type Schema, ConfigError } from './schema.js';
import { applyDotted, applyOverrides, loadConfigTree, type ConfigTree } from './load.js';

/**
 * The model section is a model-zoo spec (`{ name, ...config keys }`, the shape of configs/models/*.yaml);
 * the zoo's registry validates it, with errors that name the key under `model.`.
 */
const modelSchema: Schema<ModelSpec> = {
  expected: 'a model-zoo spec { name, ...config }',
  parse: (value, key) => resolveSpec(value, `config key ${key}`) as ModelSpec,
  objectLike: true,
};

export const runConfigSchema = obj({
  name: str(),
  seed: withDefault(int({ min: 0 }), 0),
  backend: withDefault(oneOf(['wasm', 'cpu', 'webgpu'] as const), 'wasm' as 'wasm' | 'cpu' | 'webgpu'),
  output: withDefault(str(), 'results'),
  data: obj({
    dataset: oneOf(['fashion-mnist'] as const),
    path: str(),
    /** 0 means the whole split. */
    trainLimit: withDefault(int({ min: 0 }), 0),
    testLimit: withDefault(int({ min: 0 }), 0),
  }),
  model: modelSchema,
  train: obj({
    epochs: int({ min: 1 }),
    batchSize: int({ min: 1 }),
    /** Peak learning rate of AdamW. */
    lr: num({ min: 0, exclusiveMin: true }),
    /** Decoupled weight decay (norms, biases, LayerScale, CLS and positions get none). */
    weightDecay: withDefault(num({ min: 0 }), 0.05),
    /** constant, or linear warm-up for warmupSteps then cosine decay to minLrRatio·lr at the last step. */
    schedule: withDefault(oneOf(['constant', 'cosine'] as const), 'cosine' as 'constant' | 'cosine'),
    warmupSteps: withDefault(int({ min: 0 }), 0),
    minLrRatio: withDefault(num({ min: 0, max: 1 }), 0.1),
    evalBatchSize: withDefault(int({ min: 1 }), 500),
    /** Progress line every this many steps when stdout is not a terminal. */
    logEvery: withDefault(int({ min: 1 }), 50),
  }),
  /** Named variants, each a map of dotted keys over this config, e.g. { 'model.attention.kind': sigmoid }. */
  variants: withDefault(record(record(anyValue())), {}),
});

/** A model-zoo spec after validation: every default filled in. */
export type ModelSpec = { name: string } & Record<string, unknown>;

export type RunConfig = Infer<typeof runConfigSchema>;
export type VariantOverrides = Record<string, Record<string, unknown>>;

/** Validate a merged tree; `source` names the file(s) in errors. */
export function validateRunConfig(tree: ConfigTree, source: string): RunConfig {
  try {
    return runConfigSchema.parse(tree, '');
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${source}: ${err.message}`);
    throw err;
  }
}

/** Load a config file (with extends) and CLI overrides into a validated RunConfig. */
export function loadRunConfig(path: string, overrides: readonly string[] = []): RunConfig {
  const tree = applyOverrides(loadConfigTree(path), overrides);
  return validateRunConfig(tree, overrides.length > 0 ? `${path} (with --set ${overrides.join(' ')})` : path);
}

/** The config of one variant: the run config with the variant's dotted overrides applied, re-validated. */
export function variantConfig(run: RunConfig, variant: string): RunConfig {
  const delta = run.variants[variant];
  if (delta === undefined) {
    throw new ConfigError(`unknown variant ${JSON.stringify(variant)}: this config defines ${Object.keys(run.variants).join(', ') || 'no variants'}`);
  }
  const { variants: _variants, ...rest } = run;
  return validateRunConfig(applyDotted(rest as ConfigTree, delta), `variant ${variant}`);
}
