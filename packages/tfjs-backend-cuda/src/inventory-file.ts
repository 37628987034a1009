/**
 * kernels.json (the committed inventory) and the README's family table: writing, reading, and the
 * differences between a committed inventory and a fresh recording, one line each.
 */
import { ConfigError } from '@sigattn/common';
import type { KernelInventory, KernelUse } from './inventory.js';

export const RECORD_COMMAND = 'npx nx run tfjs-backend-cuda:record-kernels';

/** JSON with one kernel per line, so a diff of kernels.json shows which kernels changed. */
export function formatInventory(inv: KernelInventory): string {
  const section = (uses: Record<string, KernelUse>) => {
    const lines = Object.entries(uses).map(([name, use]) => `    ${JSON.stringify(name)}: ${JSON.stringify(use)}`);
    return lines.length === 0 ? '{}' : `{\n${lines.join(',\n')}\n  }`;
  };
  return [
    '{',
    `  "generatedBy": ${JSON.stringify(RECORD_COMMAND)},`,
    `  "variants": [\n${inv.variants.map((v) => `    ${JSON.stringify(v)}`).join(',\n')}\n  ],`,
    `  "kernels": ${section(inv.kernels)},`,
    `  "custom": ${section(inv.custom)}`,
    '}',
    '',
  ].join('\n');
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

function readSection(where: string, v: unknown): Record<string, KernelUse> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${where}: expected a mapping of kernel name → { dtypes, usedBy }; regenerate it with ${RECORD_COMMAND}`);
  for (const [name, use] of Object.entries(v)) {
    const u = use as Partial<KernelUse> | null;
    if (u === null || typeof u !== 'object' || !isStringArray(u.dtypes) || !isStringArray(u.usedBy)) {
      throw new ConfigError(`${where}.${name}: expected { dtypes: string[], usedBy: string[] }, found ${JSON.stringify(use)}; regenerate it with ${RECORD_COMMAND}`);
    }
  }
  return v as Record<string, KernelUse>;
}

/** Parse kernels.json; a malformed file is a one-line ConfigError naming `path`. */
export function parseInventory(text: string, path: string): KernelInventory {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${path}: not valid JSON (${(err as Error).message}); regenerate it with ${RECORD_COMMAND}`);
  }
  const r = raw as Partial<Record<keyof KernelInventory, unknown>> | null;
  if (r === null || typeof r !== 'object' || !isStringArray(r.variants)) {
    throw new ConfigError(`${path}: expected an object with variants (string[]), kernels and custom; regenerate it with ${RECORD_COMMAND}`);
  }
  return { variants: r.variants, kernels: readSection(`${path} kernels`, r.kernels), custom: readSection(`${path} custom`, r.custom) };
}

const users = (use: KernelUse) => (use.usedBy.length === 1 ? use.usedBy[0] : `${use.usedBy[0]} and ${use.usedBy.length - 1} more`);

/** Kernels the recording dispatches that the committed file lacks, one line each. */
export function missingKernels(committed: KernelInventory, recorded: KernelInventory): string[] {
  const out: string[] = [];
  for (const section of ['kernels', 'custom'] as const) {
    for (const [name, use] of Object.entries(recorded[section])) {
      if (committed[section][name] === undefined) {
        out.push(`kernel ${name} (used by ${users(use)}) is dispatched but missing from kernels.json ${section}; run ${RECORD_COMMAND}`);
      }
    }
  }
  return out;
}

/** Kernels the committed file lists that no variant dispatches any more, one line each. */
export function unusedKernels(committed: KernelInventory, recorded: KernelInventory): string[] {
  const out: string[] = [];
  for (const section of ['kernels', 'custom'] as const) {
    for (const name of Object.keys(committed[section])) {
      if (recorded[section][name] === undefined) out.push(`kernel ${name} is in kernels.json ${section} but no zoo variant dispatches it any more; run ${RECORD_COMMAND}`);
    }
  }
  return out;
}

/** Kernels in both whose dtypes or users changed, and a changed variant list, one line each. */
export function changedUses(committed: KernelInventory, recorded: KernelInventory): string[] {
  const out: string[] = [];
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (!same(committed.variants, recorded.variants)) {
    out.push(`kernels.json variants differ from ZOO_VARIANTS (${committed.variants.length} vs ${recorded.variants.length}); run ${RECORD_COMMAND}`);
  }
  for (const section of ['kernels', 'custom'] as const) {
    for (const [name, now] of Object.entries(recorded[section])) {
      const was = committed[section][name];
      if (was === undefined) continue;
      if (!same(was.dtypes, now.dtypes)) out.push(`kernel ${name}: dtypes are now [${now.dtypes.join(', ')}], kernels.json says [${was.dtypes.join(', ')}]; run ${RECORD_COMMAND}`);
      const added = now.usedBy.filter((v) => !was.usedBy.includes(v));
      const dropped = was.usedBy.filter((v) => !now.usedBy.includes(v));
      if (added.length + dropped.length > 0) {
        out.push(`kernel ${name}: users changed (new: ${added.join(', ') || 'none'}; gone: ${dropped.join(', ') || 'none'}); run ${RECORD_COMMAND}`);
      }
    }
  }
  return out;
}

const TABLE_START = '<!-- inventory-table:start (written by record-kernels) -->';
const TABLE_END = '<!-- inventory-table:end -->';

/** The README's generated table block, or null when the markers are missing. */
export function readmeTable(readme: string): string | null {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) return null;
  return readme.slice(start + TABLE_START.length, end).trim();
}

/** `readme` with its table block replaced by `table`; a README without the markers is an error naming `path`. */
export function withReadmeTable(readme: string, table: string, path: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new ConfigError(`${path}: the lines ${TABLE_START} and ${TABLE_END} are missing; put them back where the inventory table goes`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${table}\n${readme.slice(end)}`;
}
