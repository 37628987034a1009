/**
 * Augmentations for contrastive learning (SimCLR, BYOL): each image yields two views, each from its own seed
 * derived from (seed, image id, view), so a view does not depend on batch order or on the other view.
 * Images are float HWC in [0, 1]; every op keeps the shape and clamps to [0, 1].
 */
import { deriveSeed, Rng } from '@sigattn/common';

/** Height, width and channels of HWC images. */
export interface ImageShape {
  height: number;
  width: number;
  channels: number;
}

export interface AugmentConfig {
  /** Random resized crop: area fraction and aspect-ratio ranges (SimCLR: [0.08, 1], [3/4, 4/3]); null disables it. */
  crop: { scale: [number, number]; ratio: [number, number] } | null;
  flipProb: number;
  /** Colour jitter, applied with probability jitterProb: brightness/contrast/saturation factors in [1 − s, 1 + s]. */
  jitterProb: number;
  brightness: number;
  contrast: number;
  saturation: number;
  /** Grayscale probability (3-channel images only). */
  grayProb: number;
  /** Gaussian blur with sigma (pixels) drawn from blurSigma. */
  blurProb: number;
  blurSigma: [number, number];
  /** Additive gaussian noise with std drawn from [0, noiseStd]. */
  noiseProb: number;
  noiseStd: number;
  /** Solarize (x ≥ threshold → 1 − x). */
  solarizeProb: number;
  solarizeThreshold: number;
}

/** SimCLR's recipe (Chen et al. 2020), with blur sigma scaled to small images. */
export const SIMCLR_AUGMENT: AugmentConfig = {
  crop: { scale: [0.08, 1], ratio: [3 / 4, 4 / 3] },
  flipProb: 0.5,
  jitterProb: 0.8,
  brightness: 0.4,
  contrast: 0.4,
  saturation: 0.4,
  grayProb: 0.2,
  blurProb: 0.5,
  blurSigma: [0.1, 1.0],
  noiseProb: 0,
  noiseStd: 0,
  solarizeProb: 0,
  solarizeThreshold: 0.5,
};

/** BYOL's asymmetric pair (Grill et al. 2020): view 1 always blurred, view 2 rarely blurred but sometimes solarized. */
export const BYOL_AUGMENT: [AugmentConfig, AugmentConfig] = [
  { ...SIMCLR_AUGMENT, brightness: 0.4, contrast: 0.4, saturation: 0.2, blurProb: 1.0, solarizeProb: 0 },
  { ...SIMCLR_AUGMENT, brightness: 0.4, contrast: 0.4, saturation: 0.2, blurProb: 0.1, solarizeProb: 0.2 },
];

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);
const uniform = (rng: Rng, lo: number, hi: number): number => lo + (hi - lo) * rng.next();

/** Crop a random region (area and aspect ratio from cfg) and resize it back to the full size (bilinear). */
export function randomResizedCrop(img: Float32Array, s: ImageShape, rng: Rng, scale: [number, number], ratio: [number, number]): Float32Array {
  const { height: H, width: W, channels: C } = s;
  let ch = H;
  let cw = W;
  let y0 = 0;
  let x0 = 0;
  // torchvision's rejection sampling: 10 tries, then fall back to the whole image.
  for (let t = 0; t < 10; t++) {
    const area = H * W * uniform(rng, scale[0], scale[1]);
    const ar = Math.exp(uniform(rng, Math.log(ratio[0]), Math.log(ratio[1])));
    const w = Math.sqrt(area * ar);
    const h = Math.sqrt(area / ar);
    if (w <= W && h <= H && w >= 1 && h >= 1) {
      cw = w;
      ch = h;
      y0 = (H - h) * rng.next();
      x0 = (W - w) * rng.next();
      break;
    }
  }
  const out = new Float32Array(img.length);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(H - 1, Math.max(0, y0 + ((y + 0.5) * ch) / H - 0.5));
    const iy = Math.floor(sy);
    const fy = sy - iy;
    const iy1 = Math.min(H - 1, iy + 1);
    for (let x = 0; x < W; x++) {
      const sx = Math.min(W - 1, Math.max(0, x0 + ((x + 0.5) * cw) / W - 0.5));
      const ix = Math.floor(sx);
      const fx = sx - ix;
      const ix1 = Math.min(W - 1, ix + 1);
      for (let c = 0; c < C; c++) {
        const a = img[(iy * W + ix) * C + c];
        const b = img[(iy * W + ix1) * C + c];
        const d = img[(iy1 * W + ix) * C + c];
        const e = img[(iy1 * W + ix1) * C + c];
        out[(y * W + x) * C + c] = (a * (1 - fx) + b * fx) * (1 - fy) + (d * (1 - fx) + e * fx) * fy;
      }
    }
  }
  return out;
}

