import { defineConfig } from 'vitest/config';

// One vitest run covers every package and experiment; each directory names its own project.
export default defineConfig({
  test: {
    // Directories only: files directly in experiments/ (the `experiments` project's project.json) are not vitest projects.
    projects: ['packages/*', 'experiments/*', '!experiments/*.*', 'tools'],
  },
});
