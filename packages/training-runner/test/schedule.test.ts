import { describe, expect, it } from 'vitest';
import { learningRate } from '../src/schedule.js';

describe('learning-rate schedule', () => {
  const cfg = { lr: 1, schedule: 'cosine' as const, warmupSteps: 4, minLrRatio: 0.1 };
  it('warms up linearly, then decays by cosine to minLrRatio·lr at the last step', () => {
    expect([0, 1, 2, 3].map((s) => learningRate(cfg, s, 14))).toEqual([0.25, 0.5, 0.75, 1]);
    expect(learningRate(cfg, 4, 14)).toBeCloseTo(1, 12);
    expect(learningRate(cfg, 9, 14)).toBeCloseTo(0.1 + 0.45 * (1 + Math.cos(Math.PI * 5 / 9)), 12);
    expect(learningRate(cfg, 13, 14)).toBeCloseTo(0.1, 12);
  });
  it('constant ignores the step', () => {
    expect(learningRate({ ...cfg, schedule: 'constant' }, 7, 14)).toBe(1);
  });
});
