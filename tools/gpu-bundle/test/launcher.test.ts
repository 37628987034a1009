/**
 * The launcher's logic on a tiny fake bundle: the archive is real (tar.xz written by archive.ts, a real
 * .deb when dpkg-deb exists), but bin/node is a shell script that prints its arguments and environment.
 * This checks unpack-once, the private prefix, VK_DRIVER_FILES / EGL discovery, default args and errors
 * in about a second, without building the 30 MB bundle.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '@sigattn/common';
import { writeTarXz } from '../archive.js';
import { ARCHIVE_TOP, readLauncherTemplate, renderLauncher, writeEntryFiles } from '../launcher.js';

const hasDpkgDeb = spawnSync('dpkg-deb', ['--version'], { stdio: 'ignore' }).status === 0;
const rand = (): string => randomBytes(4).toString('hex');

const FAKE_NODE = `#!/bin/sh
[ "$1" = -e ] && exit 0
for a in "$@"; do printf 'ARG=%s\\n' "$a"; done
printf 'VK=%s\\nEGL=%s\\nLD=%s\\nASSETS=%s\\n' "$VK_DRIVER_FILES" "$__EGL_VENDOR_LIBRARY_FILENAMES" "$LD_LIBRARY_PATH" "$SIGATTN_ASSETS"
`;

let dir: string;
let launcher: string;
let icdDir: string;
let eglDir: string;
let drvLib: string;
const defaultArg = `--seed=${rand()}`;
const libName = `libfake${rand()}.so.1`;

/** Runs the launcher with a controlled environment; the driver search folders point into the temp dir. */
function run(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', [launcher, ...args], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      SIGATTN_ICD_DIRS: `${join(dir, 'none')} ${icdDir}`,
      SIGATTN_EGL_DIRS: eglDir,
      SIGATTN_DRIVER_LIB_DIRS: drvLib,
      ...env,
    },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const field = (out: string, key: string): string[] =>
  out.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gpu-bundle-test-'));
  const staging = join(dir, 'staging');
  const root = join(staging, ARCHIVE_TOP);
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'app'), { recursive: true });
  mkdirSync(join(root, 'debs'), { recursive: true });
  mkdirSync(join(root, 'assets/configs'), { recursive: true });
  writeFileSync(join(root, 'bin/node'), FAKE_NODE);
  chmodSync(join(root, 'bin/node'), 0o755);
  writeFileSync(join(root, 'app/demo.mjs'), '');
  writeFileSync(join(root, 'app/other.mjs'), '');
  writeEntryFiles(join(root, 'app'), [
    { name: 'demo', path: 'x.ts', args: [defaultArg, '@assets/configs/a.yaml'], description: 'demo entry' },
    { name: 'other', path: 'y.ts', args: [], description: 'other entry' },
  ]);
  if (hasDpkgDeb) {
    const pkg = join(dir, 'pkg');
    mkdirSync(join(pkg, 'DEBIAN'), { recursive: true });
    mkdirSync(join(pkg, 'usr/lib/x86_64-linux-gnu'), { recursive: true });
    writeFileSync(join(pkg, 'DEBIAN/control'), 'Package: libfake\nVersion: 1.0\nArchitecture: amd64\nMaintainer: t <t@t>\nDescription: test\n');
    writeFileSync(join(pkg, 'usr/lib/x86_64-linux-gnu', libName), 'x');
    const b = spawnSync('dpkg-deb', ['--build', '--root-owner-group', pkg, join(root, 'debs/libfake_1.0_amd64.deb')], { stdio: 'ignore' });
    expect(b.status).toBe(0);
  }
  const out = join(dir, 'dist');
  mkdirSync(out);
  writeTarXz(staging, ARCHIVE_TOP, join(out, 'bundle.tar.xz'), '-0');
  const sha = sha256File(join(out, 'bundle.tar.xz'));
  launcher = join(out, 'run.sh');
  writeFileSync(launcher, renderLauncher(readLauncherTemplate(), { bundleId: `t${rand()}`, archiveName: 'bundle.tar.xz', sha256: sha }));
  chmodSync(launcher, 0o755);
  icdDir = join(dir, `icd-${rand()}`);
  eglDir = join(dir, `egl-${rand()}`);
  drvLib = join(dir, `drv-${rand()}`);
  for (const d of [icdDir, eglDir, drvLib]) mkdirSync(d);
  writeFileSync(join(icdDir, 'nvidia_icd.json'), '{"ICD": {"library_path": "libGLX_nvidia.so.0"}}');
  writeFileSync(join(eglDir, '10_nvidia.json'), '{}');
});

