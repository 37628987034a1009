/**
 * One registry: every model by name and config. A model spec is the plain object of a
 * configs/models/*.yaml file (and of the runner's `model:` section): `{ name: <model>, ...config keys }`.
 */
import { ConfigError } from '@sigattn/common';
import type { ZooModel } from './model.js';
import { resolveVitConfig, Vit } from './vit.js';
import { Mae, resolveMaeConfig } from './mae.js';
import { resolveSimclrConfig, Simclr } from './simclr.js';
import { Byol, resolveByolConfig } from './byol.js';
import { Asr, resolveAsrConfig } from './asr.js';
import { Lm, resolveLmConfig } from './lm.js';
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
      if (!BACKBONES.includes(c.backbone.name)) {
        throw new ConfigError(
          `${name} config.backbone.name: expected one of ${BACKBONES.join(', ')}, found ${JSON.stringify(c.backbone.name)}. ` +
            'Fix: pick an image backbone with pooled features',
        );
      }
      const backbone = createModelFromSpec(c.backbone, seed, `${name} config.backbone`) as FeatureBackbone;
      return new ClassifierHead(name as 'linear-probe' | 'finetune', c, backbone, seed + 7919);
    }
    default:
      throw new ConfigError(`model: expected one of ${MODEL_NAMES.join(', ')}, found ${JSON.stringify(name)}. Fix: use a registered model name`);
  }
}

/** Build from `{ name, ...config }` (the shape of configs/models/*.yaml). */
export function createModelFromSpec(spec: unknown, seed: number, where = 'model spec'): ZooModel {
  if (spec === null || typeof spec !== 'object' || typeof (spec as { name?: unknown }).name !== 'string') {
    throw new ConfigError(`${where}: expected a mapping with a 'name' key (one of ${MODEL_NAMES.join(', ')}), found ${JSON.stringify(spec)}. Fix: add name: <model>`);
  }
  const { name, ...config } = spec as { name: string } & Record<string, unknown>;
  return createModel(name, config, seed);
}

/** The spec (`{ name, ...resolved config }`) that rebuilds this model. */
export function modelSpec(m: ZooModel): { name: string } & Record<string, unknown> {
  return { name: m.modelName, ...(m.config as Record<string, unknown>) };
}

/**
 * Validate a spec and fill its defaults WITHOUT building the model (no tensors are allocated), e.g. to
 * check a paper-scale config. Returns `{ name, ...resolved config }`.
 */
export function resolveSpec(spec: unknown, where = 'model spec'): { name: string } & Record<string, unknown> {
  if (spec === null || typeof spec !== 'object' || typeof (spec as { name?: unknown }).name !== 'string') {
    throw new ConfigError(`${where}: expected a mapping with a 'name' key (one of ${MODEL_NAMES.join(', ')}), found ${JSON.stringify(spec)}. Fix: add name: <model>`);
  }
  const { name, ...raw } = spec as { name: string } & Record<string, unknown>;
  const resolvers: Record<string, (r: unknown, w: string) => object> = {
    vit: resolveVitConfig,
    mae: resolveMaeConfig,
    simclr: resolveSimclrConfig,
    byol: resolveByolConfig,
    asr: resolveAsrConfig,
    lm: resolveLmConfig,
    'linear-probe': (r, w) => {
      const c = resolveHeadConfig(r, w, true);
      return { ...c, backbone: resolveSpec(c.backbone, `${w}.backbone`) };
    },
    finetune: (r, w) => {
      const c = resolveHeadConfig(r, w, false);
      return { ...c, backbone: resolveSpec(c.backbone, `${w}.backbone`) };
    },
  };
  const resolve = resolvers[name];
  if (resolve === undefined) {
    throw new ConfigError(`${where}.name: expected one of ${MODEL_NAMES.join(', ')}, found ${JSON.stringify(name)}. Fix: use a registered model name`);
  }
  return { name, ...resolve(raw, where) };
}
