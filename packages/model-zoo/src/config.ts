/**
 * Config validation with defaults. Model configs come from YAML files written by hand, so every error
 * names the key, what was expected, what was found and how to fix it, and unknown keys (typos) are
 * rejected instead of silently ignored.
 */
import { closestName, ConfigError } from '@sigattn/common';

export type FieldSpec =
  | { type: 'int'; min?: number; default?: number }
  | { type: 'number'; min?: number; max?: number; default?: number }
  | { type: 'bool'; default?: boolean }
  | { type: 'enum'; values: readonly (string | number)[]; default?: string | number }
  | { type: 'custom'; describe: string; parse: (value: unknown, path: string) => unknown; default?: unknown };

export type Schema = Record<string, FieldSpec>;

function show(v: unknown): string {
  return v === undefined ? 'nothing (key missing)' : JSON.stringify(v);
}

export function fail(path: string, expected: string, found: unknown, fix: string): never {
  throw new ConfigError(`${path}: expected ${expected}, found ${show(found)}. Fix: ${fix}`);
}

function parseField(path: string, spec: FieldSpec, value: unknown): unknown {
  switch (spec.type) {
    case 'int': {
      const min = spec.min ?? 1;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
        fail(path, `an integer ≥ ${min}`, value, `set ${path} to an integer ≥ ${min}`);
      }
      return value;
    }
    case 'number': {
      const lo = spec.min ?? -Infinity;
      const hi = spec.max ?? Infinity;
      if (typeof value !== 'number' || !Number.isFinite(value) || value < lo || value > hi) {
        fail(path, `a number in [${lo}, ${hi}]`, value, `set ${path} to a number in [${lo}, ${hi}]`);
      }
      return value;
    }
    case 'bool':
      if (typeof value !== 'boolean') fail(path, 'true or false', value, `set ${path} to true or false`);
      return value;
    case 'enum':
      if (!spec.values.includes(value as string | number)) {
        const list = spec.values.map((v) => JSON.stringify(v)).join(' | ');
        fail(path, `one of ${list}`, value, `set ${path} to one of ${list}`);
      }
      return value;
    case 'custom':
      return spec.parse(value, path);
  }
}

/**
 * Read `raw` against `schema`: fill defaults, validate each key, reject unknown keys.
 * `where` is the config's name in messages (e.g. `vit config` or `configs/models/vit-tiny.yaml`).
 */
export function readConfig<T>(where: string, raw: unknown, schema: Schema): T {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    fail(where, 'an object of config keys', raw, `pass an object with keys ${Object.keys(schema).join(', ')}`);
  }
  const obj = raw as Record<string, unknown>;
  checkKeys(where, obj, Object.keys(schema));
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    const value = obj[key] === undefined ? spec.default : obj[key];
    if (value === undefined) fail(`${where}.${key}`, describe(spec), undefined, `add ${key} to the config`);
    out[key] = parseField(`${where}.${key}`, spec, value);
  }
  return out as T;
}

/**
 * Reject keys of `obj` that are not in `allowed`, naming the closest allowed one: a typo such as
 * `qknorm` reads as an unknown key with a suggestion, not as a bad value.
 */
export function checkKeys(where: string, obj: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    // An undefined value (from a JS spread) means the key is absent, as it would be in YAML.
    if (allowed.includes(key) || obj[key] === undefined) continue;
    const hint = closestName(key, allowed);
    throw new ConfigError(`${where}.${key}: unknown key${hint === undefined ? '' : ` (did you mean ${where}.${hint}?)`}; allowed here: ${allowed.join(', ')}`);
  }
}

function describe(spec: FieldSpec): string {
  switch (spec.type) {
    case 'int':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'bool':
      return 'true or false';
    case 'enum':
      return `one of ${spec.values.join(' | ')}`;
    case 'custom':
      return spec.describe;
  }
}

/**
 * Model specs carry the registry name under `name` (as in configs/models/*.yaml and the runner's
 * `model:` section). A model's own config reader accepts that key when it names this model.
 */
export function withoutName(where: string, raw: unknown, model: string): unknown {
  if (raw === null || typeof raw !== 'object' || !('name' in raw)) return raw;
  const { name, ...rest } = raw as Record<string, unknown>;
  if (name !== undefined && name !== model) fail(`${where}.name`, JSON.stringify(model), name, `build a ${String(name)} model through the registry instead`);
  return rest;
}
