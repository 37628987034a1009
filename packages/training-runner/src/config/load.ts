/**
 * Config files: YAML with `extends` (a path or list of paths, relative to the file) resolved
 * depth-first and deep-merged (later wins; lists are replaced, not concatenated), then dotted
 * overrides `a.b.c=value` (value parsed as YAML, so `3`, `true`, `[1, 2]` and `softmax` all work).
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ConfigError } from './schema.js';

export type ConfigTree = Record<string, unknown>;

export function isPlainObject(v: unknown): v is ConfigTree {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function deepMerge(base: ConfigTree, delta: ConfigTree): ConfigTree {
  const out: ConfigTree = { ...base };
  for (const [k, v] of Object.entries(delta)) {
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k] as ConfigTree, v) : v;
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

/** Load a YAML config and everything it extends, merged; `extends` is removed from the result. */
export function loadConfigTree(path: string, seen: string[] = []): ConfigTree {
  const abs = resolve(path);
  if (seen.includes(abs)) throw new ConfigError(`config file ${abs}: extends cycle: ${[...seen, abs].join(' → ')}`);
  const tree = readYaml(abs);
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
    out = setPath(out, path, value);
  }
  return out;
}

/**
 * Apply a map of dotted keys (as used by `variants:`) to a tree. A value that is itself a mapping is
 * deep-merged, so `{ model.attention: { kind: sigmoid } }` and `{ model: { attention: { kind: sigmoid } } }`
 * both change one key and keep the rest.
 */
export function applyDotted(tree: ConfigTree, dotted: Record<string, unknown>): ConfigTree {
  let out = tree;
  for (const [k, v] of Object.entries(dotted)) {
    const path = k.split('.');
    const current = path.reduce<unknown>((node, key) => (isPlainObject(node) ? node[key] : undefined), out);
    out = setPath(out, path, isPlainObject(v) && isPlainObject(current) ? deepMerge(current, v) : v);
  }
  return out;
}
