/**
 * LARS (You et al. 2017) as used by SimCLR and BYOL: momentum SGD whose per-layer step is scaled by
 * the trust ratio η·‖w‖/‖g + wd·w‖. Norms, biases and LayerScale (the no-decay group) get neither
 * weight decay nor the trust ratio, following SimCLR's `exclude_from_layer_adaptation`.
 *   g' = g + wd·w;  r = η‖w‖/‖g'‖ (1 if either norm is 0);  u ← μu + r·g';  w ← w − lr·u
 */
import * as tf from '@tensorflow/tfjs';
import { paramGroups } from './groups.js';
import type { Optimizer } from './optimizer.js';

export interface LarsOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
  /** Trust coefficient η (SimCLR: 0.001). */
  eta?: number;
}

interface Slot {
  v: tf.Variable;
  u: tf.Variable;
  wd: number;
  adapt: boolean;
}

export class Lars implements Optimizer {
  lr: number;
  private readonly momentum: number;
  private readonly eta: number;
  private readonly slots: Slot[] = [];
  /** Number of updates applied so far (saved in checkpoints, like AdamW's). */
  stepCount = 0;

  constructor(entries: [string, tf.Variable][], opts: LarsOptions) {
    this.lr = opts.lr;
    this.momentum = opts.momentum ?? 0.9;
    this.eta = opts.eta ?? 0.001;
    for (const group of paramGroups(entries, opts.weightDecay ?? 1e-6)) {
      const adapt = group.name === 'decay';
      for (const [, v] of group.entries) this.slots.push({ v, u: tf.variable(tf.zerosLike(v), false), wd: group.weightDecay, adapt });
    }
  }

  step(grads: tf.NamedTensorMap): void {
    this.stepCount++;
    tf.tidy(() => {
      for (const { v, u, wd, adapt } of this.slots) {
        const g0 = grads[v.name];
        if (g0 === undefined) continue;
        let g = wd > 0 ? tf.add(g0, tf.mul(v, wd)) : g0;
        if (adapt) {
          const wn = tf.norm(v);
          const gn = tf.norm(g);
          const ratio = tf.where(tf.logicalAnd(tf.greater(wn, 0), tf.greater(gn, 0)), tf.div(tf.mul(wn, this.eta), gn), tf.onesLike(wn));
          g = tf.mul(g, ratio);
        }
        u.assign(tf.add(tf.mul(u, this.momentum), g));
        v.assign(tf.sub(v, tf.mul(u, this.lr)));
      }
    });
  }

  /** The momentum buffers, in parameter order, named `<i>.u` (for checkpoints). */
  slotEntries(): [string, tf.Variable][] {
    return this.slots.map(({ u }, i): [string, tf.Variable] => [`${i}.u`, u]);
  }

  dispose(): void {
    for (const { u } of this.slots) u.dispose();
  }
}
