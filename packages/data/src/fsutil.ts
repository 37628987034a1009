/** File helpers shared by every loader: atomic writes (temp path, then rename) and checksums. */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { DataError } from './errors.js';

/** A temp name beside `path` (same filesystem, so rename is atomic). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now().toString(36)}`);
}

/** Write a file so readers never see a half-written one: write a temp file beside it, then rename. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Build a whole directory atomically: `build` fills a temp directory, which then replaces `dir`.
 * If `build` throws, the temp directory is removed and any previous `dir` is left untouched.
 */
export async function buildDirAtomic(dir: string, build: (tmpDir: string) => Promise<void> | void): Promise<void> {
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = tempPathFor(dir);
  mkdirSync(tmp, { recursive: true });
  try {
    await build(tmp);
    // rename cannot replace a non-empty directory, so move the old one aside first.
    const old = existsSync(dir) ? tempPathFor(dir) + '-old' : undefined;
    if (old) renameSync(dir, old);
    renameSync(tmp, dir);
    if (old) rmSync(old, { recursive: true, force: true });
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256File(path: string): string {
  return sha256(readFileSync(path));
}

/** Read a file, or throw a DataError naming it and how to make it. */
export function readFileOrThrow(path: string, hint: string): Buffer {
  if (!existsSync(path)) throw new DataError(`${path}: file not found; ${hint}`);
  if (!statSync(path).isFile()) throw new DataError(`${path}: expected a file, found a directory or special file; ${hint}`);
  return readFileSync(path);
}

/** Parse a JSON file, or throw a DataError naming it. */
export function readJsonFile<T>(path: string, hint: string): T {
  const text = readFileOrThrow(path, hint).toString('utf8');
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new DataError(`${path}: expected valid JSON, found a parse error (${(err as Error).message}); ${hint}`);
  }
}
