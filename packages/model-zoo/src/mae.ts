/**
 * Masked Autoencoder (He et al. 2022). A random `maskRatio` of each image's patches is dropped; the
 * ViT encoder sees only the visible patches; a light decoder receives the encoded visible tokens plus a
 * shared learned mask token at every masked position and predicts the pixels of every patch. The loss
 * is the mean squared error on the MASKED patches only, against per-patch normalised pixels
 * (`normPixLoss`, MAE's best setting).
 *
 * Visible-patch selection and un-shuffling are one-hot matmuls built from a seeded RNG (tf.gather's
 * gradient is unsupported on wasm).
 */
import * as tf from '@tensorflow/tfjs';
import { ParamStore } from './params.js';
import { Rng } from '@sigattn/common';
import { applyBlock, blockConfigOf, createBlock, type Block } from './block.js';
import { applyLinear, applyNorm, linear, norm, standardize, type Linear, type Norm } from './layers.js';
import { checkEncoder, ENCODER_SCHEMA, PatchEncoder, patchify, type EncoderConfig } from './encoder.js';
import { blockPositions, sincos2d } from './positions.js';
import { fail, readConfig, withoutName } from './config.js';
import { need, type Batch, type ZooModel } from './model.js';

export interface MaeConfig extends EncoderConfig {
  decoderDim: number;
  decoderDepth: number;
  decoderHeads: number;
  /** Fraction of patches hidden from the encoder (MAE: 0.75). */
  maskRatio: number;
  /** Normalise each target patch by its own mean and std (MAE default). */
  normPixLoss: boolean;
}

export function resolveMaeConfig(raw: unknown, where = 'mae config'): MaeConfig {
  const c = readConfig<MaeConfig>(where, withoutName(where, raw, 'mae'), {
    ...ENCODER_SCHEMA,
    positions: { type: 'enum', values: ['learned', 'sincos', 'rope', 'alibi', 'none'], default: 'sincos' },
    decoderDim: { type: 'int' },
    decoderDepth: { type: 'int', default: 1 },
    decoderHeads: { type: 'int' },
    maskRatio: { type: 'number', min: 0, max: 0.99, default: 0.75 },
    normPixLoss: { type: 'bool', default: true },
  });
  checkEncoder(where, c);
  if (c.decoderDim % c.decoderHeads !== 0) fail(`${where}.decoderHeads`, `a divisor of decoderDim ${c.decoderDim}`, c.decoderHeads, 'change one of them');
  const { patches: n, visible } = maeMaskSize(c);
  if (visible < 1) fail(`${where}.maskRatio`, `a ratio that leaves ≥ 1 of ${n} patches visible`, c.maskRatio, 'lower it');
  return c;
}

/** Patches per image and how many of them the encoder sees, for a resolved config. */
export function maeMaskSize(c: Pick<MaeConfig, 'imageSize' | 'patchSize' | 'maskRatio'>): { patches: number; visible: number } {
  const patches = (c.imageSize / c.patchSize) ** 2;
  return { patches, visible: Math.round(patches * (1 - c.maskRatio)) };
}

/** One image's visible patches: `visible` of 0..patches−1, sorted, drawn from a seeded stream. */
export function drawVisiblePatches(patches: number, visible: number, rng: Rng): Int32Array {
  return rng.permutation(patches).slice(0, visible).sort();
}

export class Mae implements ZooModel {
  readonly modelName = 'mae';
  readonly params: ParamStore;
  readonly config: MaeConfig;
  readonly encoder: PatchEncoder;
  /** Visible patches per image. */
  readonly visible: number;
  private readonly decoderEmbed: Linear;
  private readonly maskToken: tf.Variable;
  private readonly decoderPos: tf.Tensor | tf.Variable | null;
  private readonly decoderBlocks: Block[];
  private readonly decoderNorm: Norm;
  private readonly pred: Linear;
  private readonly rng: Rng;

  constructor(cfg: unknown, seed: number) {
    const c = (this.config = resolveMaeConfig(cfg));
    const p = (this.params = new ParamStore(seed));
    this.rng = new Rng(seed + 1);
    const { patches: n, visible } = maeMaskSize(c);
    const cls = c.pool === 'cls' ? 1 : 0;
    this.visible = visible;
    // b = −log n follows the tokens attended over in each call: the encoder's n is visible + CLS in
    // pretraining and all patches + CLS in features(); the decoder always sees all of them.
    this.encoder = new PatchEncoder(p, 'encoder.', c);
    const dd = c.decoderDim;
    this.decoderEmbed = linear(p, 'decoder.embed', c.dim, dd);
    this.maskToken = p.add('decoder.mask_token', [1, 1, dd], { kind: 'normal', std: 0.02 });
    if (c.positions === 'learned') this.decoderPos = p.add('decoder.pos', [1, n + cls, dd], { kind: 'normal', std: 0.02 });
    else if (c.positions === 'sincos') this.decoderPos = tf.tidy(() => sincos2d(this.encoder.grid, this.encoder.grid, dd, cls === 1).expandDims(0));
    else this.decoderPos = null;
    const bc = blockConfigOf({ ...c, dim: dd, heads: c.decoderHeads }, n + cls, blockPositions(c.positions));
    this.decoderBlocks = Array.from({ length: c.decoderDepth }, (_, i) => createBlock(p, `decoder.blocks.${i}`, bc));
    this.decoderNorm = norm(p, 'decoder.norm', dd, c.normKind);
    this.pred = linear(p, 'decoder.pred', dd, c.patchSize * c.patchSize * c.channels);
  }

