import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '@sigattn/common';
import { createNodesV2, experimentNodes, readConfigChain } from '../plugin.js';

let workspace: { path: string; remove: () => void };

function write(path: string, text: string): void {
  const abs = join(workspace.path, path);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, text);
}

const context = () => ({ workspaceRoot: workspace.path, nxJsonConfiguration: {} });
const run = async (files: string[]) => createNodesV2[1](files, undefined, context());

beforeEach(() => {
  workspace = makeTempDir('sigattn-plugin-');
  write('configs/base.yaml', 'name: base\noutput: results\nseed: 0\n');
  write('configs/models/vit-tiny.yaml', 'name: vit\ndim: 64\n');
  write('configs/probe-base.yaml', 'extends: base.yaml\ntrain: { epochs: 1 }\n');
  write('configs/experiments/mae-probe.yaml', 'extends: ../probe-base.yaml\nname: mae-probe\nmodel: vit-tiny\n');
  write('configs/experiments/lm.yaml', 'extends: [../base.yaml]\nname: lm\noutput: out/runs\n');
});
afterEach(() => workspace.remove());

describe('experiments nx plugin', () => {
  it('globs configs/experiments/*.yaml only', () => {
    expect(createNodesV2[0]).toBe('configs/experiments/*.yaml');
  });

  it('makes one project "experiments" with a run and a config target per file', async () => {
    const results = await run(['configs/experiments/mae-probe.yaml', 'configs/experiments/lm.yaml']);
    expect(results.map(([file]) => file)).toEqual(['configs/experiments/mae-probe.yaml', 'configs/experiments/lm.yaml']);
    const targets: Record<string, Record<string, unknown>> = {};
    for (const [, result] of results) {
      expect(Object.keys(result.projects ?? {})).toEqual(['experiments']);
      expect(result.projects?.experiments.name).toBe('experiments');
      Object.assign(targets, result.projects?.experiments.targets);
    }
    expect(Object.keys(targets).sort()).toEqual(['config-lm', 'config-mae-probe', 'lm', 'mae-probe']);

    const probe = targets['mae-probe'];
    expect(probe.options).toEqual({ command: 'tsx packages/training-runner/src/main.ts run configs/experiments/mae-probe.yaml', cwd: '{workspaceRoot}' });
    expect(probe.cache).toBe(true);
    // The config, then everything it extends (transitively), the model group files and the code.
    expect(probe.inputs).toEqual([
      '{workspaceRoot}/configs/experiments/mae-probe.yaml',
      '{workspaceRoot}/configs/base.yaml',
      '{workspaceRoot}/configs/probe-base.yaml',
      '{workspaceRoot}/configs/models/**/*',
      '{workspaceRoot}/packages/*/src/**/*',
      '{workspaceRoot}/packages/*/package.json',
      '{workspaceRoot}/package-lock.json',
    ]);
    expect(probe.outputs).toEqual(['{workspaceRoot}/results/mae-probe']);

    expect(targets.lm.outputs).toEqual(['{workspaceRoot}/out/runs/lm']);
    expect(targets['config-lm'].options).toEqual({ command: 'tsx packages/training-runner/src/main.ts config configs/experiments/lm.yaml', cwd: '{workspaceRoot}' });
    expect(targets['config-lm'].cache).toBe(false);
    expect(targets['config-lm'].outputs).toBeUndefined();
  });

  it('lists a file extended twice once', () => {
    write('configs/experiments/both.yaml', 'extends: [../base.yaml, ../probe-base.yaml]\nname: both\n');
    expect(readConfigChain(workspace.path, 'configs/experiments/both.yaml').files).toEqual([
      'configs/experiments/both.yaml',
      'configs/base.yaml',
      'configs/probe-base.yaml',
    ]);
  });

  it('takes name and output from the chain, later files winning', () => {
    const facts = readConfigChain(workspace.path, 'configs/experiments/lm.yaml');
    expect(facts.name).toBe('lm');
    expect(facts.output).toBe('out/runs');
  });

  it('rejects a file name that cannot be a target name, naming the file and the fix', async () => {
    write('configs/experiments/MAE probe.yaml', 'extends: ../base.yaml\nname: MAE probe\n');
    // nx gets every file's error at once, plus the targets of the good files.
    const err = (await run(['configs/experiments/MAE probe.yaml', 'configs/experiments/lm.yaml']).then(
      () => expect.unreachable('a bad file name must fail'),
      (e: unknown) => e,
    )) as { errors: [string, Error][]; partialResults: [string, unknown][] };
    expect(err.errors.map(([file]) => file)).toEqual(['configs/experiments/MAE probe.yaml']);
    expect(err.errors[0][1].message).toMatch(/^configs\/experiments\/MAE probe\.yaml: "MAE probe" cannot be an experiment name: use lower-case letters.*rename the file$/);
    expect(err.partialResults.map(([file]) => file)).toEqual(['configs/experiments/lm.yaml']);
    expect(() => experimentNodes('configs/experiments/a_b.yaml', workspace.path)).toThrow(/"a_b" cannot be an experiment name/);
    expect(() => experimentNodes('configs/experiments/config-x.yaml', workspace.path)).toThrow(/may not start with "config-"/);
  });

  it('rejects a name key that differs from the file name (results/<name> is what nx caches)', () => {
    write('configs/experiments/asr.yaml', 'extends: ../base.yaml\n');
    expect(() => experimentNodes('configs/experiments/asr.yaml', workspace.path)).toThrow(
      'configs/experiments/asr.yaml: name is "base" but the file is asr.yaml; add `name: asr`',
    );
  });

  it('rejects a target that experiments/project.json already declares', () => {
    write('experiments/project.json', JSON.stringify({ name: 'experiments', targets: { results: {} } }));
    write('configs/experiments/results.yaml', 'extends: ../base.yaml\nname: results\n');
    expect(() => experimentNodes('configs/experiments/results.yaml', workspace.path)).toThrow(
      'configs/experiments/results.yaml: target "results" is already declared in experiments/project.json; rename the config file',
    );
  });

  it('rejects an output outside the workspace, a missing parent and an extends cycle', () => {
    write('configs/experiments/far.yaml', 'extends: ../base.yaml\nname: far\noutput: /tmp/elsewhere\n');
    expect(() => experimentNodes('configs/experiments/far.yaml', workspace.path)).toThrow(/far\.yaml: output is "\/tmp\/elsewhere"; .* inside the workspace/);
    write('configs/experiments/orphan.yaml', 'extends: ../nope.yaml\nname: orphan\n');
    expect(() => experimentNodes('configs/experiments/orphan.yaml', workspace.path)).toThrow('configs/nope.yaml: file not found');
    write('configs/experiments/loop.yaml', 'extends: loop.yaml\nname: loop\n');
    expect(() => experimentNodes('configs/experiments/loop.yaml', workspace.path)).toThrow(/loop\.yaml: extends cycle/);
  });

  it('loads through the nx entry index.mjs', async () => {
    // A computed specifier: the .mjs entry has no type declarations of its own.
    const entryUrl = new URL('../index.mjs', import.meta.url).href;
    const entry = (await import(entryUrl)) as { createNodesV2: typeof createNodesV2 };
    expect(entry.createNodesV2[0]).toBe(createNodesV2[0]);
    const [[, result]] = await entry.createNodesV2[1](['configs/experiments/lm.yaml'], undefined, context());
    expect(Object.keys(result.projects?.experiments.targets ?? {})).toEqual(['lm', 'config-lm']);
  });
});
