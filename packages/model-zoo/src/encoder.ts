/**
 * The image encoder shared by ViT, MAE, SimCLR and BYOL: non-overlapping P×P patches → linear
 * embedding → additive positions (learned or 2-D sin-cos) → optional CLS token → blocks → final norm.
 * RoPE and ALiBi instead act inside each block over the 1-D token position: CLS = 0, patch j = j + 1
 * (j without CLS), also when only some patches are encoded (MAE).
 *
 * The sigmoid bias b = −log n uses n = the tokens attended over in that call: all patches (+CLS) on
 * whole images, the visible patches (+CLS) in MAE pretraining. So a row's attention mass starts near 1
 * in both: keeping n = visible + 1 on whole images would start each row at a mass of about
 * (N + 1)/(visible + 2), 3.6 for 7×7 patches at 75 % masking.
 */
import * as tf from '@tensorflow/tfjs';
import type { ParamStore } from './params.js';
import { applyBlock, blockConfigOf, createBlock, TRANSFORMER_SCHEMA, type Block, type BlockContext, type TransformerConfig } from './block.js';
import { applyLinear, applyNorm, linear, norm, type Linear, type Norm } from './layers.js';
import { blockPositions, sincos2d, type PositionKind } from './positions.js';
import { fail, type Schema } from './config.js';

export interface EncoderConfig extends TransformerConfig {
  imageSize: number;
  channels: number;
  patchSize: number;
  positions: PositionKind;
  /** 'cls': a CLS token is prepended and pooled; 'mean': mean over the patch tokens. */
  pool: 'cls' | 'mean';
}

export const ENCODER_SCHEMA: Schema = {
  imageSize: { type: 'int' },
  channels: { type: 'int', default: 1 },
  patchSize: { type: 'int' },
  ...TRANSFORMER_SCHEMA,
  positions: { type: 'enum', values: ['learned', 'sincos', 'rope', 'alibi', 'none'], default: 'learned' },
  pool: { type: 'enum', values: ['cls', 'mean'], default: 'cls' },
};

export function checkEncoder(where: string, c: EncoderConfig): void {
  if (c.imageSize % c.patchSize !== 0) {
    fail(`${where}.patchSize`, `a divisor of imageSize ${c.imageSize}`, c.patchSize, 'pick a patch size that tiles the image');
  }
  if (c.dim % c.heads !== 0) fail(`${where}.heads`, `a divisor of dim ${c.dim}`, c.heads, 'change heads or dim');
  if (c.positions === 'sincos' && c.dim % 4 !== 0) fail(`${where}.dim`, 'a multiple of 4 for 2-D sin-cos positions', c.dim, 'change dim');
  if (c.positions === 'rope' && (c.dim / c.heads) % 2 !== 0) fail(`${where}.heads`, 'an even head dim for RoPE', c.dim / c.heads, 'change dim/heads');
}

/** images [B, H, W, C] → patches [B, (H/P)·(W/P), P·P·C], each patch row-major (row, col, channel). */
export function patchify(images: tf.Tensor4D, P: number): tf.Tensor3D {
  const [B, H, W, C] = images.shape;
  const gh = H / P;
  const gw = W / P;
  // [B·gh, P, gw, P·C] → swap the middle axes: a rank-4 transpose (rank 5+ is ~100× slower on wasm).
  return images
    .reshape([B * gh, P, gw, P * C])
    .transpose([0, 2, 1, 3])
    .reshape([B, gh * gw, P * P * C]) as tf.Tensor3D;
}

export class PatchEncoder {
  readonly patches: number;
  readonly grid: number;
  private readonly patchEmbed: Linear;
  private readonly cls: tf.Variable | null;
  private readonly pos: tf.Variable | tf.Tensor | null;
  private readonly blocks: Block[];
  private readonly normOut: Norm;

