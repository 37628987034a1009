import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeIdx, Rng } from '@sigattn/data';
import { initBackend } from '@sigattn/kernel-core';
import { Vit } from '@sigattn/model-zoo';
import { loadRunConfig, runExperiment, cliMain } from '../src/index.js';

const repoConfigs = join(import.meta.dirname, '../../../configs');

/** metrics.csv has no quoted fields, so a plain split reads it. */
function readCsv(path: string): Record<string, string>[] {
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const cols = header.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
}

/** A Fashion-MNIST-shaped fixture: class c is a bright bar at row 2c plus noise, so a ViT can learn it fast. */
function writeFixture(dir: string, train: number, test: number, seed: number): void {
  const rng = new Rng(seed);
  const make = (count: number): [Uint8Array, Uint8Array] => {
    const images = new Uint8Array(count * 28 * 28);
    const labels = new Uint8Array(count);
    for (let n = 0; n < count; n++) {
      const c = rng.int(10);
      labels[n] = c;
      for (let p = 0; p < 784; p++) images[n * 784 + p] = rng.int(60);
      for (let r = 2 * c + 4; r < 2 * c + 6; r++) for (let x = 2; x < 26; x++) images[n * 784 + r * 28 + x] = 200 + rng.int(55);
    }
    return [images, labels];
  };
  const write = (name: string, shape: number[], data: Uint8Array) => writeFileSync(join(dir, name), gzipSync(encodeIdx(shape, data)));
  const [tri, trl] = make(train);
  const [tei, tel] = make(test);
  write('train-images-idx3-ubyte.gz', [train, 28, 28], tri);
  write('train-labels-idx1-ubyte.gz', [train], trl);
  write('t10k-images-idx3-ubyte.gz', [test, 28, 28], tei);
  write('t10k-labels-idx1-ubyte.gz', [test], tel);
}

describe('training', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('one optimizer step lowers the loss on the same batch, for both attention kinds', async () => {
    for (const kind of ['softmax', 'sigmoid'] as const) {
      const model = new Vit(
        { imageSize: 28, channels: 1, patchSize: 7, dim: 32, depth: 1, heads: 2, mlpRatio: 2, classes: 10,
          attention: { kind, bias: 'negLogN', qkNorm: kind === 'sigmoid' ? 'layernorm' : 'none', causal: false } },
        3,
      );
      const x = tf.randomNormal([16, 28, 28, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
      const y = tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 10), 'int32');
      const opt = tf.train.adam(1e-2);
      const before = (await model.loss(x, y).data())[0];
      opt.minimize(() => model.loss(x, y), false, model.params.variables());
      const after = (await model.loss(x, y).data())[0];
      expect(after, kind).toBeLessThan(before);
      model.params.dispose();
    }
  });
});

describe('experiment end to end (fixture data, wasm)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigattn-exp-'));
  const data = join(dir, 'fmnist');
  const out = join(dir, 'results');

  beforeAll(async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(data);
    writeFixture(data, 640, 200, 11);
  });

  const overrides = () => [`data.path=${data}`, `output=${out}`, 'data.trainLimit=0', 'train.epochs=2', 'train.batchSize=64', 'train.lr=0.003', 'model.dim=32'];

  it('trains both variants, writes metrics.csv (one row per variant per epoch) and the resolved config', async () => {
    const run = loadRunConfig(join(repoConfigs, 'quickstart.yaml'), overrides());
    const logs: string[] = [];
    const result = await runExperiment(run, { log: (l) => logs.push(l) });
    const rows = readCsv(join(out, 'quickstart', 'metrics.csv'));
    expect(rows.map((r) => `${r.variant}:${r.epoch}`)).toEqual(['softmax:1', 'softmax:2', 'sigmoid:1', 'sigmoid:2']);
    for (const r of rows) expect(Number(r.train_loss)).toBeGreaterThan(0);
    expect(existsSync(join(out, 'quickstart', 'config.yaml'))).toBe(true);
    const svg = readFileSync(join(out, 'quickstart', 'curves.svg'), 'utf8');
    expect(svg.match(/<polyline/g)).toHaveLength(4); // 2 panels × 2 variants
    expect(readFileSync(join(out, 'quickstart', 'config.yaml'), 'utf8')).toMatch(/qkNorm: layernorm/);
    expect(result.table).toMatch(/\| variant \| parameters \| final train loss \| test accuracy \| wall time \|/);
    // The fixture is easy: both variants must learn it well above chance (10%).
    for (const s of result.summaries) expect(s.testAccuracy, s.variant).toBeGreaterThan(0.5);
    // The sigmoid variant has QK-norm parameters the softmax one lacks.
    expect(result.summaries[1].parameters).toBeGreaterThan(result.summaries[0].parameters);
  });

  it('resumes from checkpoints: a finished run is not retrained, a larger epoch budget continues it', async () => {
    const logs: string[] = [];
    const again = await runExperiment(loadRunConfig(join(repoConfigs, 'quickstart.yaml'), overrides()), { log: (l) => logs.push(l) });
    expect(logs.filter((l) => l.includes('resuming'))).toHaveLength(2);
    expect(again.metrics).toHaveLength(4);
    const more = await runExperiment(loadRunConfig(join(repoConfigs, 'quickstart.yaml'), [...overrides(), 'train.epochs=3']), {
      only: ['sigmoid'],
      log: () => {},
    });
    expect(more.metrics.map((m) => m.epoch)).toEqual([1, 2, 3]);
  });

  it('refuses to resume a checkpoint of a different config', async () => {
    const run = loadRunConfig(join(repoConfigs, 'quickstart.yaml'), [...overrides(), 'train.lr=0.001']);
    await expect(runExperiment(run, { log: () => {} })).rejects.toThrow(/different config; rerun with --fresh/);
  });

  it('a missing dataset gives one line naming the path and the setup command, and a non-zero exit', async () => {
    const errors: string[] = [];
    const orig = console.error;
    console.error = (m: string) => errors.push(m);
    try {
      const code = await cliMain(['run', join(repoConfigs, 'quickstart.yaml'), '--set', `data.path=${join(dir, 'nope')}`, '--set', `output=${out}`]);
      expect(code).not.toBe(0);
    } finally {
      console.error = orig;
    }
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/nope.*tools\/setup\.sh/);
    expect(errors[0]).not.toContain('\n');
  });
});
