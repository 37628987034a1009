/** Option parsing shared by the kernel-core CLIs: one wording for every bad value (a one-line ConfigError). */
import { ConfigError } from '@sigattn/common';

/** A comma list whose items must be members of `allowed` (matched as text); duplicates dropped, order kept. */
export function commaList<T extends string | number>(flag: string, text: string, allowed: readonly T[], what = `a comma list of ${allowed.join(', ')}`): T[] {
  return parseList(flag, text, what, (s) => allowed.find((a) => String(a) === s));
}

/** A comma list parsed item by item (`item` returns undefined for an invalid one). */
export function parseList<T>(flag: string, text: string, what: string, item: (s: string) => T | undefined): T[] {
  const out: T[] = [];
  for (const part of text.split(',').map((x) => x.trim())) {
    const x = part === '' ? undefined : item(part);
    if (x === undefined) badOption(flag, what, part, text);
    if (!out.includes(x)) out.push(x);
  }
  return out;
}

/** Throw the one-line error for a bad option value. */
export function badOption(flag: string, expected: string, got: string, within?: string): never {
  throw new ConfigError(`--${flag} must be ${expected}; got '${got}'${within === undefined || within === got ? '' : ` in '${within}'`}`);
}

/** A positive integer written as digits, else undefined. */
export function positiveInt(s: string): number | undefined {
  return /^[1-9]\d*$/.test(s) ? Number(s) : undefined;
}
