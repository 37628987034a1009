import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'tools', include: ['gpu-bundle/test/**/*.test.ts', 'test/**/*.test.ts'], testTimeout: 60_000 },
});
