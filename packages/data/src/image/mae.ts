/**
 * MAE utilities (He et al. 2022): cut images into patches, put them back, and mask a random subset per image.
 * Layouts follow the reference code: images [N, H, W, C] (HWC), patches [N, L, p·p·C] with L = (H/p)·(W/p) in
 * row-major patch order and each patch flattened as (py, px, c).
 */
import { Rng } from '../random.js';

export interface ImageShape {
  height: number;
  width: number;
  channels: number;
}

function checkPatch(shape: ImageShape, patch: number): void {
  if (!Number.isInteger(patch) || patch < 1 || shape.height % patch !== 0 || shape.width % patch !== 0) {
    throw new RangeError(`patch size ${patch} must divide the image ${shape.height}×${shape.width}; pick a divisor (e.g. 4 or 7 for 28×28)`);
  }
}

/** [N, H, W, C] → [N, L, p·p·C]. */
export function patchify(images: Float32Array, count: number, shape: ImageShape, patch: number): Float32Array {
  checkPatch(shape, patch);
  const { height: H, width: W, channels: C } = shape;
  if (images.length !== count * H * W * C) throw new RangeError(`patchify: expected ${count}×${H}×${W}×${C} = ${count * H * W * C} values, found ${images.length}`);
  const gw = W / patch;
  const out = new Float32Array(images.length);
  let o = 0;
  for (let n = 0; n < count; n++) {
    for (let gy = 0; gy < H / patch; gy++) {
      for (let gx = 0; gx < gw; gx++) {
        for (let py = 0; py < patch; py++) {
          const row = ((n * H + gy * patch + py) * W + gx * patch) * C;
          for (let k = 0; k < patch * C; k++) out[o++] = images[row + k];
        }
      }
    }
  }
  return out;
}

/** Inverse of patchify: [N, L, p·p·C] → [N, H, W, C]. */
export function unpatchify(patches: Float32Array, count: number, shape: ImageShape, patch: number): Float32Array {
  checkPatch(shape, patch);
  const { height: H, width: W, channels: C } = shape;
  if (patches.length !== count * H * W * C) throw new RangeError(`unpatchify: expected ${count * H * W * C} values, found ${patches.length}`);
  const gw = W / patch;
  const out = new Float32Array(patches.length);
  let i = 0;
  for (let n = 0; n < count; n++) {
    for (let gy = 0; gy < H / patch; gy++) {
      for (let gx = 0; gx < gw; gx++) {
        for (let py = 0; py < patch; py++) {
          const row = ((n * H + gy * patch + py) * W + gx * patch) * C;
          for (let k = 0; k < patch * C; k++) out[row + k] = patches[i++];
        }
      }
    }
  }
  return out;
}

export interface RandomMask {
  /** Indices of the kept (visible) patches per image, [N, keepCount], in shuffled order as in MAE. */
  keep: Int32Array;
  /** 1 where a patch is masked (the loss is taken there), [N, L]. */
  mask: Uint8Array;
  /** Position of each original patch in the shuffled order, [N, L]: the decoder un-shuffles [kept; mask tokens] with it. */
  restore: Int32Array;
  keepCount: number;
  length: number;
}

/** Per-image random masking with `ratio` of the L patches masked (MAE default 0.75), seeded. */
export function randomMasking(count: number, length: number, ratio: number, seed: number): RandomMask {
  if (!(ratio >= 0 && ratio < 1)) throw new RangeError(`mask ratio must be in [0, 1), found ${ratio}`);
  const keepCount = Math.max(1, Math.round(length * (1 - ratio)));
  const rng = new Rng(seed);
  const keep = new Int32Array(count * keepCount);
  const mask = new Uint8Array(count * length);
  const restore = new Int32Array(count * length);
  const order = new Int32Array(length);
  for (let n = 0; n < count; n++) {
    for (let i = 0; i < length; i++) order[i] = i;
    rng.shuffle(order);
    for (let j = 0; j < length; j++) {
      restore[n * length + order[j]] = j;
      if (j < keepCount) keep[n * keepCount + j] = order[j];
      else mask[n * length + order[j]] = 1;
    }
  }
  return { keep, mask, restore, keepCount, length };
}

/** Gather the kept patches: [N, L, D] → [N, keepCount, D]. */
export function gatherPatches(patches: Float32Array, m: RandomMask, dim: number): Float32Array {
  const count = m.keep.length / m.keepCount;
  const out = new Float32Array(count * m.keepCount * dim);
  for (let n = 0; n < count; n++) {
    for (let j = 0; j < m.keepCount; j++) {
      const src = (n * m.length + m.keep[n * m.keepCount + j]) * dim;
      out.set(patches.subarray(src, src + dim), (n * m.keepCount + j) * dim);
    }
  }
  return out;
}
