import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, applyOverrides, deepMerge, loadConfigTree, loadPlan, parseOverride, selectUnits, unitConfig } from '../src/index.js';
import { REPO_CONFIGS, tempDirs, writeFiles } from './fixtures.js';

const temps = tempDirs();
afterAll(temps.cleanup);

describe('config merge', () => {
  it('deep-merges objects, later wins, lists are replaced', () => {
    expect(deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, e: 2 })).toEqual({ a: { b: 1, c: [3] }, d: 1, e: 2 });
  });

  it('a section with use: replaces what it inherits instead of merging into it', () => {
    expect(deepMerge({ model: { name: 'vit', patchSize: 7 } }, { model: { use: 'lm-tiny', depth: 1 } })).toEqual({ model: { use: 'lm-tiny', depth: 1 } });
  });

  it('resolves extends chains relative to the file', () => {
    const dir = writeFiles(temps.make(), {
      'a.yaml': 'x: 1\nnested: { p: 1, q: 2 }\n',
      'b.yaml': 'extends: a.yaml\nnested: { q: 3 }\ny: 2\n',
      'c.yaml': 'extends: b.yaml\ny: 4\n',
    });
    expect(loadConfigTree(join(dir, 'c.yaml'))).toEqual({ x: 1, nested: { p: 1, q: 3 }, y: 4 });
  });

  it('rejects extends cycles and invalid YAML, naming the files', () => {
    const dir = writeFiles(temps.make(), { 'a.yaml': 'extends: b.yaml\n', 'b.yaml': 'extends: a.yaml\n', 'bad.yaml': 'a: [1, 2\n' });
    expect(() => loadConfigTree(join(dir, 'a.yaml'))).toThrow(/extends cycle: .*a\.yaml → .*b\.yaml → .*a\.yaml/);
    expect(() => loadConfigTree(join(dir, 'bad.yaml'))).toThrow(/bad\.yaml: invalid YAML/);
  });
});

describe('dotted overrides', () => {
  it('parses values as YAML scalars and creates nested keys', () => {
    expect(parseOverride('train.epochs=2')).toEqual([['train', 'epochs'], 2]);
    expect(parseOverride('a.list=[1, 2]')).toEqual([['a', 'list'], [1, 2]]);
    expect(applyOverrides({ a: { b: 1 } }, ['a.b=5', 'a.c.d=x'])).toEqual({ a: { b: 5, c: { d: 'x' } } });
  });

  it('rejects malformed overrides', () => {
    expect(() => parseOverride('epochs')).toThrow(ConfigError);
    expect(() => parseOverride('=3')).toThrow(/expected key=value/);
    expect(() => applyOverrides({ a: 1 }, ['a.b=2'])).toThrow(/a holds 1, not an object/);
  });

  it('model=<file> swaps the model group, as Hydra does', () => {
    expect(applyOverrides({ model: { name: 'vit', dim: 8 } }, ['model=lm-tiny'])).toEqual({ model: { use: 'lm-tiny' } });
  });
});

