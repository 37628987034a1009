import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'model-zoo', include: ['test/**/*.test.ts'], testTimeout: 60_000 },
});
