/**
 * Parameter groups: weight decay applies to weight matrices and embeddings only. Norm gains/shifts,
 * biases and LayerScale vectors are excluded (decaying a LayerScale γ toward 0 would switch its branch
 * off), as are the CLS token, learned positions and MAE's mask token (timm's `no_weight_decay`).
 */
import type * as tf from '@tensorflow/tfjs';

export interface ParamGroup {
  name: 'decay' | 'no_decay';
  entries: [string, tf.Variable][];
  weightDecay: number;
}

const NO_DECAY_NAME = /(^|\.)(norm\w*|qnorm|knorm|ls\d|cls|pos|mask_token)(\.|$)|\.b$/;

/** True for parameters that must not be weight-decayed. */
export function isNoDecay(name: string, v: tf.Variable): boolean {
  return v.rank <= 1 || NO_DECAY_NAME.test(name);
}

export function paramGroups(entries: [string, tf.Variable][], weightDecay: number): ParamGroup[] {
  const decay = entries.filter(([n, v]) => !isNoDecay(n, v));
  const noDecay = entries.filter(([n, v]) => isNoDecay(n, v));
  return [
    { name: 'decay', entries: decay, weightDecay },
    { name: 'no_decay', entries: noDecay, weightDecay: 0 },
  ];
}
