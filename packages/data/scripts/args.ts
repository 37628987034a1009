/** Tiny `--key=value` parser for the data scripts; unknown keys are an error that lists the known ones. */
export function parseArgs<T extends Record<string, string>>(argv: string[], defaults: T, usage: string): T {
  const out: Record<string, string> = { ...defaults };
  for (const a of argv) {
    const m = /^--([a-zA-Z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !(m[1] in defaults)) {
      console.error(`unknown argument ${JSON.stringify(a)}: expected one of ${Object.keys(defaults).map((k) => `--${k}`).join(', ')}\n${usage}`);
      process.exit(2);
    }
    out[m[1]] = m[2] ?? 'true';
  }
  return out as T;
}

export function intArg(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) {
    console.error(`--${name}: expected an integer, found ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return n;
}
