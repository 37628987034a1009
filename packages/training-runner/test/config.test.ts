import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, applyOverrides, deepMerge, loadConfigTree, loadRunConfig, parseOverride, variantConfig } from '../src/index.js';

const repoConfigs = join(import.meta.dirname, '../../../configs');

function tempConfigs(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sigattn-config-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('config merge', () => {
  it('deep-merges objects, later wins, lists are replaced', () => {
    const merged = deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, e: 2 });
    expect(merged).toEqual({ a: { b: 1, c: [3] }, d: 1, e: 2 });
  });

  it('resolves extends chains relative to the file', () => {
    const dir = tempConfigs({
      'a.yaml': 'x: 1\nnested: { p: 1, q: 2 }\n',
      'b.yaml': 'extends: a.yaml\nnested: { q: 3 }\ny: 2\n',
      'c.yaml': 'extends: b.yaml\ny: 4\n',
    });
    expect(loadConfigTree(join(dir, 'c.yaml'))).toEqual({ x: 1, nested: { p: 1, q: 3 }, y: 4 });
  });

  it('rejects extends cycles and names the files', () => {
    const dir = tempConfigs({ 'a.yaml': 'extends: b.yaml\n', 'b.yaml': 'extends: a.yaml\n' });
    expect(() => loadConfigTree(join(dir, 'a.yaml'))).toThrow(/extends cycle: .*a\.yaml → .*b\.yaml → .*a\.yaml/);
  });

  it('reports invalid YAML with the file name', () => {
    const dir = tempConfigs({ 'bad.yaml': 'a: [1, 2\n' });
    expect(() => loadConfigTree(join(dir, 'bad.yaml'))).toThrow(/bad\.yaml: invalid YAML/);
  });
});

describe('dotted overrides', () => {
  it('parses values as YAML scalars', () => {
    expect(parseOverride('train.epochs=2')).toEqual([['train', 'epochs'], 2]);
    expect(parseOverride('model.attention.kind=sigmoid')).toEqual([['model', 'attention', 'kind'], 'sigmoid']);
    expect(parseOverride('a.flag=true')).toEqual([['a', 'flag'], true]);
    expect(parseOverride('a.list=[1, 2]')).toEqual([['a', 'list'], [1, 2]]);
  });

  it('creates nested keys and replaces leaves', () => {
    expect(applyOverrides({ a: { b: 1 } }, ['a.b=5', 'a.c.d=x'])).toEqual({ a: { b: 5, c: { d: 'x' } } });
  });

  it('rejects malformed overrides', () => {
    expect(() => parseOverride('train.epochs')).toThrow(/expected key=value/);
    expect(() => applyOverrides({ a: 1 }, ['a.b=2'])).toThrow(/a holds 1, not an object/);
  });
});

describe('run config validation', () => {
  it('loads the quickstart config with its variants', () => {
    const run = loadRunConfig(join(repoConfigs, 'quickstart.yaml'));
    expect(run.name).toBe('quickstart');
    expect(run.backend).toBe('wasm');
    expect(Object.keys(run.variants)).toEqual(['softmax', 'sigmoid']);
    const sig = variantConfig(run, 'sigmoid');
    expect(sig.model.attention).toMatchObject({ kind: 'sigmoid', bias: 'negLogN', qkNorm: 'layernorm', causal: false });
    expect(variantConfig(run, 'softmax').model.attention).toMatchObject({ kind: 'softmax' });
  });

  it('applies --set overrides before validation', () => {
    const run = loadRunConfig(join(repoConfigs, 'quickstart.yaml'), ['train.epochs=1', 'backend=cpu']);
    expect(run.train.epochs).toBe(1);
    expect(run.backend).toBe('cpu');
  });

  it('names the key, the expected type and the value found', () => {
    const path = join(repoConfigs, 'quickstart.yaml');
    expect(() => loadRunConfig(path, ['train.epochs=three'])).toThrow(
      'config key train.epochs: expected a positive integer, found "three" (string)',
    );
    expect(() => loadRunConfig(path, ['train.lr=-1'])).toThrow(/config key train\.lr: expected a number > 0, found -1 \(number\)/);
    expect(() => loadRunConfig(path, ['backend=cuda'])).toThrow(/config key backend: expected one of "wasm", "cpu", "webgpu", found "cuda"/);
    // The model section is validated by the model zoo, with the same key / expected / found form.
    expect(() => loadRunConfig(path, ['model.attention.kind=relu'])).toThrow(/config key model\.attention\.kind: expected 'softmax' \| 'sigmoid', found "relu"/);
    expect(() => loadRunConfig(path, ['model.depth=0'])).toThrow(/config key model\.depth: expected .*, found 0/);
  });

  it('rejects unknown keys with a suggestion', () => {
    expect(() => loadRunConfig(join(repoConfigs, 'quickstart.yaml'), ['train.epoch=2'])).toThrow(
      /config key train\.epoch: unknown key \(did you mean train\.epochs\?\)/,
    );
  });

  it('reports a missing required key', () => {
    const dir = tempConfigs({ 'c.yaml': `extends: ${join(repoConfigs, 'base.yaml')}\ntrain: { epochs: null }\n` });
    expect(() => loadRunConfig(join(dir, 'c.yaml'))).toThrow(/train\.epochs: expected a positive integer, found null/);
  });

  it('validates variant overrides too', () => {
    const run = loadRunConfig(join(repoConfigs, 'quickstart.yaml'), ['variants.bad.model.depth=0']);
    expect(() => variantConfig(run, 'bad')).toThrow(/variant bad: config key model\.depth: expected .*, found 0/);
    expect(() => variantConfig(run, 'nope')).toThrow(ConfigError);
  });
});
