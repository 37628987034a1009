/** File helpers: atomic writes (via write-file-atomic: temp file, fsync, rename) and checksums. */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import writeFileAtomicLib from 'write-file-atomic';

/** Write a file so readers never see a half-written one; creates the parent directory. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomicLib.sync(path, typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

/** A temp name beside `path` (same filesystem, so a rename onto `path` is atomic). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now().toString(36)}`);
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
    const old = existsSync(dir) ? `${tempPathFor(dir)}-old` : undefined;
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

/**
 * A fresh directory under the OS temp dir, removed by the returned `remove()` (tests call it in
 * afterEach/afterAll so a test run leaves nothing behind).
 */
export function makeTempDir(prefix = 'sigattn-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
