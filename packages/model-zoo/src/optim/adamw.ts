/**
 * AdamW (Loshchilov & Hutter 2019): Adam on the gradient, weight decay applied directly to the
 * weights instead of through the gradient (tfjs has no AdamW). Same convention as torch.optim.AdamW:
 *   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  w ← w − lr·(m̂/(√v̂ + ε) + wd·w)
 * with wd = 0 for the no-decay group (norms, biases, LayerScale).
 *
 * Where the active backend has kernel-core's fused ADAMW_UPDATE kernel (registered for cpu, wasm and
 * webgpu), each parameter's update is that one kernel; elsewhere it is the same arithmetic as ~15
 * composed tfjs ops. On cpu and wasm the two give the same weights bit for bit; on webgpu the fused update is one
 * dispatch per parameter instead of ~15 (issue #12, item 4).
 */
import * as tf from '@tensorflow/tfjs';
import { ADAMW_UPDATE, ADAMW_UPDATE_MULTI, type AdamWAttrs, type AdamWMultiAttrs } from '@sigattn/kernel-core';
import { paramGroups } from './groups.js';
import type { Optimizer } from './optimizer.js';

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /**
   * Use the fused ADAMW_UPDATE kernel where the active backend has one (default true); false always
   * runs the composed ops (tests compare the two).
   */
  fused?: boolean;
}

interface AdamWConstants {
  beta1: tf.Scalar;
  oneMinusBeta1: tf.Scalar;
  beta2: tf.Scalar;
  oneMinusBeta2: tf.Scalar;
  eps: tf.Scalar;
}

interface Slot {
  v: tf.Variable;
  m: tf.Variable;
  s: tf.Variable;
  wd: number;
}

export class AdamW implements Optimizer {
  lr: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly fused: boolean;
  private readonly slots: Slot[] = [];
  private fixed: AdamWConstants | null = null;
  /** Number of updates applied so far (drives the bias correction; saved in checkpoints). */
  stepCount = 0;

  constructor(entries: [string, tf.Variable][], opts: AdamWOptions) {
    this.lr = opts.lr;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.fused = opts.fused ?? true;
    for (const group of paramGroups(entries, opts.weightDecay ?? 0.05)) {
      for (const [, v] of group.entries) {
        this.slots.push({ v, m: tf.variable(tf.zerosLike(v), false), s: tf.variable(tf.zerosLike(v), false), wd: group.weightDecay });
      }
    }
  }

  step(grads: tf.NamedTensorMap): void {
    this.stepCount++;
    const bc1 = 1 - this.beta1 ** this.stepCount;
    const bc2 = 1 - this.beta2 ** this.stepCount;
    if (this.fused && tf.getKernel(ADAMW_UPDATE, tf.getBackend()) !== undefined) this.fusedStep(grads, bc1, bc2);
    else this.composedStep(grads, bc1, bc2);
  }

  /**
   * One ADAMW_UPDATE kernel per parameter, or one ADAMW_UPDATE_MULTI call for all of them where the backend
   * has it; the three outputs per parameter replace w, m and s.
   */
  private fusedStep(grads: tf.NamedTensorMap, biasCorrection1: number, biasCorrection2: number): void {
    const common = { lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, biasCorrection1, biasCorrection2 };
    if (tf.getKernel(ADAMW_UPDATE_MULTI, tf.getBackend()) !== undefined) {
      const slots = this.slots.filter(({ v }) => grads[v.name] !== undefined);
      if (slots.length === 0) return;
      const inputs: tf.NamedTensorMap = {};
      slots.forEach(({ v, m, s }, i) => Object.assign(inputs, { [`param${i}`]: v, [`grad${i}`]: grads[v.name], [`m${i}`]: m, [`v${i}`]: s }));
      const attrs: AdamWMultiAttrs = { ...common, count: slots.length, weightDecays: slots.map((s) => s.wd) };
      tf.tidy(() => {
        const outs = tf.engine().runKernel(ADAMW_UPDATE_MULTI, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        slots.forEach(({ v, m, s }, i) => {
          v.assign(outs[3 * i]);
          m.assign(outs[3 * i + 1]);
          s.assign(outs[3 * i + 2]);
        });
      });
      return;
    }
    tf.tidy(() => {
      for (const { v, m, s, wd } of this.slots) {
        const g = grads[v.name];
        if (g === undefined) continue;
        const attrs: AdamWAttrs = { ...common, weightDecay: wd };
        const [w1, m1, s1] = tf.engine().runKernel(ADAMW_UPDATE, { param: v, grad: g, m, v: s }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        v.assign(w1);
        m.assign(m1);
        s.assign(s1);
      }
    });
  }

  /** The same update as tfjs ops (backends without the fused kernel); ADAMW_UPDATE's contract is this, op for op. */
  private composedStep(grads: tf.NamedTensorMap, biasCorrection1: number, biasCorrection2: number): void {
    const k = this.constants();
    tf.tidy(() => {
      // One scalar tensor per value and step, not one per use: a number operand becomes a fresh tensor
      // each time, which on webgpu is an upload per parameter and value (858 per ViT step).
      const bc1 = tf.scalar(biasCorrection1);
      const bc2 = tf.scalar(biasCorrection2);
      const lr = tf.scalar(this.lr);
      const decay = new Map<number, tf.Scalar>();
      for (const { v, m, s, wd } of this.slots) {
        const g = grads[v.name];
        if (g === undefined) continue;
        m.assign(tf.add(tf.mul(m, k.beta1), tf.mul(g, k.oneMinusBeta1)));
        s.assign(tf.add(tf.mul(s, k.beta2), tf.mul(tf.square(g), k.oneMinusBeta2)));
        let update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(s, bc2)), k.eps));
        if (wd > 0) {
          if (!decay.has(wd)) decay.set(wd, tf.scalar(wd));
          update = tf.add(update, tf.mul(v, decay.get(wd) as tf.Scalar));
        }
        v.assign(tf.sub(v, tf.mul(update, lr)));
      }
    });
  }

  /** The composed step's fixed scalars, made once and kept until dispose(). */
  private constants(): AdamWConstants {
    this.fixed ??= tf.tidy(() => {
      const c = { beta1: tf.scalar(this.beta1), oneMinusBeta1: tf.scalar(1 - this.beta1), beta2: tf.scalar(this.beta2), oneMinusBeta2: tf.scalar(1 - this.beta2), eps: tf.scalar(this.eps) };
      for (const t of Object.values(c)) tf.keep(t);
      return c;
    });
    return this.fixed;
  }

  /** The moment estimates, in parameter order, named `<i>.m` / `<i>.s` (for checkpoints). */
  slotEntries(): [string, tf.Variable][] {
    return this.slots.flatMap(({ m, s }, i): [string, tf.Variable][] => [[`${i}.m`, m], [`${i}.s`, s]]);
  }

  dispose(): void {
    for (const { m, s } of this.slots) {
      m.dispose();
      s.dispose();
    }
    if (this.fixed !== null) tf.dispose(Object.values(this.fixed));
    this.fixed = null;
  }
}