  /** @param prefix parameter-name prefix ('' or e.g. 'encoder.') */
  constructor(p: ParamStore, prefix: string, readonly cfg: EncoderConfig) {
    const { dim } = cfg;
    this.grid = cfg.imageSize / cfg.patchSize;
    this.patches = this.grid * this.grid;
    const withCls = cfg.pool === 'cls';
    const tokens = this.patches + (withCls ? 1 : 0);
    this.patchEmbed = linear(p, `${prefix}patch_embed`, cfg.patchSize * cfg.patchSize * cfg.channels, dim);
    this.cls = withCls ? p.add(`${prefix}cls`, [1, 1, dim], { kind: 'normal', std: 0.02 }) : null;
    if (cfg.positions === 'learned') this.pos = p.add(`${prefix}pos`, [1, tokens, dim], { kind: 'normal', std: 0.02 });
    else if (cfg.positions === 'sincos') this.pos = tf.tidy(() => sincos2d(this.grid, this.grid, dim, withCls).expandDims(0));
    else this.pos = null;
    // trainLength is the whole image's token count; encode() overrides it per call with biasLength.
    const bc = blockConfigOf(cfg, tokens, blockPositions(cfg.positions));
    this.blocks = Array.from({ length: cfg.depth }, (_, i) => createBlock(p, `${prefix}blocks.${i}`, bc));
    this.normOut = norm(p, `${prefix}norm`, dim, cfg.normKind);
  }

  /** patches [B, N, P·P·C] → patch tokens with additive positions [B, N, dim] (no CLS yet). */
  embed(patches: tf.Tensor3D): tf.Tensor3D {
    const x = applyLinear(this.patchEmbed, patches) as tf.Tensor3D;
    if (this.pos === null) return x;
    const off = this.cls === null ? 0 : 1;
    return tf.add(x, this.pos.slice([0, off, 0], [1, this.patches, this.cfg.dim])) as tf.Tensor3D;
  }

  /**
   * tokens [B, M, dim] → prepend CLS (with its position) → blocks → final norm: [B, M(+1), dim].
   * `patchIndex` (one list of M per image) says which patches the tokens are when they are not all
   * N in order: RoPE and ALiBi then use those patch positions.
   */
  encode(x: tf.Tensor3D, ctx: BlockContext = {}, patchIndex?: readonly ArrayLike<number>[]): tf.Tensor3D {
    const [B, M] = x.shape;
    const off = this.cls === null ? 0 : 1;
    if (this.cls !== null) {
      let cls: tf.Tensor = this.cls;
      if (this.pos !== null) cls = tf.add(cls, this.pos.slice([0, 0, 0], [1, 1, this.cfg.dim]));
      x = tf.concat([tf.tile(cls, [B, 1, 1]), x], 1) as tf.Tensor3D;
    }
    const blockCtx: BlockContext = { ...ctx, biasLength: M + off };
    if (patchIndex !== undefined && blockPositions(this.cfg.positions) !== 'none') {
      if (patchIndex.length !== B || patchIndex.some((idx) => idx.length !== M)) {
        throw new Error(`encode: patchIndex must hold ${B} lists of ${M} patch indices, found lengths [${patchIndex.map((i) => i.length).join(', ')}]`);
      }
      blockCtx.positions = patchIndex.map((idx) => Float32Array.from({ length: M + off }, (_, t) => (t < off ? 0 : idx[t - off] + off)));
    }
    for (const blk of this.blocks) x = applyBlock(blk, x, blockCtx);
    return applyNorm(this.normOut, x) as tf.Tensor3D;
  }

  /** Encoded tokens [B, M(+1), dim] → pooled [B, dim]: CLS token or mean of the patch tokens. */
  pool(h: tf.Tensor3D): tf.Tensor2D {
    const [B, , dim] = h.shape;
    if (this.cls !== null) return h.slice([0, 0, 0], [B, 1, dim]).reshape([B, dim]);
    return tf.mean(h, 1) as tf.Tensor2D;
  }

  /** images [B, H, W, C] → pooled features [B, dim] (no masking). */
  features(images: tf.Tensor4D, ctx: BlockContext = {}): tf.Tensor2D {
    this.checkImages(images);
    return this.pool(this.encode(this.embed(patchify(images, this.cfg.patchSize)), ctx));
  }

  checkImages(images: tf.Tensor4D): void {
    const { imageSize, channels } = this.cfg;
    const [, H, W, C] = images.shape;
    if (images.rank !== 4 || H !== imageSize || W !== imageSize || C !== channels) {
      throw new Error(
        `images: expected shape [B, ${imageSize}, ${imageSize}, ${channels}] (imageSize, channels from the config), ` +
          `found [${images.shape.join(', ')}]; resize the images or change the config`,
      );
    }
  }

  dispose(): void {
    if (this.pos !== null && !(this.pos instanceof tf.Variable)) this.pos.dispose();
  }
}
