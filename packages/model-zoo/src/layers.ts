/** Small functional layers over ParamStore variables. Every function is differentiable by tfjs autodiff. */
import * as tf from '@tensorflow/tfjs';
import type { ParamStore } from './params.js';

export interface Linear {
  w: tf.Variable;
  b: tf.Variable | null;
}

export function linear(p: ParamStore, name: string, inDim: number, outDim: number, bias = true, std = 0.02): Linear {
  return {
    w: p.add(`${name}.w`, [inDim, outDim], { kind: 'normal', std }),
    b: bias ? p.add(`${name}.b`, [outDim], { kind: 'zeros' }) : null,
  };
}

/** x [..., in] → [..., out] */
export function applyLinear(l: Linear, x: tf.Tensor): tf.Tensor {
  const inDim = l.w.shape[0];
  const lead = x.shape.slice(0, -1);
  let y = tf.matMul(x.reshape([-1, inDim]), l.w);
  if (l.b !== null) y = tf.add(y, l.b);
  return y.reshape([...lead, l.w.shape[1]] as number[]);
}

export type NormKind = 'layernorm' | 'rmsnorm';

export interface Norm {
  kind: NormKind;
  gamma: tf.Variable;
  beta: tf.Variable | null;
  eps: number;
}

export function norm(p: ParamStore, name: string, dim: number, kind: NormKind = 'layernorm', eps = 1e-5): Norm {
  return {
    kind,
    gamma: p.add(`${name}.gamma`, [dim], { kind: 'ones' }),
    beta: kind === 'layernorm' ? p.add(`${name}.beta`, [dim], { kind: 'zeros' }) : null,
    eps,
  };
}

/** Normalise over the last axis. */
export function applyNorm(n: Norm, x: tf.Tensor): tf.Tensor {
  if (n.kind === 'rmsnorm') {
    const ms = tf.mean(tf.square(x), -1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, n.eps))), n.gamma);
  }
  const { mean, variance } = tf.moments(x, -1, true);
  const y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, n.eps)));
  return tf.add(tf.mul(y, n.gamma), n.beta as tf.Variable);
}

/** GELU, tanh approximation (tfjs has no GELU op). */
export function gelu(x: tf.Tensor): tf.Tensor {
  const c = Math.sqrt(2 / Math.PI);
  const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), c);
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}
