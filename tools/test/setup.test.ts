/**
 * tools/setup.sh decisions, run against fake `dpkg-query` answers in a PATH that has no apt-get, so
 * nothing is installed and the tests run in CI as they do anywhere.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '@sigattn/common';

const setup = join(import.meta.dirname, '..', 'setup.sh');
const TOOLS = ['bash', 'node', 'awk', 'sha256sum', 'cut', 'cat', 'dirname', 'id', 'grep', 'tee', 'env'];

const temps: { remove: () => void }[] = [];
afterAll(() => {
  for (const t of temps.splice(0)) t.remove();
});
function tempDir(prefix: string): string {
  const t = makeTempDir(prefix);
  temps.push(t);
  return t.path;
}

/**
 * A PATH with the basic tools and a fake dpkg-query that reports `installed` (name → version); `fakes`
 * adds or replaces commands with shell scripts (e.g. an `id` that says the user is not root).
 */
function fakePath(installed: Record<string, string>, fakes: Record<string, string> = {}): string {
  const bin = tempDir('sigattn-setup-');
  for (const tool of TOOLS.filter((t) => !(t in fakes))) {
    const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (found) symlinkSync(found, join(bin, tool));
  }
  const lines = Object.entries(installed).map(([name, v]) => `  ${name}) echo "install ok installed ${v}"; exit 0;;`);
  writeFileSync(join(bin, 'dpkg-query'), `#!/bin/bash\ncase "\${@: -1}" in\n${lines.join('\n')}\n  *) exit 1;;\nesac\n`);
  chmodSync(join(bin, 'dpkg-query'), 0o755);
  for (const [name, script] of Object.entries(fakes)) {
    writeFileSync(join(bin, name), `#!/bin/bash\n${script}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  return bin;
}

const ALL = {
  'mesa-vulkan-drivers': '25.0.7-2~bpo12+1', libvulkan1: '1.3.239.0-1', 'dataset-fashion-mnist': '0.0-1', 'espeak-ng': '1.51',
  'libespeak-ng1': '1.51', sox: '14.4', 'bible-kjv-text': '4.38', 'bible-kjv': '4.38',
};

/** A throw-away repo root holding a copy of setup.sh, a lockfile and (optionally) the install stamp. */
function fakeRepo(stamp: 'matching' | 'stale'): string {
  const root = tempDir('sigattn-repo-');
  mkdirSync(join(root, 'tools'));
  mkdirSync(join(root, 'node_modules'));
  copyFileSync(setup, join(root, 'tools', 'setup.sh'));
  const lock = '{"lockfileVersion": 3}\n';
  writeFileSync(join(root, 'package-lock.json'), lock);
  const hash = createHash('sha256').update(lock).digest('hex');
  writeFileSync(join(root, 'node_modules', '.sigattn-lock-sha256'), stamp === 'matching' ? `${hash}\n` : 'old\n');
  return join(root, 'tools', 'setup.sh');
}

function run(installed: Record<string, string>, args: string[] = [], script = setup, fakes: Record<string, string> = {}) {
  const r = spawnSync('bash', [script, ...args], { env: { PATH: fakePath(installed, fakes), HOME: tempDir('sigattn-home-') }, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('tools/setup.sh', () => {
  it('without apt-get, names what is missing and how to get it, and exits non-zero', () => {
    const { 'espeak-ng': _e, 'bible-kjv-text': _b, ...some } = ALL;
    const r = run(some);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/missing: espeak-ng bible-kjv-text/);
    expect(r.out).toMatch(/apt-get is not available, so these cannot be installed: espeak-ng bible-kjv-text/);
  });

  it('as a user without sudo, says who must install what (no sudo command it cannot run)', () => {
    const { sox: _s, ...some } = ALL;
    const r = run(some, [], setup, { id: 'echo 1000', 'apt-get': 'exit 1' });
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/not root and sudo is not installed, so these cannot be installed: sox\.\nHave root run: apt-get install sox/);
    expect(r.out).not.toMatch(/sudo tools\/setup\.sh/);
  });

  it('treats Mesa older than 25 as missing (lavapipe 22.3 gives Dawn no adapter)', () => {
    const r = run({ ...ALL, 'mesa-vulkan-drivers': '22.3.6-1+deb12u2' });
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/missing: mesa-vulkan-drivers/);
  });

  it('a second run with everything in place installs nothing and skips npm ci', () => {
    const r = run(ALL, [], fakeRepo('matching'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/all present: mesa-vulkan-drivers/);
    expect(r.out).toMatch(/node_modules matches package-lock\.json \(skipping npm ci\)/);
    expect(r.out).toMatch(/setup complete/);
  });

  it('--check fails when node_modules does not match the lockfile', () => {
    const r = run(ALL, ['--check'], fakeRepo('stale'));
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/node_modules is missing or stale: run tools\/setup\.sh/);
  });
});
