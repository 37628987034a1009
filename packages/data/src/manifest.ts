/**
 * File manifests: expected size and sha256 of every file of a dataset, so a truncated, corrupt or different
 * file is caught before training on it. JSON copies live in datasets/manifests/ (a test keeps them in sync).
 * Generated caches (speech, text) carry the same file list in their own manifest.json.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, sha256, sha256File, writeFileAtomic } from '@sigattn/common';
import { readJsonFile } from './fsutil.js';

export interface FileEntry {
  name: string;
  bytes: number;
  sha256: string;
}

export interface FileManifest {
  dataset: string;
  source: string;
  license: string;
  files: FileEntry[];
}

export const FASHION_MNIST_MANIFEST: FileManifest = {
  dataset: 'fashion-mnist',
  source: 'Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist)',
  license: 'MIT (Expat), Zalando SE',
  files: [
    { name: 'train-images-idx3-ubyte.gz', bytes: 26421856, sha256: 'b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7' },
    { name: 'train-labels-idx1-ubyte.gz', bytes: 29491, sha256: '0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056' },
    { name: 't10k-images-idx3-ubyte.gz', bytes: 4422079, sha256: 'cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa' },
    { name: 't10k-labels-idx1-ubyte.gz', bytes: 5125, sha256: '8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05' },
  ],
};

export interface VerifyOptions {
  /** Only check these file names (default: all). */
  only?: readonly string[];
  /** Skip the sha256 (sizes are always checked). */
  sizesOnly?: boolean;
  /** Appended to every error: how to get the right files. */
  hint?: string;
}

/** Check every file of `manifest` in `dir` by size and sha256; throws a DataError on the first mismatch. */
export function verifyFiles(dir: string, manifest: Pick<FileManifest, 'dataset' | 'files'>, opts: VerifyOptions = {}): void {
  const hint = opts.hint ?? 'reinstall the files';
  for (const f of manifest.files) {
    if (opts.only && !opts.only.includes(f.name)) continue;
    const path = join(dir, f.name);
    if (!existsSync(path)) throw new DataError(`${path}: file not found (${manifest.dataset} manifest lists it); ${hint}`);
    const bytes = statSync(path).size;
    if (bytes !== f.bytes) {
      throw new DataError(
        `${path}: expected ${f.bytes} bytes (${manifest.dataset} manifest), found ${bytes}; the file is truncated or a different version; ${hint}`,
      );
    }
    if (opts.sizesOnly) continue;
    const sum = sha256File(path);
    if (sum !== f.sha256) {
      throw new DataError(`${path}: expected sha256 ${f.sha256} (${manifest.dataset} manifest), found ${sum}; the file is corrupt or a different version; ${hint}`);
    }
  }
}

/** Make a manifest for the files of a directory (for users who bring their own data). */
export function manifestFor(dir: string, names: readonly string[], meta: Omit<FileManifest, 'files'>): FileManifest {
  return {
    ...meta,
    files: names.map((name) => {
      const path = join(dir, name);
      if (!existsSync(path)) throw new DataError(`${path}: file not found; cannot add it to the ${meta.dataset} manifest`);
      return { name, bytes: statSync(path).size, sha256: sha256File(path) };
    }),
  };
}

/** The manifest.json of a generated cache directory: who wrote it, from which params, and its files. */
export interface CacheManifest<P> {
  generator: string;
  version: number;
  params: P;
  files: FileEntry[];
  /** sha256 over the files' hashes: equal checksums mean identical caches. */
  checksum: string;
}

/** Writes a cache's files into its (temp) build directory, recording each one's size and sha256. */
export class CacheWriter {
  readonly files: FileEntry[] = [];
  constructor(private readonly dir: string) {}

  write(name: string, data: Uint8Array | string): void {
    writeFileSync(join(this.dir, name), data);
    this.files.push({ name, bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength, sha256: sha256(data) });
  }

  /** sha256 over the files' hashes so far. */
  checksum(): string {
    return sha256(this.files.map((f) => `${f.name}:${f.sha256}`).join('\n'));
  }

  /** Write manifest.json, last: a cache directory that has one is complete. */
  finish<M extends CacheManifest<unknown>>(manifest: M): M {
    writeFileAtomic(join(this.dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
    return manifest;
  }
}

/** Is a complete cache from `generator` `version` with exactly these params at dir? */
export function cacheMatches(dir: string, generator: string, version: number, params: unknown): boolean {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) return false;
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as CacheManifest<unknown>;
    return m.generator === generator && m.version === version && JSON.stringify(m.params) === JSON.stringify(params);
  } catch {
    return false;
  }
}

/**
 * Read a cache's manifest.json and check it: the generator and version, every file's size, and (with
 * `verify`, the default) every file's sha256. `hint` says how to rebuild the cache.
 */
export function readCacheManifest<M extends CacheManifest<unknown>>(dir: string, generator: string, version: number, hint: string, verify = true): M {
  const path = join(dir, 'manifest.json');
  const m = readJsonFile<M>(path, hint);
  if (m.generator !== generator || m.version !== version) {
    throw new DataError(`${path}: expected generator ${generator} version ${version}, found ${m.generator} version ${m.version}; ${hint}`);
  }
  verifyFiles(dir, { dataset: `${generator} cache`, files: m.files }, { sizesOnly: !verify, hint });
  return m;
}
