/** BENCHMARKS.md is what the committed benchmark CSVs generate (bench/report.ts), not hand-typed numbers. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BENCHMARKS_MD, renderBenchmarks } from '../bench/report.js';

describe('BENCHMARKS.md', () => {
  it('matches the committed CSVs (regenerate: npx nx run tfjs-backend-cuda:bench-report)', () => {
    expect(readFileSync(BENCHMARKS_MD, 'utf8') === renderBenchmarks(), 'BENCHMARKS.md is stale; run npx nx run tfjs-backend-cuda:bench-report').toBe(true);
  });
});
