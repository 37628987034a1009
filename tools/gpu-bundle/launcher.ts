/**
 * The launcher side of the bundle layout: run.sh (a template filled in per build) and the small text files
 * it reads, so the launcher needs nothing but bash and coreutils on the GPU host (no node, no jq).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BundleEntry } from './manifest.js';

export const LAUNCHER_TEMPLATE = join(dirname(fileURLToPath(import.meta.url)), 'run.sh');

/** Folder at the top of the archive; run.sh checks for sigattn-gpu/bin/node inside it. */
export const ARCHIVE_TOP = 'sigattn-gpu';

export interface LauncherValues {
  /** Cache sub-folder name: a new build unpacks into a new folder, an old one is reused as is. */
  bundleId: string;
  archiveName: string;
  sha256: string;
}

/** Fills the @…@ placeholders of run.sh. Values go inside single quotes, so they are checked to be plain. */
export function renderLauncher(template: string, v: LauncherValues): string {
  const plain = /^[A-Za-z0-9._-]+$/;
  for (const [k, val] of Object.entries(v)) {
    if (!plain.test(val)) throw new Error(`renderLauncher: ${k} must match ${plain}, found ${JSON.stringify(val)}`);
  }
  const out = template
    .replace("BUNDLE_ID='@BUNDLE_ID@'", `BUNDLE_ID='${v.bundleId}'`)
    .replace("ARCHIVE_NAME='@ARCHIVE@'", `ARCHIVE_NAME='${v.archiveName}'`)
    .replace("ARCHIVE_SHA256='@SHA256@'", `ARCHIVE_SHA256='${v.sha256}'`);
  const left = out.match(/'@[A-Z0-9_]+@'/);
  if (left) throw new Error(`renderLauncher: placeholder ${left[0]} was not filled (is ${LAUNCHER_TEMPLATE} in sync with launcher.ts?)`);
  return out;
}

export function readLauncherTemplate(): string {
  return readFileSync(LAUNCHER_TEMPLATE, 'utf8');
}

/**
 * Writes what run.sh reads about the entries into app/: <name>.args (default args, one per line) and
 * ENTRIES (name<TAB>description per line, for --list).
 */
export function writeEntryFiles(appDir: string, entries: BundleEntry[]): void {
  for (const e of entries) writeFileSync(join(appDir, `${e.name}.args`), e.args.map((a) => `${a}\n`).join(''));
  writeFileSync(join(appDir, 'ENTRIES'), entries.map((e) => `${e.name}\t${e.description}\n`).join(''));
}
