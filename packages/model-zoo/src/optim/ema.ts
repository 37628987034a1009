/** Exponential moving average of weights (BYOL's target network, EMA evaluation weights). */
import * as tf from '@tensorflow/tfjs';

/** target ← decay·target + (1 − decay)·source, pairwise. */
export function emaUpdate(target: tf.Variable[], source: tf.Variable[], decay: number): void {
  if (target.length !== source.length) throw new Error(`emaUpdate: ${target.length} targets but ${source.length} sources`);
  tf.tidy(() => {
    target.forEach((t, i) => t.assign(tf.add(tf.mul(t, decay), tf.mul(source[i], 1 - decay))));
  });
}

/** BYOL's schedule: τ = 1 − (1 − τ_base)·(cos(πk/K) + 1)/2, rising from τ_base to 1. */
export function cosineEmaDecay(base: number, step: number, totalSteps: number): number {
  const t = Math.min(1, step / Math.max(1, totalSteps));
  return 1 - ((1 - base) * (Math.cos(Math.PI * t) + 1)) / 2;
}

/** Shadow copies of a set of variables, updated by `update(decay)`. */
export class Ema {
  readonly shadow: [string, tf.Variable][];
  constructor(private readonly source: [string, tf.Variable][]) {
    this.shadow = source.map(([n, v]) => [n, tf.variable(v.clone(), false)]);
  }

  update(decay: number): void {
    emaUpdate(
      this.shadow.map(([, v]) => v),
      this.source.map(([, v]) => v),
      decay,
    );
  }

  dispose(): void {
    for (const [, v] of this.shadow) v.dispose();
  }
}
