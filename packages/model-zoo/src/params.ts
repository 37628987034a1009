/**
 * Named, seeded parameters. Every model owns one ParamStore; names are stable paths such as
 * `blocks.0.attn.wqkv`, which is what checkpoints and optimisers key on.
 */
import * as tf from '@tensorflow/tfjs';

export type Init =
  | { kind: 'normal'; std: number }
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'constant'; value: number };

export class ParamStore {
  private readonly vars = new Map<string, tf.Variable>();
  private counter = 0;
  constructor(private readonly seed: number) {}

  add(name: string, shape: number[], init: Init): tf.Variable {
    if (this.vars.has(name)) throw new Error(`parameter ${name} is defined twice`);
    const value = tf.tidy(() => {
      switch (init.kind) {
        case 'normal':
          return tf.truncatedNormal(shape, 0, init.std, 'float32', this.seed * 1009 + this.counter++);
        case 'zeros':
          return tf.zeros(shape);
        case 'ones':
          return tf.ones(shape);
        case 'constant':
          return tf.fill(shape, init.value);
      }
    });
    const v = tf.variable(value, true, `${name}#${this.seed}#${Math.random().toString(36).slice(2, 8)}`);
    value.dispose();
    this.vars.set(name, v);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (v === undefined) throw new Error(`unknown parameter ${name}`);
    return v;
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
