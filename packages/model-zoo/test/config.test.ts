/**
 * Config mistakes read as what they are: a misspelt key is an unknown key with the closest allowed
 * name, a bad value names the key, what was expected and what was found. Also pins the patch layout
 * every image model shares.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '@sigattn/common';
import { patchify, readConfig, resolveSpec, resolveVitConfig, type Schema } from '../src/index.js';
import { randn, setup } from './helpers.js';

beforeAll(setup);

const vit = { imageSize: 28, channels: 1, patchSize: 7, dim: 16, depth: 1, heads: 2, classes: 10 };

describe('config keys', () => {
  it('a misspelt attention key names the key, the closest allowed one and the allowed set', () => {
    const attempt = () => resolveSpec({ name: 'vit', ...vit, attention: { kind: 'sigmoid', qknorm: 'layernorm' } }, 'model');
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow('model.attention.qknorm: unknown key (did you mean model.attention.qkNorm?); allowed here: kind, bias, qkNorm, causal');
  });
  it('a misspelt model key gets a suggestion; a key unlike any gets none', () => {
    expect(() => resolveVitConfig({ ...vit, dpeth: 2 }, 'vit')).toThrow(/^vit\.dpeth: unknown key \(did you mean vit\.depth\?\); allowed here: imageSize, /);
    expect(() => resolveVitConfig({ ...vit, zzzzzz: 2 }, 'vit')).toThrow(/^vit\.zzzzzz: unknown key; allowed here: /);
  });
  it('a bad value names the key, the expectation and the value found', () => {
    expect(() => resolveVitConfig({ ...vit, depth: 'two' }, 'vit')).toThrow('vit.depth: expected an integer ≥ 1, found "two". Fix: set vit.depth to an integer ≥ 1');
    expect(() => resolveVitConfig({ ...vit, attention: { kind: 'tanh' } }, 'vit')).toThrow(/^vit\.attention\.kind: expected '\w+'( \| '\w+')+, found "tanh"\. Fix: pick one of /);
  });
  it('keys set to undefined count as absent (a JS spread), as in YAML', () => {
    const schema: Schema = { a: { type: 'int', default: 1 } };
    expect(readConfig<{ a: number }>('c', { a: 2, b: undefined }, schema)).toEqual({ a: 2 });
  });
});

describe('patchify', () => {
  it('cuts [B, H, W, C] into row-major P×P patches, each flattened as (row, col, channel)', () => {
    const [B, H, W, C, P] = [2, 8, 12, 3, 4];
    const images = randn([B, H, W, C], 5) as tf.Tensor4D;
    const x = images.dataSync();
    const patches = patchify(images, P);
    expect(patches.shape).toEqual([B, (H / P) * (W / P), P * P * C]);
    const p = patches.dataSync();
    const gw = W / P;
    // Every element: patch (gy, gx) of image b, pixel (py, px), channel c.
    let mismatches = 0;
    for (let b = 0; b < B; b++)
      for (let gy = 0; gy < H / P; gy++)
        for (let gx = 0; gx < gw; gx++)
          for (let py = 0; py < P; py++)
            for (let px = 0; px < P; px++)
              for (let c = 0; c < C; c++) {
                const got = p[((b * (H / P) * gw + gy * gw + gx) * P * P + py * P + px) * C + c];
                const want = x[((b * H + gy * P + py) * W + gx * P + px) * C + c];
                if (got !== want) mismatches++;
              }
    expect(mismatches).toBe(0);
    tf.dispose([images, patches]);
  });
});