afterAll(() => {
  spawnSync('rm', ['-rf', dir]);
});

describe('run.sh', () => {
  it('unpacks once, runs the entry with its default args and sets the driver environment', () => {
    const first = run(['demo']);
    expect(first.stderr).toContain('unpacking bundle.tar.xz');
    expect(first.status).toBe(0);
    const assets = field(first.stdout, 'ASSETS')[0];
    expect(assets).toMatch(/\/\.sigattn-gpu-cache\/t[0-9a-f]{8}\/assets$/);
    const args = field(first.stdout, 'ARG');
    expect(args[0]).toMatch(/\/app\/demo\.mjs$/);
    expect(args.slice(1)).toEqual([defaultArg, `${assets}/configs/a.yaml`]);
    expect(field(first.stdout, 'VK')).toEqual([join(icdDir, 'nvidia_icd.json')]);
    expect(field(first.stdout, 'EGL')).toEqual([join(eglDir, '10_nvidia.json')]);
    const ld = field(first.stdout, 'LD')[0].split(':');
    expect(ld[0]).toMatch(/\/prefix\/usr\/lib\/x86_64-linux-gnu$/);
    expect(ld).toContain(drvLib);
    if (hasDpkgDeb) expect(existsSync(join(ld[0], libName))).toBe(true);

    const second = run(['demo', 'given']);
    expect(second.status).toBe(0);
    expect(second.stderr).not.toContain('unpacking');
    expect(field(second.stdout, 'ARG').slice(1)).toEqual(['given']);
  });

  it('keeps a VK_DRIVER_FILES the user set, and says so when no ICD is found', () => {
    const mine = join(dir, `mine-${rand()}.json`);
    expect(field(run(['demo'], { VK_DRIVER_FILES: mine }).stdout, 'VK')).toEqual([mine]);
    const none = run(['demo'], { SIGATTN_ICD_DIRS: join(dir, 'none') });
    expect(none.status).toBe(0);
    expect(field(none.stdout, 'VK')).toEqual(['']);
    expect(none.stderr).toContain('no nvidia_icd.json under');
  });

  it('keeps the caller\'s LD_LIBRARY_PATH after the private prefix, without repeating driver folders', () => {
    const own = join(dir, `own-${rand()}`);
    const ld = field(run(['demo'], { LD_LIBRARY_PATH: `${drvLib}:${own}` }).stdout, 'LD')[0].split(':');
    expect(ld[0]).toMatch(/\/prefix\/usr\/lib\/x86_64-linux-gnu$/);
    expect(ld.slice(1)).toEqual([drvLib, own]);
  });

  it('--env prints export lines and --list the entries', () => {
    const env = run(['--env']);
    expect(env.status).toBe(0);
    expect(env.stdout).toContain(`export VK_DRIVER_FILES=${join(icdDir, 'nvidia_icd.json')}`);
    expect(env.stdout).toMatch(/^export SIGATTN_NODE=.*\/bin\/node$/m);
    const list = run(['--list']);
    expect(list.stdout).toMatch(/^demo +demo entry$/m);
    expect(list.stdout).toMatch(/^other +other entry$/m);
  });

  it('fails clearly: unknown entry, unsafe entry name, no arguments', () => {
    const unknown = run([`nope${rand()}`]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/no entry 'nope[0-9a-f]+' in this bundle; it has: demo other/);
    expect(run(['../bin/node']).status).toBe(2);
    const bare = run([]);
    expect(bare.status).toBe(2);
    expect(bare.stderr).toContain('usage: run.sh <entry>');
  });

  it('refuses an archive from another build (sha256 mismatch) and a missing archive', () => {
    const bad = run(['demo'], { SIGATTN_CACHE: join(dir, `c-${rand()}`), SIGATTN_ARCHIVE: launcher });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/has sha256 [0-9a-f]{64}, but this run\.sh was built for/);
    const missing = run(['demo'], { SIGATTN_CACHE: join(dir, `c-${rand()}`), SIGATTN_ARCHIVE: join(dir, 'gone.tar.xz') });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('bundle archive not found');
  });

  it('renderLauncher fills every placeholder and rejects unsafe values', () => {
    const t = readLauncherTemplate();
    const out = renderLauncher(t, { bundleId: 'abc', archiveName: 'a.tar.xz', sha256: 'f'.repeat(64) });
    expect(out).toContain("BUNDLE_ID='abc'");
    expect(out).not.toMatch(/'@[A-Z0-9_]+@'/);
    expect(() => renderLauncher(t, { bundleId: "a'b", archiveName: 'a', sha256: 'f' })).toThrow(/bundleId/);
  });
});
