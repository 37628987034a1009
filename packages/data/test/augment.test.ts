import { describe, expect, it } from 'vitest';
import { Rng } from '@sigattn/common';
import { BYOL_AUGMENT, SIMCLR_AUGMENT, twoViews, type AugmentConfig } from '../src/index.js';

const shape = { height: 16, width: 12, channels: 3 };
const size = 16 * 12 * 3;
const images = (n: number, seed: number): Uint8Array => {
  const r = new Rng(seed);
  return Uint8Array.from({ length: n * size }, () => r.int(256));
};

describe('contrastive augmentations', () => {
  const x = images(6, 1);
  const noisy: AugmentConfig = { ...SIMCLR_AUGMENT, noiseProb: 1, noiseStd: 0.2, solarizeProb: 0.5 };
  it('keep shapes and values in [0, 1] for every preset', () => {
    for (const cfgs of [[SIMCLR_AUGMENT, SIMCLR_AUGMENT], BYOL_AUGMENT, [noisy, noisy]] as [AugmentConfig, AugmentConfig][]) {
      const { view1, view2 } = twoViews(x, 6, shape, 3, cfgs);
      for (const v of [view1, view2]) {
        expect(v.length).toBe(6 * size);
        expect(Math.min(...v)).toBeGreaterThanOrEqual(0);
        expect(Math.max(...v)).toBeLessThanOrEqual(1);
        expect(v.every(Number.isFinite)).toBe(true);
      }
    }
  });
  it('are deterministic per (seed, image id, view) and differ between views and seeds', () => {
    const a = twoViews(x, 6, shape, 7);
    const b = twoViews(x, 6, shape, 7);
    expect(Array.from(a.view1)).toEqual(Array.from(b.view1));
    expect(Array.from(a.view2)).toEqual(Array.from(b.view2));
    expect(Array.from(a.view1)).not.toEqual(Array.from(a.view2));
    expect(Array.from(twoViews(x, 6, shape, 8).view1)).not.toEqual(Array.from(a.view1));
    // image 4 alone, with its dataset id, gets the same views as inside the batch
    const one = twoViews(x.subarray(4 * size, 5 * size), 1, shape, 7, undefined, [4]);
    expect(Array.from(one.view2)).toEqual(Array.from(a.view2.subarray(4 * size, 5 * size)));
  });
  it('with every op off, returns the image scaled to [0, 1]', () => {
    const off: AugmentConfig = { ...SIMCLR_AUGMENT, crop: null, flipProb: 0, jitterProb: 0, grayProb: 0, blurProb: 0 };
    const { view1 } = twoViews(x, 6, shape, 1, [off, off]);
    for (let i = 0; i < x.length; i += 97) expect(view1[i]).toBeCloseTo(x[i] / 255, 6);
  });
  it('flip mirrors the row and blur keeps the mean of a constant image', () => {
    const flipOnly: AugmentConfig = { ...SIMCLR_AUGMENT, crop: null, flipProb: 1, jitterProb: 0, grayProb: 0, blurProb: 0 };
    const { view1 } = twoViews(x.subarray(0, size), 1, shape, 1, [flipOnly, flipOnly]);
    expect(view1[0]).toBeCloseTo(x[(12 - 1) * 3] / 255, 6);
    const blurOnly: AugmentConfig = { ...flipOnly, flipProb: 0, blurProb: 1, blurSigma: [1.5, 1.5] };
    const flat = new Float32Array(size).fill(0.37);
    expect(twoViews(flat, 1, shape, 2, [blurOnly, blurOnly]).view1.every((v) => Math.abs(v - 0.37) < 1e-6)).toBe(true);
  });
});
