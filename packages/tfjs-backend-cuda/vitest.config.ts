import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'tfjs-backend-cuda', include: ['test/**/*.test.ts'], testTimeout: 60_000 },
});
