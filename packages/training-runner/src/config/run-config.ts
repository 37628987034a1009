/** The schema of a run config (configs/base.yaml documents every key). */
import { bool, either, int, num, obj, oneOf, record, str, withDefault, anyValue, type Infer, ConfigError } from './schema.js';
import { applyDotted, applyOverrides, loadConfigTree, type ConfigTree } from './load.js';

const attentionSchema = obj({
  kind: oneOf(['softmax', 'sigmoid'] as const),
  bias: withDefault(either(oneOf(['negLogN', 'none'] as const), num()), 'negLogN' as 'negLogN' | 'none' | number),
  qkNorm: withDefault(oneOf(['none', 'layernorm', 'rmsnorm'] as const), 'none' as 'none' | 'layernorm' | 'rmsnorm'),
  causal: withDefault(bool(), false),
});

const vitSchema = obj({
  name: oneOf(['vit'] as const),
  imageSize: int({ min: 1 }),
  channels: int({ min: 1 }),
  patchSize: int({ min: 1 }),
  dim: int({ min: 1 }),
  depth: int({ min: 1 }),
  heads: int({ min: 1 }),
  mlpRatio: num({ min: 0, exclusiveMin: true }),
  classes: int({ min: 2 }),
  attention: attentionSchema,
});

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
  model: vitSchema,
  train: obj({
    epochs: int({ min: 1 }),
    batchSize: int({ min: 1 }),
    lr: num({ min: 0, exclusiveMin: true }),
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
