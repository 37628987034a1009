import { makeTempDir } from '@sigattn/common';
import { afterAll } from 'vitest';

/**
 * Temp directories for one test file. Call it at the top of the file (hooks registered inside a test
 * never run): every directory the returned function makes is removed after the file's tests.
 */
export function tempDirs(file: string): (name: string) => string {
  const made: { remove: () => void }[] = [];
  afterAll(() => {
    for (const d of made.splice(0)) d.remove();
  });
  return (name) => {
    const d = makeTempDir(`sigattn-data-${file}-${name}-`);
    made.push(d);
    return d.path;
  };
}
