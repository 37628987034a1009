/** Test fixtures shared by the runner's tests: a learnable Fashion-MNIST-shaped dataset and temp dirs. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Rng, makeTempDir } from '@sigattn/common';
import { encodeIdx } from '@sigattn/data';

export const REPO_CONFIGS = join(import.meta.dirname, '../../../configs');

/** A Fashion-MNIST-shaped fixture: class c is a bright bar at row 2c plus noise, so a ViT learns it fast. */
export function writeImageFixture(dir: string, train: number, test: number, seed: number): void {
  const rng = new Rng(seed);
  const make = (count: number): [Uint8Array, Uint8Array] => {
    const images = new Uint8Array(count * 28 * 28);
    const labels = new Uint8Array(count);
    for (let n = 0; n < count; n++) {
      const c = rng.int(10);
      labels[n] = c;
      for (let p = 0; p < 784; p++) images[n * 784 + p] = rng.int(60);
      for (let r = 2 * c + 4; r < 2 * c + 6; r++) for (let x = 2; x < 26; x++) images[n * 784 + r * 28 + x] = 200 + rng.int(55);
    }
    return [images, labels];
  };
  const write = (name: string, shape: number[], data: Uint8Array) => writeFileSync(join(dir, name), gzipSync(encodeIdx(shape, data)));
  const [tri, trl] = make(train);
  const [tei, tel] = make(test);
  write('train-images-idx3-ubyte.gz', [train, 28, 28], tri);
  write('train-labels-idx1-ubyte.gz', [train], trl);
  write('t10k-images-idx3-ubyte.gz', [test, 28, 28], tei);
  write('t10k-labels-idx1-ubyte.gz', [test], tel);
}

/** Temp directories removed by `cleanup()` (call it in afterAll/afterEach). */
export function tempDirs(): { make: (prefix?: string) => string; cleanup: () => void } {
  const made: { remove: () => void }[] = [];
  return {
    make: (prefix = 'sigattn-runner-') => {
      const t = makeTempDir(prefix);
      made.push(t);
      return t.path;
    },
    cleanup: () => made.splice(0).forEach((t) => t.remove()),
  };
}

/** Write files into a directory: name → text. */
export function writeFiles(dir: string, files: Record<string, string>): string {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
