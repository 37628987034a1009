/** A small seeded generator (mulberry32 + Box–Muller), so failing random cases can be replayed from their seed. */
export interface Rng {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Integer uniform in lo..hi (both included). */
  int(lo: number, hi: number): number;
  /** Standard normal. */
  normal(): number;
  pick<T>(items: readonly T[]): T;
}

export function makeRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    seed,
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    normal: () => {
      // 1 − u keeps the log argument in (0, 1].
      const u = 1 - next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
    pick: (items) => items[Math.floor(next() * items.length)],
  };
}

/**
 * Seed for a test run: SIGATTN_SEED when set (to replay a failure), otherwise fresh each run so the
 * suites keep exploring new inputs. Tests print it in every failure message.
 */
export function testSeed(): number {
  const fromEnv = process.env.SIGATTN_SEED;
  if (fromEnv !== undefined && fromEnv !== '') {
    const seed = Number(fromEnv);
    if (!Number.isInteger(seed)) throw new Error(`SIGATTN_SEED must be an integer, got ${JSON.stringify(fromEnv)}; unset it for a fresh seed`);
    return seed;
  }
  return Math.floor(Math.random() * 2 ** 31);
}

/** A Float32Array of standard normal values times `std`. */
export function randomNormalF32(rng: Rng, size: number, std = 1): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.normal() * std;
  return out;
}
