/**
 * tools/gpu-bundle/entries.json: which programs go into the GPU bundle. Parsed strictly, because a typo
 * here otherwise shows up only on an air-gapped GPU host, where fixing it means another build and copy.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '@sigattn/common';

export interface BundleEntry {
  /** Name used on the GPU host: `run.sh <name>`; also the bundle file app/<name>.mjs. */
  name: string;
  /** Repo-relative TypeScript (or JS) entry point. */
  path: string;
  /** Arguments used when `run.sh <name>` gets none; any given arguments replace them. */
  args: string[];
  description: string;
}

export interface BundleManifest {
  entries: BundleEntry[];
  /** Repo-relative files or folders copied to $SIGATTN_ASSETS/<same path>. */
  assets: string[];
}

/** A mistake in the entries file: a ConfigError, so the build CLI reports it as one line. */
export class ManifestError extends ConfigError {
  override name = 'ManifestError';
}

/** Entry names become file names and launcher arguments, so no '/', no leading '-' or '.'. */
export const ENTRY_NAME = /^[a-z0-9][a-z0-9._-]*$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

/** A repo-relative path that cannot escape the repo (the bundle copies what it names). */
function checkRepoPath(file: string, key: string, value: unknown, fix: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new ManifestError(`${file}: ${key} must be a non-empty string, found ${show(value)}; ${fix}`);
  }
  if (value.startsWith('/') || value.split(/[\\/]/).includes('..')) {
    throw new ManifestError(`${file}: ${key} must be relative to the repo root without '..', found ${show(value)}; ${fix}`);
  }
  return value.replace(/\/+$/, '');
}

/** Validates the parsed JSON of an entries file; `file` only names it in errors. */
export function parseManifest(json: unknown, file: string): BundleManifest {
  if (!isObject(json)) throw new ManifestError(`${file}: expected a JSON object with "entries", found ${show(json)}`);
  for (const key of Object.keys(json)) {
    if (!['$comment', 'entries', 'assets'].includes(key)) {
      throw new ManifestError(`${file}: unknown top-level key ${show(key)}; expected "entries", "assets" or "$comment"`);
    }
  }
  if (!isObject(json.entries) || Object.keys(json.entries).length === 0) {
    throw new ManifestError(`${file}: "entries" must be an object of name -> { "path": ..., "args": [...] } with at least one entry, found ${show(json.entries)}`);
  }
  const entries: BundleEntry[] = [];
  for (const [name, raw] of Object.entries(json.entries)) {
    const at = `entries.${name}`;
    if (!ENTRY_NAME.test(name)) {
      throw new ManifestError(`${file}: entry name ${show(name)} is not allowed: expected lower-case letters, digits, '.', '_' or '-', not starting with '-' or '.' (e.g. "bench-webgpu")`);
    }
    if (!isObject(raw)) throw new ManifestError(`${file}: ${at} must be an object { "path": "...", "args": [...] }, found ${show(raw)}`);
    for (const key of Object.keys(raw)) {
      if (!['path', 'args', 'description'].includes(key)) {
        throw new ManifestError(`${file}: ${at} has unknown key ${show(key)}; expected "path", "args" or "description"`);
      }
    }
    const path = checkRepoPath(file, `${at}.path`, raw.path, 'e.g. "packages/kernel-core/bench/webgpu.ts"');
    if (!/\.(ts|mts|js|mjs)$/.test(path)) {
      throw new ManifestError(`${file}: ${at}.path must be a .ts, .mts, .js or .mjs file, found ${show(path)}`);
    }
    const args = raw.args ?? [];
    // The launcher stores default args one per line, so a newline inside one cannot be represented.
    if (!Array.isArray(args) || !args.every((a) => typeof a === 'string' && !a.includes('\n'))) {
      throw new ManifestError(`${file}: ${at}.args must be an array of single-line strings, found ${show(args)}; e.g. ["--quick"]`);
    }
    const description = raw.description ?? '';
    if (typeof description !== 'string' || /[\t\n]/.test(description)) {
      throw new ManifestError(`${file}: ${at}.description must be a one-line string without tabs, found ${show(description)}`);
    }
    entries.push({ name, path, args: args as string[], description });
  }
  const assetsRaw = json.assets ?? [];
  if (!Array.isArray(assetsRaw)) throw new ManifestError(`${file}: "assets" must be an array of repo-relative paths, found ${show(assetsRaw)}`);
  const assets = assetsRaw.map((a, i) => checkRepoPath(file, `assets[${i}]`, a, 'e.g. "packages/kernel-core/cuda/build"'));
  return { entries, assets };
}

export function loadManifest(file: string): BundleManifest {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ManifestError(`${file}: cannot read the bundle entries file: ${(e as Error).message}`);
  }
  return parseManifest(json, file);
}
