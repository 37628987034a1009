/**
 * A small schema language for run configs. Validation errors name the dotted key, the expected
 * type and the value found, e.g.
 *   config key train.epochs: expected a positive integer, found "three" (string)
 */

import { ConfigError, closestName } from '@sigattn/common';

// One error class for every config problem (the zoo throws the same one for the model section).
export { ConfigError };

export interface Schema<T> {
  /** Human description of what is expected, used in error messages. */
  readonly expected: string;
  /** Returns the validated value; throws ConfigError naming `key`. */
  parse(value: unknown, key: string): T;
  /** Default used when the key is absent; undefined means the key is required. */
  readonly fallback?: T;
  /** Objects may be absent entirely: their own keys' defaults then apply. */
  readonly objectLike?: boolean;
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (key missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `${JSON.stringify(value)} (list)`;
  if (typeof value === 'object') return `an object with keys ${Object.keys(value).join(', ') || '(none)'}`;
  return `${JSON.stringify(value)} (${typeof value})`;
}

export function mismatch(key: string, expected: string, value: unknown): never {
  throw new ConfigError(`config key ${key}: expected ${expected}, found ${describeValue(value)}`);
}

function make<T>(expected: string, parse: (value: unknown, key: string) => T): Schema<T> {
  return { expected, parse };
}

export function withDefault<T>(schema: Schema<T>, fallback: T): Schema<T> {
  return { ...schema, fallback, expected: `${schema.expected} (default ${JSON.stringify(fallback)})` };
}

export function num(opts: { min?: number; max?: number; exclusiveMin?: boolean } = {}): Schema<number> {
  const parts = ['a number'];
  if (opts.min !== undefined) parts.push(opts.exclusiveMin ? `> ${opts.min}` : `≥ ${opts.min}`);
  if (opts.max !== undefined) parts.push(`≤ ${opts.max}`);
  const expected = parts.join(' ');
  return make(expected, (v, key) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return mismatch(key, expected, v);
    if (opts.min !== undefined && (opts.exclusiveMin ? v <= opts.min : v < opts.min)) return mismatch(key, expected, v);
    if (opts.max !== undefined && v > opts.max) return mismatch(key, expected, v);
    return v;
  });
}

export function int(opts: { min?: number; max?: number } = {}): Schema<number> {
  const expected =
    opts.min === 1 && opts.max === undefined
      ? 'a positive integer'
      : `an integer${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}${opts.max !== undefined ? ` ≤ ${opts.max}` : ''}`;
  return make(expected, (v, key) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) return mismatch(key, expected, v);
    if (opts.min !== undefined && v < opts.min) return mismatch(key, expected, v);
    if (opts.max !== undefined && v > opts.max) return mismatch(key, expected, v);
    return v;
  });
}

export function str(opts: { allowEmpty?: boolean } = {}): Schema<string> {
  const expected = opts.allowEmpty ? 'a string' : 'a non-empty string';
  return make(expected, (v, key) => (typeof v === 'string' && (opts.allowEmpty || v.length > 0) ? v : mismatch(key, expected, v)));
}

export function oneOf<const T extends readonly (string | number)[]>(choices: T): Schema<T[number]> {
  const expected = `one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`;
  return make(expected, (v, key) => (choices.includes(v as T[number]) ? (v as T[number]) : mismatch(key, expected, v)));
}

/** A map from free-form names to values of one schema. */
export function record<T>(value: Schema<T>): Schema<Record<string, T>> {
  const expected = `an object of ${value.expected}`;
  return make(expected, (v, key) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return mismatch(key, 'an object', v);
    const out: Record<string, T> = {};
    for (const [k, item] of Object.entries(v)) out[k] = value.parse(item, `${key}.${k}`);
    return out;
  });
}

/** A list whose items all match one schema. */
export function list<T>(item: Schema<T>): Schema<T[]> {
  const expected = `a list of ${item.expected}`;
  return make(expected, (v, key) => {
    if (!Array.isArray(v)) return mismatch(key, expected, v);
    return v.map((x, i) => item.parse(x, `${key}[${i}]`));
  });
}

export function bool(): Schema<boolean> {
  return make('true or false', (v, key) => (typeof v === 'boolean' ? v : mismatch(key, 'true or false', v)));
}

/** Any JSON-like value, kept as is (for free-form override maps). */
export function anyValue(): Schema<unknown> {
  return make('any value', (v) => v);
}

type Shape = Record<string, Schema<unknown>>;
export type Infer<S> = S extends Schema<infer T> ? T : never;
export type InferShape<S extends Shape> = { [K in keyof S]: Infer<S[K]> };

/** An object with known keys; unknown keys are errors (with a did-you-mean hint). */
export function obj<S extends Shape>(shape: S): Schema<InferShape<S>> {
  const expected = `an object with keys ${Object.keys(shape).join(', ')}`;
  const schema = make(expected, (v, key) => {
    const at = (k: string) => (key === '' ? k : `${key}.${k}`);
    if (v === undefined) v = {};
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return mismatch(key || '(root)', 'an object', v);
    const input = v as Record<string, unknown>;
    for (const k of Object.keys(input)) {
      if (!(k in shape)) {
        const hint = closestName(k, Object.keys(shape));
        throw new ConfigError(
          `config key ${at(k)}: unknown key${hint ? ` (did you mean ${at(hint)}?)` : ''}; allowed here: ${Object.keys(shape).join(', ')}`,
        );
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, schema] of Object.entries(shape)) {
      const value = input[k];
      if (value === undefined) {
        if (schema.fallback !== undefined) out[k] = schema.fallback;
        else if (schema.objectLike) out[k] = schema.parse(undefined, at(k));
        else mismatch(at(k), schema.expected, value);
      } else {
        out[k] = schema.parse(value, at(k));
      }
    }
    return out as InferShape<S>;
  });
  return { ...schema, objectLike: true };
}