describe('experiment plans and unit configs', () => {
  const quickstart = join(REPO_CONFIGS, 'quickstart.yaml');

  it('gives both quickstart variants the same stabiliser, so only the attention kind differs', () => {
    const plan = loadPlan(quickstart);
    expect(plan.variants).toEqual(['softmax', 'sigmoid']);
    expect(plan.seeds).toEqual([0]);
    const [soft, sig] = plan.variants.map((v) => unitConfig(plan, { variant: v, seed: 0 }, null));
    expect(soft.model.attention).toMatchObject({ kind: 'softmax', qkNorm: 'layernorm' });
    expect(sig.model.attention).toMatchObject({ kind: 'sigmoid', qkNorm: 'layernorm' });
    const { attention: _a, ...softRest } = soft.model;
    const { attention: _b, ...sigRest } = sig.model;
    expect(sigRest).toEqual(softRest);
  });

  it('crosses variants with seeds, and selects by --variant / --seed', () => {
    const plan = loadPlan(quickstart, ['seeds=[0, 1, 2]']);
    expect(selectUnits(plan)).toHaveLength(6);
    expect(selectUnits(plan, ['sigmoid'], [1, 2])).toEqual([{ variant: 'sigmoid', seed: 1 }, { variant: 'sigmoid', seed: 2 }]);
    expect(() => selectUnits(plan, ['relu'])).toThrow(/--variant relu: .* defines softmax, sigmoid/);
    expect(() => selectUnits(plan, undefined, [7])).toThrow(/--seed 7: .* runs seeds 0, 1, 2/);
    expect(unitConfig(plan, { variant: 'softmax', seed: 2 }, null).seed).toBe(2);
  });

  it('model: { use } reads configs/models and the rest overrides it; no ViT key leaks in', () => {
    const dir = writeFiles(temps.make(), {
      'exp.yaml': `extends: ${join(REPO_CONFIGS, 'base.yaml')}\nname: t\nmodel: { use: vit-tiny, depth: 1 }\n`,
    });
    const cfg = unitConfig(loadPlan(join(dir, 'exp.yaml')), { variant: 'default', seed: 0 }, null);
    expect(cfg.model).toMatchObject({ name: 'vit', depth: 1, layerScale: 1e-4, attention: { kind: 'sigmoid', qkNorm: 'layernorm' } });
  });

  it('an unknown group file is named with the choices and a suggestion', () => {
    const dir = writeFiles(temps.make(), { 'exp.yaml': `extends: ${join(REPO_CONFIGS, 'base.yaml')}\nname: t\nmodel: vit-tiyn\n` });
    expect(() => unitConfig(loadPlan(join(dir, 'exp.yaml')), { variant: 'default', seed: 0 }, null)).toThrow(/model\.use: .*found "vit-tiyn" \(did you mean vit-tiny\?\)/);
  });

  it('stages merge over the experiment, then the variant applies to each stage', () => {
    const dir = writeFiles(temps.make(), {
      'exp.yaml': [
        `extends: ${join(REPO_CONFIGS, 'base.yaml')}`,
        'name: staged',
        'variants: { sig: { model.attention.kind: sigmoid } }',
        'stages:',
        '  first: { train: { epochs: 1 } }',
        '  second: { train: { epochs: 2, lr: 0.01 }, init: { from: first } }',
      ].join('\n'),
    });
    const plan = loadPlan(join(dir, 'exp.yaml'));
    expect(plan.stages).toEqual(['first', 'second']);
    const second = unitConfig(plan, { variant: 'sig', seed: 0 }, 'second');
    expect(second.train).toMatchObject({ epochs: 2, lr: 0.01, batchSize: 128 });
    expect(second.init.from).toBe('first');
    expect(second.model.attention).toMatchObject({ kind: 'sigmoid' });
  });

  it('a model the task does not train is named with the task and its models, before any data loads', () => {
    const plan = loadPlan(quickstart, ['model.name=lm']);
    expect(() => unitConfig(plan, { variant: 'softmax', seed: 0 }, null)).toThrow(/model\.name: the classify task trains vit, found "lm"/);
  });

  it('names the key, the expected type and the value found; unknown keys get a suggestion', () => {
    expect(() => unitConfig(loadPlan(quickstart, ['train.epochs=three']), { variant: 'softmax', seed: 0 }, null)).toThrow(
      /quickstart\.yaml \[softmax seed 0\]: config key train\.epochs: expected a positive integer, found "three" \(string\)/,
    );
    expect(() => unitConfig(loadPlan(quickstart, ['train.epohcs=3']), { variant: 'softmax', seed: 0 }, null)).toThrow(/train\.epohcs: unknown key \(did you mean train\.epochs\?\)/);
    expect(() => unitConfig(loadPlan(quickstart, ['task=clasify']), { variant: 'softmax', seed: 0 }, null)).toThrow(/task: expected one of .*found "clasify" \(did you mean classify\?\)/);
  });

  it('validates each task-owned data key', () => {
    expect(() => unitConfig(loadPlan(quickstart, ['data.trainLimit=-1']), { variant: 'softmax', seed: 0 }, null)).toThrow(/data\.trainLimit: expected an integer ≥ 0/);
    expect(() => unitConfig(loadPlan(quickstart, ['data.tarinLimit=1']), { variant: 'softmax', seed: 0 }, null)).toThrow(/data\.tarinLimit: unknown key/);
  });

  it('finds configs/models from a config anywhere that extends base.yaml', () => {
    const dir = temps.make();
    mkdirSync(join(dir, 'deep'));
    writeFiles(join(dir, 'deep'), { 'exp.yaml': `extends: ${join(REPO_CONFIGS, 'base.yaml')}\nname: t\nmodel: vit-tiny\n` });
    expect(unitConfig(loadPlan(join(dir, 'deep', 'exp.yaml')), { variant: 'default', seed: 0 }, null).model.name).toBe('vit');
  });
});
