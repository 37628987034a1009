/**
 * Config files: YAML with `extends` (a path or list of paths, relative to the file) resolved
 * depth-first and deep-merged (later wins; lists are replaced, not concatenated), then dotted
 * overrides `a.b.c=value` (value parsed as YAML, so `3`, `true`, `[1, 2]` and `softmax` all work).
 *
 * Config groups (as Hydra's): a section listed in GROUPS may name a file of its group directory with
 * `use:` — `model: { use: vit-tiny, depth: 4 }` is configs/models/vit-tiny.yaml with depth 4, and
 * `model: vit-tiny` is short for `model: { use: vit-tiny }`. A section that says `use:` replaces what it
 * inherits instead of merging into it, so a probe's model never picks up the base's ViT keys.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { closestName } from '@sigattn/common';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ConfigError } from './schema.js';

export type ConfigTree = Record<string, unknown>;

export function isPlainObject(v: unknown): v is ConfigTree {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Sections that can name a file of a config group, and the directory (beside base.yaml) that holds the group. */
export const GROUPS: Readonly<Record<string, string>> = { model: 'models' };

/** `model: vit-tiny` → `model: { use: vit-tiny }` for every group section of a tree. */
export function normalizeGroups(tree: ConfigTree): ConfigTree {
  const out = { ...tree };
  for (const section of Object.keys(GROUPS)) if (typeof out[section] === 'string') out[section] = { use: out[section] };
  return out;
}

export function deepMerge(base: ConfigTree, delta: ConfigTree): ConfigTree {
  const out: ConfigTree = { ...base };
  for (const [k, v] of Object.entries(delta)) {
    const replaces = isPlainObject(v) && 'use' in v;
    out[k] = isPlainObject(v) && isPlainObject(out[k]) && !replaces ? deepMerge(out[k] as ConfigTree, v) : v;
  }
  return out;
}

function readYaml(path: string): ConfigTree {
  if (!existsSync(path)) throw new ConfigError(`config file ${path} not found`);
  let data: unknown;
  try {
    data = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    const detail = err instanceof YAMLParseError ? err.message.split('\n')[0] : String(err);
    throw new ConfigError(`config file ${path}: invalid YAML: ${detail}`);
  }
  if (data === null || data === undefined) return {};
  if (!isPlainObject(data)) throw new ConfigError(`config file ${path}: expected a YAML mapping at the top level, found ${Array.isArray(data) ? 'a list' : typeof data}`);
  return data;
}

/** The config file and every file it extends, depth-first. */
export function extendsChain(path: string, seen: string[] = []): string[] {
  const abs = resolve(path);
  if (seen.includes(abs)) return [];
  const parents = readYaml(abs).extends;
  const list = parents === undefined ? [] : Array.isArray(parents) ? parents : [parents];
  return [abs, ...list.flatMap((p) => (typeof p === 'string' ? extendsChain(resolve(dirname(abs), p), [...seen, abs]) : []))];
}

/**
 * The directory holding group `dir` (e.g. models/): the nearest one at or above the config file's
 * directory, else at or above the directory of a file it extends (so a config anywhere that extends
 * configs/base.yaml finds configs/models/).
 */
export function findGroupDir(configFile: string, dir: string): string | null {
  for (const file of extendsChain(configFile)) {
    for (let at = dirname(file); ; at = dirname(at)) {
      if (existsSync(join(at, dir))) return join(at, dir);
      if (dirname(at) === at) break;
    }
  }
  return null;
}

/** Replace each group section's `use:` by the named file with the section's other keys merged over it. */
export function resolveGroups(tree: ConfigTree, configFile: string): ConfigTree {
  const out = { ...tree };
  for (const [section, dir] of Object.entries(GROUPS)) {
    const value = out[section];
    if (!isPlainObject(value) || !('use' in value)) continue;
    const { use, ...rest } = value;
    const groupDir = findGroupDir(configFile, dir);
    const available = groupDir === null ? [] : readdirSync(groupDir).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();
    if (typeof use !== 'string' || !available.includes(use)) {
      const hint = typeof use === 'string' ? closestName(use, available) : undefined;
      throw new ConfigError(
        `config key ${section}.use: expected the name of a file in ${groupDir ?? `a ${dir}/ directory beside the config`}` +
          ` (${available.join(', ') || 'none found'}), found ${JSON.stringify(use)}${hint ? ` (did you mean ${hint}?)` : ''}`,
      );
    }
    out[section] = deepMerge(readYaml(join(groupDir as string, `${use}.yaml`)), rest);
  }
  return out;
}

