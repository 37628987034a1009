/**
 * Check Fashion-MNIST against datasets/manifests/fashion-mnist.json (sizes + sha256), then parse both splits.
 *   npx nx run data:verify-fashion-mnist [--args="--dir=/path"]
 * With --write-manifest=PATH it instead records the files found in --dir (for your own copy of the data).
 */
import { DataError, FASHION_MNIST_DEFAULT_PATH, FASHION_MNIST_MANIFEST, loadFashionMnist, manifestFor, verifyFiles, writeFileAtomic } from '../src/index.js';
import { parseArgs } from './args.js';

const a = parseArgs(process.argv.slice(2), { dir: FASHION_MNIST_DEFAULT_PATH, 'write-manifest': '' }, 'usage: tsx packages/data/scripts/verify-fashion-mnist.ts [--dir=DIR] [--write-manifest=PATH]');
try {
  if (a['write-manifest']) {
    const m = manifestFor(a.dir, FASHION_MNIST_MANIFEST.files.map((f) => f.name), { ...FASHION_MNIST_MANIFEST, source: a.dir });
    writeFileAtomic(a['write-manifest'], JSON.stringify(m, null, 2) + '\n');
    console.log(`wrote ${a['write-manifest']}`);
  } else {
    const t0 = performance.now();
    verifyFiles(a.dir, FASHION_MNIST_MANIFEST, { hint: 'install it with: sudo tools/setup.sh (Debian package dataset-fashion-mnist)' });
    const train = loadFashionMnist('train', a.dir, undefined, { verify: false });
    const test = loadFashionMnist('test', a.dir, undefined, { verify: false });
    console.log(`fashion-mnist OK at ${a.dir}: ${train.count} train + ${test.count} test images ${train.height}×${train.width}, sizes and sha256 match (${((performance.now() - t0) / 1000).toFixed(2)} s)`);
  }
} catch (err) {
  if (err instanceof DataError) {
    console.error(`error: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
