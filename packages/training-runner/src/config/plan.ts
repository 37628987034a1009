/**
 * An experiment file → its units. A unit is one (variant, seed): its own resumable run under
 * `<output>/<name>/<variant>/seed-<k>/`. An experiment with `stages:` (e.g. pretrain → probe) runs
 * each stage of a unit in order, in `<unit>/<stage>/`; a later stage may start from an earlier one's
 * weights with `init.from: <stage>`.
 *
 * A unit's config is built as: the file (with `extends`) → CLI `--set` overrides → the stage's delta
 * (deep-merged) → the variant's dotted overrides → seed → config groups (`model: { use: … }`) →
 * validation of every key (the task validates `data:`, the zoo validates `model:`).
 */
import { ConfigError } from '@sigattn/common';
import { applyDotted, applyOverrides, deepMerge, isPlainObject, loadConfigTree, resolveGroups, type ConfigTree } from './load.js';
import { runConfigSchema, type RunConfig } from './run-config.js';
import { int, list, record, anyValue } from './schema.js';
import { getTask } from '../tasks/registry.js';

/** The variant name of an experiment that defines no `variants:`. */
export const DEFAULT_VARIANT = 'default';

export interface UnitId {
  variant: string;
  seed: number;
}

export interface ExperimentPlan {
  /** The experiment file. */
  file: string;
  name: string;
  /** `<output>/<name>`. */
  dir: string;
  /** The merged tree (extends + overrides), as written to `<dir>/config.yaml`. */
  tree: ConfigTree;
  variants: string[];
  seeds: number[];
  /** Stage names in run order; empty when the experiment has no `stages:`. */
  stages: string[];
}

const META_KEYS = ['variants', 'seeds', 'stages'] as const;

function withSource<T>(source: string, build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof ConfigError && !err.message.startsWith(source)) throw new ConfigError(`${source}: ${err.message}`);
    throw err;
  }
}

export function loadPlan(file: string, overrides: readonly string[] = []): ExperimentPlan {
  const source = overrides.length > 0 ? `${file} (with --set ${overrides.join(' ')})` : file;
  return withSource(source, () => {
    const tree = applyOverrides(loadConfigTree(file), overrides);
    const variants = Object.keys(record(record(anyValue())).parse(tree.variants ?? {}, 'variants'));
    const seedList = list(int({ min: 0 })).parse(tree.seeds ?? [], 'seeds');
    const seed = int({ min: 0 }).parse(tree.seed ?? 0, 'seed');
    if (tree.stages !== undefined && (!isPlainObject(tree.stages) || Object.keys(tree.stages).length === 0)) {
      throw new ConfigError(`config key stages: expected a mapping of stage name → config delta (e.g. pretrain: { task: mae }), found ${JSON.stringify(tree.stages)}`);
    }
    const stages = Object.keys((tree.stages as ConfigTree | undefined) ?? {});
    for (const v of variants) if (!/^[\w.-]+$/.test(v)) throw new ConfigError(`config key variants.${v}: a variant name is a directory name; use letters, digits, '-', '_' or '.'`);
    if (typeof tree.name !== 'string' || !/^[\w.-]+$/.test(tree.name)) {
      throw new ConfigError(`config key name: expected a name made of letters, digits, '-', '_' or '.', found ${JSON.stringify(tree.name)}`);
    }
    const output = typeof tree.output === 'string' ? tree.output : 'results';
    return {
      file,
      name: tree.name,
      dir: `${output}/${tree.name}`,
      tree,
      variants: variants.length > 0 ? variants : [DEFAULT_VARIANT],
      seeds: seedList.length > 0 ? [...new Set(seedList)] : [seed],
      stages,
    };
  });
}

/** The fully resolved, validated config of one unit (and stage). Throws ConfigError naming the unit and key. */
export function unitConfig(plan: ExperimentPlan, unit: UnitId, stage: string | null): RunConfig {
  const where = `${plan.file} [${unit.variant} seed ${unit.seed}${stage ? ` stage ${stage}` : ''}]`;
  return withSource(where, () => {
    const rest: ConfigTree = { ...plan.tree };
    for (const k of META_KEYS) delete rest[k];
    let tree = rest;
    if (stage !== null) {
      const delta = (plan.tree.stages as ConfigTree)[stage];
      if (!isPlainObject(delta)) throw new ConfigError(`config key stages.${stage}: expected a mapping of config keys, found ${JSON.stringify(delta)}`);
      tree = deepMerge(tree, delta);
    }
    const variants = (plan.tree.variants ?? {}) as Record<string, Record<string, unknown>>;
    if (unit.variant !== DEFAULT_VARIANT || variants[DEFAULT_VARIANT] !== undefined) {
      const delta = variants[unit.variant];
      if (delta === undefined) throw new ConfigError(`unknown variant ${JSON.stringify(unit.variant)}: this config defines ${Object.keys(variants).join(', ') || 'no variants'}`);
      tree = applyDotted(tree, delta);
    }
    tree = resolveGroups({ ...tree, seed: unit.seed }, plan.file);
    // The task and the model it trains are checked first: a wrong pairing is the likelier mistake than
    // the model keys the zoo would otherwise complain about.
    const task = getTask(typeof tree.task === 'string' ? tree.task : 'classify');
    const modelName = isPlainObject(tree.model) ? tree.model.name : undefined;
    if (typeof modelName === 'string' && !task.models.includes(modelName)) {
      throw new ConfigError(`config key model.name: the ${task.name} task trains ${task.models.join(', ')}, found ${JSON.stringify(modelName)}; pick one of those (e.g. model: { use: <file in configs/models/> })`);
    }
    const cfg = runConfigSchema.parse(tree, '');
    return { ...cfg, data: task.dataSchema.parse(cfg.data, 'data') };
  });
}

/** Every (variant, seed) of the plan, filtered by the CLI's --variant / --seed selections. */
export function selectUnits(plan: ExperimentPlan, variants?: readonly string[], seeds?: readonly number[]): UnitId[] {
  for (const v of variants ?? []) {
    if (!plan.variants.includes(v)) throw new ConfigError(`--variant ${v}: ${plan.file} defines ${plan.variants.join(', ')}`);
  }
  for (const s of seeds ?? []) {
    if (!plan.seeds.includes(s)) throw new ConfigError(`--seed ${s}: ${plan.file} runs seeds ${plan.seeds.join(', ')} (set seeds: in the config to add one)`);
  }
  const vs = variants && variants.length > 0 ? plan.variants.filter((v) => variants.includes(v)) : plan.variants;
  const ss = seeds && seeds.length > 0 ? plan.seeds.filter((s) => seeds.includes(s)) : plan.seeds;
  return vs.flatMap((variant) => ss.map((seed) => ({ variant, seed })));
}

export function unitDir(plan: ExperimentPlan, unit: UnitId, stage: string | null): string {
  const base = `${plan.dir}/${unit.variant}/seed-${unit.seed}`;
  return stage === null ? base : `${base}/${stage}`;
}
