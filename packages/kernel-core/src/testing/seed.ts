/**
 * Seeds of the random-case suites. `npm test` is deterministic: every suite passes its own fixed seed.
 * SIGATTN_SEED overrides it on purpose — `random` draws a fresh one (the fuzz target,
 * `npx nx run kernel-core:fuzz`), an integer replays a printed one.
 */
export function suiteSeed(fixed: number): number {
  const fromEnv = process.env.SIGATTN_SEED;
  if (fromEnv === undefined || fromEnv === '') return fixed;
  if (fromEnv === 'random') return Math.floor(Math.random() * 2 ** 31);
  const seed = Number(fromEnv);
  if (!Number.isInteger(seed)) {
    throw new Error(`SIGATTN_SEED must be an integer or 'random', got ${JSON.stringify(fromEnv)}; unset it for the suites' fixed seeds`);
  }
  return seed;
}
