/**
 * One registry: every model by name and config. A model spec is the plain object of a
 * configs/models/*.yaml file: `{ model: <name>, ...config keys }`.
 */
import { ConfigError } from './config.js';
import type { ZooModel } from './model.js';
import { Vit } from './vit.js';
import { Mae } from './mae.js';
import { Simclr } from './simclr.js';
import { Byol } from './byol.js';
import { Asr } from './asr.js';
import { Lm } from './lm.js';
import { ClassifierHead, resolveHeadConfig, type FeatureBackbone } from './heads.js';

export const MODEL_NAMES = ['vit', 'mae', 'simclr', 'byol', 'asr', 'lm', 'linear-probe', 'finetune'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

const BACKBONES = ['vit', 'mae', 'simclr', 'byol'];

export function createModel(name: string, config: unknown, seed: number): ZooModel {
  switch (name as ModelName) {
    case 'vit':
      return new Vit(config as ConstructorParameters<typeof Vit>[0], seed);
    case 'mae':
      return new Mae(config, seed);
    case 'simclr':
      return new Simclr(config, seed);
    case 'byol':
      return new Byol(config, seed);
    case 'asr':
      return new Asr(config, seed);
    case 'lm':
      return new Lm(config, seed);
    case 'linear-probe':
    case 'finetune': {
      const probe = name === 'linear-probe';
      const c = resolveHeadConfig(config, `${name} config`, probe);
      if (!BACKBONES.includes(c.backbone.model)) {
        throw new ConfigError(
          `${name} config.backbone.model: expected one of ${BACKBONES.join(', ')}, found ${JSON.stringify(c.backbone.model)}. ` +
            'Fix: pick an image backbone with pooled features',
        );
      }
      const backbone = createModelFromSpec(c.backbone, seed) as FeatureBackbone;
      return new ClassifierHead(name as 'linear-probe' | 'finetune', c, backbone, seed + 7919);
    }
    default:
      throw new ConfigError(`model: expected one of ${MODEL_NAMES.join(', ')}, found ${JSON.stringify(name)}. Fix: use a registered model name`);
  }
}

/** Build from `{ model: name, ...config }` (the shape of configs/models/*.yaml). */
export function createModelFromSpec(spec: unknown, seed: number, where = 'model spec'): ZooModel {
  if (spec === null || typeof spec !== 'object' || typeof (spec as { model?: unknown }).model !== 'string') {
    throw new ConfigError(`${where}: expected a mapping with a 'model' key (one of ${MODEL_NAMES.join(', ')}), found ${JSON.stringify(spec)}. Fix: add model: <name>`);
  }
  const { model, ...config } = spec as { model: string } & Record<string, unknown>;
  return createModel(model, config, seed);
}

/** The spec (`{ model, ...resolved config }`) that rebuilds this model. */
export function modelSpec(m: ZooModel): { model: string } & Record<string, unknown> {
  return { model: m.modelName, ...(m.config as Record<string, unknown>) };
}
