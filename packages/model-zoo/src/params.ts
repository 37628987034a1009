/**
 * Named, seeded parameters. Every model owns one ParamStore; names are stable paths such as
 * `blocks.0.attn.qkv.w`, which is what checkpoints, optimisers and parameter groups key on.
 *
 * Each parameter's random stream is derived from (store seed, parameter name), not from creation
 * order: two configs that differ in one flag (say QK-norm on/off) get bit-identical values for every
 * parameter they share, so a test can attribute any difference in output to that flag alone.
 */
import * as tf from '@tensorflow/tfjs';

export type Init =
  | { kind: 'normal'; std: number }
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'constant'; value: number };

/** FNV-1a 32-bit hash: a stable per-name seed offset. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

// tfjs variable names must be unique per engine; a counter keeps them readable and deterministic.
let variableCounter = 0;

export class ParamStore {
  private readonly vars = new Map<string, tf.Variable>();
  constructor(readonly seed: number) {}

  add(name: string, shape: number[], init: Init): tf.Variable {
    if (this.vars.has(name)) throw new Error(`parameter ${name} is defined twice`);
    const value = tf.tidy(() => {
      switch (init.kind) {
        case 'normal':
          return tf.truncatedNormal(shape, 0, init.std, 'float32', (this.seed * 1_000_003 + hashName(name)) % 2 ** 31);
        case 'zeros':
          return tf.zeros(shape);
        case 'ones':
          return tf.ones(shape);
        case 'constant':
          return tf.fill(shape, init.value);
      }
    });
    const v = tf.variable(value, true, `${name}#${variableCounter++}`);
    value.dispose();
    this.vars.set(name, v);
    return v;
  }

  /**
   * Register another store's variables under `prefix` (shared, not copied): a probe's store holds
   * `backbone.*` and `head.*`, so one checkpoint covers both.
   */
  adopt(prefix: string, other: ParamStore): void {
    for (const [name, v] of other.entries()) {
      const full = `${prefix}${name}`;
      if (this.vars.has(full)) throw new Error(`parameter ${full} is defined twice`);
      this.vars.set(full, v);
    }
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (v === undefined) throw new Error(`unknown parameter ${name}`);
    return v;
  }

  has(name: string): boolean {
    return this.vars.has(name);
  }

  entries(): [string, tf.Variable][] {
    return [...this.vars.entries()];
  }

  variables(): tf.Variable[] {
    return [...this.vars.values()];
  }

  /** Total number of scalar parameters. */
  count(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}
