/**
 * The training runs whose kernels the inventory records: every model of the zoo in a tiny size, and
 * for each config key that changes which ops run (attention kind, QK-norm, norm placement and kind,
 * positions, MLP, dropout, LayerScale, causal mask, pooling, MAE's pixel norm, ASR's positions, the
 * LM's embeddings and loss mask, the optimiser) one variant that sets it. Keys that only change
 * values (sizes, the sigmoid bias b, rates) are left at their defaults.
 *
 * Variants are one key away from their model's base spec (two for MAE's composed attention), and
 * named after the keys (`vit attention.kind=softmax`), so a kernel's `usedBy` list says which setting
 * needs it. Each variant builds its model and optimiser and runs one trainStep with clipping.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@sigattn/common';
import type { Batch, ModelName } from '@sigattn/model-zoo';

export type OptimizerName = 'adamw' | 'lars';

export interface ZooVariant {
  /** The model's name, then the one key that differs from its base spec (`vit norm=post`). */
  name: string;
  /** A model spec as in configs/models/*.yaml: `{ name, ...config }`. */
  spec: { name: ModelName } & Record<string, unknown>;
  optimizer: OptimizerName;
  /** A seeded batch for the spec; created outside the recording (tf.tensor dispatches no kernel). */
  batch: (rng: Rng) => Batch;
}

const BATCH = 2;
/** 8×8 single-channel images in 4×4 patches: 4 patches (+ CLS), head dim 4 (even, for RoPE). */
const IMAGE = { imageSize: 8, channels: 1, patchSize: 4, dim: 8, depth: 1, heads: 2, mlpRatio: 2 };
const CLASSES = 3;

const images = (rng: Rng): tf.Tensor4D => tf.tensor4d(rng.normalF32(BATCH * 8 * 8), [BATCH, 8, 8, 1]);
const labels = (rng: Rng): tf.Tensor1D => tf.tensor1d(Array.from({ length: BATCH }, () => rng.int(CLASSES)), 'int32');
const views = (rng: Rng): [tf.Tensor4D, tf.Tensor4D] => [images(rng), images(rng)];
const labelled = (rng: Rng): Batch => ({ images: images(rng), labels: labels(rng) });

const MAE = { ...IMAGE, decoderDim: 8, decoderDepth: 1, decoderHeads: 2, maskRatio: 0.5 };
const SIMCLR = { ...IMAGE, projHidden: 8, projDim: 4 };
const BYOL = { ...SIMCLR, predHidden: 8 };
/** 16 frames of 8 mels → 4 encoder frames; the second utterance is padded (the op's keyLengths). */
const ASR = { mels: 8, vocab: 5, convChannels: 2, trainFrames: 4, dim: 8, depth: 1, heads: 2, mlpRatio: 2 };
const LM = { vocab: 7, contextLength: 6, dim: 8, depth: 1, heads: 2, mlpRatio: 2, attention: { causal: true } };

const speech = (rng: Rng): Batch => ({
  features: tf.tensor3d(rng.normalF32(BATCH * 16 * 8), [BATCH, 16, 8]),
  featureLengths: [16, 12],
  targets: [[1, 2], [3]],
});
const tokens = (rng: Rng): tf.Tensor2D => tf.tensor2d(Array.from({ length: BATCH * 6 }, () => rng.int(LM.vocab)), [BATCH, 6], 'int32');

/** Copy of `spec` with a dotted key (`attention.kind`) set. */
function withKey(spec: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const out = structuredClone(spec);
  const path = key.split('.');
  let node = out;
  for (const part of path.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
  node[path[path.length - 1]] = value;
  return out;
}

/** The base spec of a model, then one variant per entry of `changes` (usually one key each). */
function variantsOf(model: ModelName, base: Record<string, unknown>, batch: ZooVariant['batch'], changes: Record<string, unknown>[]): ZooVariant[] {
  const baseSpec = { name: model, ...base };
  const out: ZooVariant[] = [{ name: model, spec: baseSpec, optimizer: 'adamw', batch }];
  for (const change of changes) {
    const spec = Object.entries(change).reduce((s, [key, value]) => withKey(s, key, value), baseSpec as Record<string, unknown>);
    const name = [model, ...Object.entries(change).map(([key, value]) => `${key}=${value}`)].join(' ');
    out.push({ name, spec: spec as ZooVariant['spec'], optimizer: 'adamw', batch });
  }
  return out;
}

export const ZOO_VARIANTS: readonly ZooVariant[] = [
  ...variantsOf('vit', { ...IMAGE, classes: CLASSES }, labelled, [
    { 'attention.kind': 'softmax' },
    { 'attention.kind': 'relu' },
    { 'attention.kind': 'gelu' },
    { 'attention.qkNorm': 'layernorm' },
    { 'attention.qkNorm': 'rmsnorm' },
    { 'attention.causal': true },
    { norm: 'post' },
    { norm: 'hybrid' },
    { normKind: 'rmsnorm' },
    { layerScale: 1e-4 },
    { positions: 'sincos' },
    { positions: 'rope' },
    { positions: 'alibi' },
    { positions: 'none' },
    { mlp: 'swiglu' },
    { dropout: 0.1 },
    { pool: 'mean' },
  ]),
  ...variantsOf('mae', MAE, (rng) => ({ images: images(rng) }), [
    { normPixLoss: false },
    { positions: 'rope' },
    // MAE's encoder sees the visible patches at their image positions, not 0..n-1, so its ALiBi
    // runs through kernel-core's composed attention (tfjs ops per kind) instead of the fused op.
    { positions: 'alibi' },
    { positions: 'alibi', 'attention.kind': 'softmax' },
    { positions: 'alibi', 'attention.kind': 'relu' },
    { positions: 'alibi', 'attention.kind': 'gelu' },
  ]),
  ...variantsOf('simclr', SIMCLR, (rng) => ({ views: views(rng) }), []),
  { name: 'simclr optimizer=lars', spec: { name: 'simclr', ...SIMCLR }, optimizer: 'lars', batch: (rng) => ({ views: views(rng) }) },
  ...variantsOf('byol', BYOL, (rng) => ({ views: views(rng) }), []),
  ...variantsOf('asr', ASR, speech, [
    { positions: 'sincos' },
    { positions: 'alibi' },
  ]),
  ...variantsOf('lm', LM, (rng) => ({ tokens: tokens(rng) }), [
    { positions: 'rope' },
    { positions: 'learned' },
    { tieEmbeddings: false },
  ]),
  {
    name: 'lm lossMask',
    spec: { name: 'lm', ...LM },
    optimizer: 'adamw',
    batch: (rng) => ({ tokens: tokens(rng), lossMask: tf.tensor2d([1, 1, 0, 1, 0, 1, 1, 1, 1, 0], [BATCH, 5]) }),
  },
  ...variantsOf('linear-probe', { classes: CLASSES, backbone: { name: 'mae', ...MAE } }, labelled, []),
  ...variantsOf('finetune', { classes: CLASSES, backbone: { name: 'simclr', ...SIMCLR } }, labelled, []),
];