export function hflip(img: Float32Array, s: ImageShape): Float32Array {
  const { height: H, width: W, channels: C } = s;
  const out = new Float32Array(img.length);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) out[(y * W + x) * C + c] = img[(y * W + (W - 1 - x)) * C + c];
  return out;
}

/** Separable gaussian blur, edges clamped. */
export function gaussianBlur(img: Float32Array, s: ImageShape, sigma: number): Float32Array {
  const { height: H, width: W, channels: C } = s;
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp((-i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  const tmp = new Float32Array(img.length);
  const out = new Float32Array(img.length);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let i = -r; i <= r; i++) acc += k[i + r] * img[(y * W + Math.min(W - 1, Math.max(0, x + i))) * C + c];
        tmp[(y * W + x) * C + c] = acc;
      }
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let i = -r; i <= r; i++) acc += k[i + r] * tmp[(Math.min(H - 1, Math.max(0, y + i)) * W + x) * C + c];
        out[(y * W + x) * C + c] = acc;
      }
  return out;
}

/** One augmented view of one image; `seed` fixes every random choice. */
export function augmentView(image: Float32Array, s: ImageShape, seed: number, cfg: AugmentConfig): Float32Array {
  const rng = new Rng(seed);
  const C = s.channels;
  let img = cfg.crop ? randomResizedCrop(image, s, rng, cfg.crop.scale, cfg.crop.ratio) : Float32Array.from(image);
  if (rng.next() < cfg.flipProb) img = hflip(img, s);
  if (rng.next() < cfg.jitterProb) {
    const b = uniform(rng, 1 - cfg.brightness, 1 + cfg.brightness);
    const ct = uniform(rng, 1 - cfg.contrast, 1 + cfg.contrast);
    const sat = uniform(rng, 1 - cfg.saturation, 1 + cfg.saturation);
    for (let i = 0; i < img.length; i++) img[i] = clamp01(img[i] * b);
    let mean = 0;
    for (let i = 0; i < img.length; i++) mean += img[i];
    mean /= img.length;
    for (let i = 0; i < img.length; i++) img[i] = clamp01(mean + (img[i] - mean) * ct);
    if (C === 3) {
      for (let p = 0; p < img.length; p += 3) {
        const g = 0.299 * img[p] + 0.587 * img[p + 1] + 0.114 * img[p + 2];
        for (let c = 0; c < 3; c++) img[p + c] = clamp01(g + (img[p + c] - g) * sat);
      }
    }
  }
  if (C === 3 && rng.next() < cfg.grayProb) {
    for (let p = 0; p < img.length; p += 3) {
      const g = 0.299 * img[p] + 0.587 * img[p + 1] + 0.114 * img[p + 2];
      img[p] = img[p + 1] = img[p + 2] = g;
    }
  }
  if (rng.next() < cfg.blurProb) img = gaussianBlur(img, s, uniform(rng, cfg.blurSigma[0], cfg.blurSigma[1]));
  if (rng.next() < cfg.noiseProb) {
    const std = cfg.noiseStd * rng.next();
    for (let i = 0; i < img.length; i++) img[i] = clamp01(img[i] + std * rng.normal());
  }
  if (rng.next() < cfg.solarizeProb) {
    for (let i = 0; i < img.length; i++) if (img[i] >= cfg.solarizeThreshold) img[i] = 1 - img[i];
  }
  return img;
}

export interface TwoViews {
  /** [count, H, W, C] in [0, 1] each. */
  view1: Float32Array;
  view2: Float32Array;
}

/**
 * Two augmented views of each image. `images` are uint8 (0..255) or float in [0, 1], HWC.
 * `ids` are the images' dataset indices (default 0..count−1): seeds come from (seed, id, view), so use
 * a new `seed` per epoch (e.g. base + epoch) to draw new views.
 */
export function twoViews(
  images: Uint8Array | Float32Array,
  count: number,
  s: ImageShape,
  seed: number,
  cfgs: [AugmentConfig, AugmentConfig] = [SIMCLR_AUGMENT, SIMCLR_AUGMENT],
  ids?: ArrayLike<number>,
): TwoViews {
  const size = s.height * s.width * s.channels;
  if (images.length !== count * size) throw new RangeError(`twoViews: expected ${count}×${size} values, found ${images.length}`);
  const scale = images instanceof Uint8Array ? 1 / 255 : 1;
  const view1 = new Float32Array(count * size);
  const view2 = new Float32Array(count * size);
  const img = new Float32Array(size);
  for (let n = 0; n < count; n++) {
    for (let i = 0; i < size; i++) img[i] = images[n * size + i] * scale;
    const id = ids ? ids[n] : n;
    view1.set(augmentView(img, s, deriveSeed(seed, id, 1), cfgs[0]), n * size);
    view2.set(augmentView(img, s, deriveSeed(seed, id, 2), cfgs[1]), n * size);
  }
  return { view1, view2 };
}
