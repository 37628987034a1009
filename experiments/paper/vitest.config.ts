import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'experiments-paper', include: ['**/test/**/*.test.ts'], testTimeout: 60_000 },
});
