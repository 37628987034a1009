/**
 * Check Fashion-MNIST against datasets/manifests/fashion-mnist.json (sizes + sha256), then parse both splits.
 *   npx nx run data:verify-fashion-mnist [--args="--path=/path"]     (--help lists the options)
 * With --write-manifest=PATH it instead records the files found in --path (for your own copy of the data).
 * --path is the same directory as the config key data.path.
 */
import { cli, runMain, writeFileAtomic } from '@sigattn/common';
import { FASHION_MNIST_DEFAULT_PATH, FASHION_MNIST_MANIFEST, FASHION_MNIST_SETUP_HINT, loadFashionMnist, manifestFor, verifyFiles } from '../src/index.js';

runMain(async () => {
  const a = await cli('verify-fashion-mnist')
    .usage('$0 [options]: check the Fashion-MNIST files by size and sha256 and parse both splits')
    .option('path', { type: 'string', requiresArg: true, default: FASHION_MNIST_DEFAULT_PATH, describe: 'directory of the four IDX files (the config key data.path)' })
    .option('write-manifest', { type: 'string', requiresArg: true, describe: 'instead of checking, write a manifest of the files in --path to this file' })
    .parse();
  if (a['write-manifest'] !== undefined) {
    const m = manifestFor(a.path, FASHION_MNIST_MANIFEST.files.map((f) => f.name), { ...FASHION_MNIST_MANIFEST, source: a.path });
    writeFileAtomic(a['write-manifest'], JSON.stringify(m, null, 2) + '\n');
    console.log(`wrote ${a['write-manifest']}`);
    return;
  }
  const t0 = performance.now();
  verifyFiles(a.path, FASHION_MNIST_MANIFEST, { hint: FASHION_MNIST_SETUP_HINT });
  const train = loadFashionMnist('train', a.path, undefined, { verify: false });
  const test = loadFashionMnist('test', a.path, undefined, { verify: false });
  console.log(`fashion-mnist OK at ${a.path}: ${train.count} train + ${test.count} test images ${train.height}×${train.width}, sizes and sha256 match (${((performance.now() - t0) / 1000).toFixed(2)} s)`);
});