/** Load a YAML config and everything it extends, merged; `extends` is removed from the result. */
export function loadConfigTree(path: string, seen: string[] = []): ConfigTree {
  const abs = resolve(path);
  if (seen.includes(abs)) throw new ConfigError(`config file ${abs}: extends cycle: ${[...seen, abs].join(' → ')}`);
  const tree = normalizeGroups(readYaml(abs));
  if (isPlainObject(tree.stages)) {
    tree.stages = Object.fromEntries(Object.entries(tree.stages).map(([k, v]) => [k, isPlainObject(v) ? normalizeGroups(v) : v]));
  }
  const parents = tree.extends;
  delete tree.extends;
  const list = parents === undefined ? [] : Array.isArray(parents) ? parents : [parents];
  let merged: ConfigTree = {};
  for (const parent of list) {
    if (typeof parent !== 'string') throw new ConfigError(`config file ${abs}: key extends: expected a file path or a list of paths, found ${JSON.stringify(parent)}`);
    merged = deepMerge(merged, loadConfigTree(resolve(dirname(abs), parent), [...seen, abs]));
  }
  return deepMerge(merged, tree);
}

/** Parse `a.b=value` into [path, value]. */
export function parseOverride(text: string): [string[], unknown] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new ConfigError(`override ${JSON.stringify(text)}: expected key=value, e.g. --set train.epochs=2`);
  const key = text.slice(0, eq).trim();
  const raw = text.slice(eq + 1);
  if (!/^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$/.test(key)) throw new ConfigError(`override ${JSON.stringify(text)}: ${JSON.stringify(key)} is not a dotted key like train.epochs`);
  let value: unknown;
  try {
    value = raw === '' ? '' : parseYaml(raw);
  } catch {
    value = raw;
  }
  return [key.split('.'), value];
}

/** Set a dotted path in a tree (creating objects on the way). Returns a new tree. */
export function setPath(tree: ConfigTree, path: string[], value: unknown): ConfigTree {
  const [head, ...rest] = path;
  if (rest.length === 0) return { ...tree, [head]: value };
  const child = tree[head];
  if (child !== undefined && !isPlainObject(child)) {
    throw new ConfigError(`override ${path.join('.')}: ${head} holds ${JSON.stringify(child)}, not an object, so it has no key ${rest[0]}`);
  }
  return { ...tree, [head]: setPath((child as ConfigTree | undefined) ?? {}, rest, value) };
}

export function applyOverrides(tree: ConfigTree, overrides: readonly string[]): ConfigTree {
  let out = tree;
  for (const o of overrides) {
    const [path, value] = parseOverride(o);
    out = applyDotted(out, { [path.join('.')]: value });
  }
  return out;
}

/**
 * Apply a map of dotted keys (as used by `variants:`) to a tree. A value that is itself a mapping is
 * deep-merged, so `{ model.attention: { kind: sigmoid } }` and `{ model: { attention: { kind: sigmoid } } }`
 * both change one key and keep the rest.
 */
export function applyDotted(tree: ConfigTree, dotted: Record<string, unknown>): ConfigTree {
  let out = normalizeGroups(tree);
  for (const [k, raw] of Object.entries(dotted)) {
    const path = k.split('.');
    // `model=vit-tiny` swaps the group file, like Hydra's `model=vit_tiny`.
    const v = path.length === 1 && path[0] in GROUPS && typeof raw === 'string' ? { use: raw } : raw;
    const current = path.reduce<unknown>((node, key) => (isPlainObject(node) ? node[key] : undefined), out);
    const merges = isPlainObject(v) && isPlainObject(current) && !('use' in v);
    out = setPath(out, path, merges ? deepMerge(current, v) : v);
    out = normalizeGroups(out);
  }
  return out;
}