  /** Draw one mask per image: visible patch indices (sorted) per image. */
  drawMask(batch: number): Int32Array[] {
    return Array.from({ length: batch }, () => drawVisiblePatches(this.encoder.patches, this.visible, this.rng));
  }

  private checkMask(B: number, vis: readonly Int32Array[]): void {
    const n = this.encoder.patches;
    if (vis.length !== B || vis.some((v) => v.length !== this.visible || v.some((j) => !(j >= 0 && j < n)))) {
      throw new Error(
        `mae: visibleIdx must hold ${B} lists of ${this.visible} patch indices in 0..${n - 1}, found lengths ${vis.map((v) => v.length).join(', ')}`,
      );
    }
  }

  /** select[b, i, j] = 1 iff visible token i of image b is patch j: [B, visible, N]. */
  private selection(vis: readonly Int32Array[]): tf.Tensor3D {
    const n = this.encoder.patches;
    const sel = new Float32Array(vis.length * this.visible * n);
    vis.forEach((idx, b) => idx.forEach((j, i) => (sel[(b * this.visible + i) * n + j] = 1)));
    return tf.tensor3d(sel, [vis.length, this.visible, n]);
  }

  /**
   * The encoder on the visible patches only: [B, visible(+1 CLS), dim]. Positions are the patches'
   * own: additive ones are added before selection, RoPE and ALiBi get the patch indices.
   */
  encodeVisible(images: tf.Tensor4D, visibleIdx: readonly Int32Array[], training = false): tf.Tensor3D {
    this.encoder.checkImages(images);
    this.checkMask(images.shape[0], visibleIdx);
    const tokens = this.encoder.embed(patchify(images, this.config.patchSize));
    return this.encoder.encode(tf.matMul(this.selection(visibleIdx), tokens) as tf.Tensor3D, { training, rng: this.rng }, visibleIdx);
  }

  /**
   * Reconstruction loss for images [B, H, W, C]. `visibleIdx` fixes the mask (one index list per
   * image, length `visible`); by default a fresh mask is drawn from the model's seeded RNG.
   */
  loss(images: tf.Tensor4D, training = false, visibleIdx?: Int32Array[]): tf.Scalar {
    this.encoder.checkImages(images);
    const c = this.config;
    const B = images.shape[0];
    const n = this.encoder.patches;
    const vis = visibleIdx ?? this.drawMask(B);
    this.checkMask(B, vis);
    // masked[b, j] = 1 iff patch j of image b is hidden.
    const masked = new Float32Array(B * n).fill(1);
    vis.forEach((idx, b) => idx.forEach((j) => (masked[b * n + j] = 0)));
    const select = this.selection(vis);
    const maskInd = tf.tensor3d(masked, [B, n, 1]);
    const ctx = { training, rng: this.rng };

    const patches = patchify(images, c.patchSize);
    const tokens = this.encoder.embed(patches);
    const h = this.encoder.encode(tf.matMul(select, tokens) as tf.Tensor3D, ctx, vis);
    let d = applyLinear(this.decoderEmbed, h) as tf.Tensor3D;
    const cls = c.pool === 'cls' ? 1 : 0;
    const dd = c.decoderDim;
    const dCls = cls ? d.slice([0, 0, 0], [B, 1, dd]) : null;
    d = d.slice([0, cls, 0], [B, this.visible, dd]);
    // Un-shuffle: each visible token back to its patch slot, the mask token everywhere else.
    let full = tf.add(tf.matMul(select, d, true, false), tf.mul(maskInd, this.maskToken)) as tf.Tensor3D;
    if (dCls !== null) full = tf.concat([dCls, full], 1);
    if (this.decoderPos !== null) full = tf.add(full, this.decoderPos);
    for (const blk of this.decoderBlocks) full = applyBlock(blk, full, ctx);
    const out = applyLinear(this.pred, applyNorm(this.decoderNorm, full)) as tf.Tensor3D;
    const predPatches = out.slice([0, cls, 0], [B, n, out.shape[2]]);
    const target = c.normPixLoss ? standardize(patches) : patches;
    const perPatch = tf.mean(tf.square(tf.sub(predPatches, target)), -1, true);
    return tf.div(tf.sum(tf.mul(perPatch, maskInd)), tf.sum(maskInd)) as tf.Scalar;
  }

  /** Pooled encoder features of whole (unmasked) images, for probes and fine-tuning. */
  features(images: tf.Tensor4D, training = false): tf.Tensor2D {
    return this.encoder.features(images, { training, rng: this.rng });
  }

  get featureDim(): number {
    return this.config.dim;
  }

  featureEntries(): [string, tf.Variable][] {
    return this.params.entries().filter(([n]) => n.startsWith('encoder.'));
  }

  batchLoss(batch: Batch, training = false): tf.Scalar {
    return this.loss(need('mae', batch, 'images'), training, batch.visibleIdx);
  }

  trainableEntries(): [string, tf.Variable][] {
    return this.params.entries();
  }

  dispose(): void {
    this.encoder.dispose();
    if (this.decoderPos !== null && !(this.decoderPos instanceof tf.Variable)) this.decoderPos.dispose();
    this.params.dispose();
  }
}
