/** Small functional layers over ParamStore variables. Every function is differentiable by tfjs autodiff. */
import * as tf from '@tensorflow/tfjs';
import { fusedActivation, fusedNorm, type NormKind } from '@sigattn/kernel-core';
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

export type { NormKind };

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

/**
 * Normalise over the last axis: kernel-core's fusedNorm, one kernel each way on backends that register
 * it (cuda), the composed tfjs ops elsewhere (cpu, wasm, webgpu: unchanged results).
 */
export function applyNorm(n: Norm, x: tf.Tensor): tf.Tensor {
  return fusedNorm(x, n.gamma, n.beta, n.kind, n.eps);
}

/** Parameter-free standardisation over the last axis (linear-probe features, MAE targets). */
export function standardize(x: tf.Tensor, eps = 1e-6): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
}

/**
 * GELU, tanh approximation (tfjs has no GELU op): kernel-core's fusedActivation, one kernel each way on
 * backends that register it (cuda), the composed tfjs ops elsewhere (cpu, wasm, webgpu: unchanged results).
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  return fusedActivation(x, 'gelu_tanh');
}

/** SiLU (swish), the gate of SwiGLU; fused like gelu. */
export function silu(x: tf.Tensor): tf.Tensor {
  return fusedActivation(x, 'silu');
}

/**
 * Token embedding lookup as a one-hot matmul: tf.gather's gradient needs UnsortedSegmentSum, which
 * the wasm backend lacks (tfjs#8082). ids [..., ] int32 → [..., dim].
 */
export function embed(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  const [vocab, dim] = table.shape;
  const oh = tf.oneHot(ids.reshape([-1]).toInt(), vocab).toFloat();
  return tf.matMul(oh, table).reshape([...ids.shape, dim]);
}

/** Mean cross-entropy of logits [N, C] against int labels [N] (one-hot, so no gather gradient). */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const onehot = tf.oneHot(labels.toInt(), logits.shape[1]).toFloat();
  return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), -1))) as tf.Scalar;
}

/** Two-layer MLP head (SimCLR/BYOL projector and predictor): Linear → LayerNorm → ReLU → Linear. */
export interface MlpHead {
  fc1: Linear;
  norm: Norm;
  fc2: Linear;
}

export function mlpHead(p: ParamStore, name: string, inDim: number, hidden: number, outDim: number): MlpHead {
  return { fc1: linear(p, `${name}.fc1`, inDim, hidden), norm: norm(p, `${name}.norm`, hidden), fc2: linear(p, `${name}.fc2`, hidden, outDim) };
}

export function applyMlpHead(h: MlpHead, x: tf.Tensor): tf.Tensor {
  return applyLinear(h.fc2, tf.relu(applyNorm(h.norm, applyLinear(h.fc1, x))));
}

/** Rows scaled to unit L2 norm. */
export function l2normalize(x: tf.Tensor, eps = 1e-12): tf.Tensor {
  return tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), -1, true), eps)));
}
