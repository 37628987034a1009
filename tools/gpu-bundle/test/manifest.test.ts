import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadManifest, ManifestError, parseManifest } from '../manifest.js';
import { missingNativeFiles, NATIVE_PACKAGES } from '../natives.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const ENTRIES = join(REPO, 'tools/gpu-bundle/entries.json');

describe('entries.json', () => {
  it('parses, and its smoke entry exists', () => {
    const m = loadManifest(ENTRIES);
    const smoke = m.entries.find((e) => e.name === 'smoke');
    expect(smoke).toBeDefined();
    expect(existsSync(join(REPO, smoke!.path))).toBe(true);
    // Entries of other packages may not exist yet (the build skips them), but names must be unique files.
    expect(new Set(m.entries.map((e) => e.name)).size).toBe(m.entries.length);
  });

  const good = { entries: { 'bench-x': { path: 'packages/a/bench.ts', args: ['--quick'] } }, assets: ['configs/'] };

  it('normalises a valid manifest', () => {
    const m = parseManifest(good, 'f.json');
    expect(m.entries).toEqual([{ name: 'bench-x', path: 'packages/a/bench.ts', args: ['--quick'], description: '' }]);
    expect(m.assets).toEqual(['configs']);
  });

  const bad: [string, unknown, RegExp][] = [
    ['no entries', { assets: [] }, /"entries" must be an object/],
    ['empty entries', { entries: {} }, /at least one entry/],
    ['unknown top-level key', { ...good, extra: 1 }, /unknown top-level key "extra"/],
    ['name with a slash', { entries: { 'a/b': { path: 'x.ts' } } }, /entry name "a\/b" is not allowed/],
    ['name starting with -', { entries: { '--list': { path: 'x.ts' } } }, /entry name "--list"/],
    ['path escaping the repo', { entries: { a: { path: '../x.ts' } } }, /entries\.a\.path must be relative to the repo root/],
    ['absolute path', { entries: { a: { path: '/x.ts' } } }, /entries\.a\.path must be relative/],
    ['not a script', { entries: { a: { path: 'x.yaml' } } }, /entries\.a\.path must be a \.ts/],
    ['args not strings', { entries: { a: { path: 'x.ts', args: [1] } } }, /entries\.a\.args must be an array of single-line strings, found \[1\]/],
    ['arg with newline', { entries: { a: { path: 'x.ts', args: ['a\nb'] } } }, /entries\.a\.args/],
    ['unknown entry key', { entries: { a: { path: 'x.ts', argv: [] } } }, /entries\.a has unknown key "argv"/],
    ['asset escaping', { entries: { a: { path: 'x.ts' } }, assets: ['a/../../b'] }, /assets\[0\] must be relative/],
  ];
  for (const [what, json, message] of bad) {
    it(`rejects ${what}, naming the file and key`, () => {
      expect(() => parseManifest(json, 'my-entries.json')).toThrow(ManifestError);
      expect(() => parseManifest(json, 'my-entries.json')).toThrow(/^my-entries\.json: /);
      expect(() => parseManifest(json, 'my-entries.json')).toThrow(message);
    });
  }
});

describe('native addon packages', () => {
  it('every file the bundle copies is installed (a version bump that moves one fails here)', () => {
    expect(NATIVE_PACKAGES.map((p) => p.name)).toContain('webgpu');
    expect(missingNativeFiles(REPO)).toEqual([]);
  });
});
