import { defineConfig } from 'vitest/config';

// One vitest run covers every package and experiment; each directory names its own project.
export default defineConfig({
  test: {
    projects: ['packages/*', 'experiments/*', 'tools'],
  },
});
