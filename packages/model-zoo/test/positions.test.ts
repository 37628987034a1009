/** applyRope's cached tables give exactly the uncached rotation, and the cache stays bounded. */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@sigattn/common';
import { applyRope } from '../src/index.js';
import { applyRopeAt } from '../src/positions.js';
import { setup } from './helpers.js';

beforeAll(setup);

describe('applyRope table cache', () => {
  it('equals the rotation at explicit positions, on a miss and on a hit', () => {
    const x = tf.tensor4d(new Rng(3).normalF32(2 * 2 * 5 * 8), [2, 2, 5, 8]);
    const want = applyRopeAt(x, [[7, 8, 9, 10, 11], [7, 8, 9, 10, 11]]).arraySync();
    expect(applyRope(x, 7).arraySync()).toEqual(want);
    expect(applyRope(x, 7).arraySync()).toEqual(want);
    tf.dispose(x);
  });

  it('keeps at most 64 table pairs', () => {
    const x = tf.ones([1, 1, 2, 4]) as tf.Tensor4D;
    for (let off = 0; off < 64; off++) tf.dispose(tf.tidy(() => applyRope(x, 1000 + off)));
    const full = tf.memory().numTensors;
    for (let off = 64; off < 100; off++) tf.dispose(tf.tidy(() => applyRope(x, 1000 + off)));
    expect(tf.memory().numTensors).toBe(full);
    x.dispose();
  });
});
