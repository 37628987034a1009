/**
 * Vision Transformer (Dosovitskiy et al. 2021), small enough to train on a CPU.
 * image [B, H, W, C] → non-overlapping P×P patches → linear embedding + CLS token + learned positions
 * → transformer blocks → LayerNorm → linear classifier on the CLS token.
 */
import * as tf from '@tensorflow/tfjs';
import { ParamStore } from './params.js';
import { applyBlock, createBlock, type AttentionConfig, type Block } from './block.js';
import { applyLinear, applyNorm, linear, norm, type Linear, type Norm } from './layers.js';

export interface VitConfig {
  imageSize: number;
  channels: number;
  patchSize: number;
  dim: number;
  depth: number;
  heads: number;
  mlpRatio: number;
  classes: number;
  attention: AttentionConfig;
}

export class Vit {
  readonly params: ParamStore;
  readonly tokens: number;
  private readonly patchEmbed: Linear;
  private readonly cls: tf.Variable;
  private readonly pos: tf.Variable;
  private readonly blocks: Block[];
  private readonly normOut: Norm;
  private readonly head: Linear;

  constructor(readonly cfg: VitConfig, seed: number) {
    const { imageSize, patchSize, channels, dim } = cfg;
    if (imageSize % patchSize !== 0) throw new Error(`vit: imageSize ${imageSize} must be divisible by patchSize ${patchSize}`);
    const grid = imageSize / patchSize;
    this.tokens = grid * grid + 1;
    const p = (this.params = new ParamStore(seed));
    this.patchEmbed = linear(p, 'patch_embed', patchSize * patchSize * channels, dim);
    this.cls = p.add('cls', [1, 1, dim], { kind: 'normal', std: 0.02 });
    this.pos = p.add('pos', [1, this.tokens, dim], { kind: 'normal', std: 0.02 });
    this.blocks = Array.from({ length: cfg.depth }, (_, i) =>
      createBlock(p, `blocks.${i}`, { dim, heads: cfg.heads, mlpRatio: cfg.mlpRatio, attention: cfg.attention, trainLength: this.tokens }),
    );
    this.normOut = norm(p, 'norm', dim);
    this.head = linear(p, 'head', dim, cfg.classes);
  }

  /** images [B, H, W, C] → patches [B, (H/P)·(W/P), P·P·C] */
  patchify(images: tf.Tensor4D): tf.Tensor3D {
    const [B, Himg, Wimg, C] = images.shape;
    const P = this.cfg.patchSize;
    const gh = Himg / P;
    const gw = Wimg / P;
    return images
      .reshape([B, gh, P, gw, P, C])
      .transpose([0, 1, 3, 2, 4, 5])
      .reshape([B, gh * gw, P * P * C]) as tf.Tensor3D;
  }

  /** images [B, H, W, C] → logits [B, classes] */
  forward(images: tf.Tensor4D): tf.Tensor2D {
    const B = images.shape[0];
    const patches = applyLinear(this.patchEmbed, this.patchify(images)) as tf.Tensor3D;
    let x = tf.concat([tf.tile(this.cls, [B, 1, 1]), patches], 1) as tf.Tensor3D;
    x = tf.add(x, this.pos) as tf.Tensor3D;
    for (const blk of this.blocks) x = applyBlock(blk, x);
    const clsOut = applyNorm(this.normOut, x.slice([0, 0, 0], [B, 1, this.cfg.dim]).reshape([B, this.cfg.dim]));
    return applyLinear(this.head, clsOut) as tf.Tensor2D;
  }

  /** Mean cross-entropy of the logits against integer labels. */
  loss(images: tf.Tensor4D, labels: tf.Tensor1D): tf.Scalar {
    const logits = this.forward(images);
    const onehot = tf.oneHot(labels, this.cfg.classes);
    const logp = tf.logSoftmax(logits);
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), -1))) as tf.Scalar;
  }
}
