import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'experiments-plugin', include: ['test/**/*.test.ts'], testTimeout: 60_000 },
});
