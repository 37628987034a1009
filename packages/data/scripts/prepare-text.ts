/**
 * Build (or reuse) the tokenised text corpus under datasets/cache/text/.
 *   npx nx run data:prepare-text [--args="--vocab=8192 --text=/path/a.txt,/path/dir"]
 * Options: --text=kjv|PATH[,PATH] (files or directories of *.txt/md/rst[.gz]), --vocab=N, --seed=N, --out=DIR, --force.
 */
import { join } from 'node:path';
import { DataError, loadTextCorpus, prepareTextCorpus, textCacheMatches } from '../src/index.js';
import type { TextCorpusParams } from '../src/index.js';
import { intArg, parseArgs } from './args.js';

const USAGE = 'usage: tsx packages/data/scripts/prepare-text.ts [--text=kjv] [--vocab=4096] [--seed=0] [--out=DIR] [--force]';
const a = parseArgs(process.argv.slice(2), { text: 'kjv', vocab: '4096', seed: '0', out: '', force: 'false' }, USAGE);
const params: TextCorpusParams = {
  source: a.text === 'kjv' ? 'kjv' : a.text.split(','),
  seed: intArg('seed', a.seed),
  valid: 0.05,
  test: 0.05,
  vocabSize: intArg('vocab', a.vocab),
};
const out = a.out || join('datasets', 'cache', 'text', `${a.text === 'kjv' ? 'kjv' : 'user'}-bpe${params.vocabSize}-seed${params.seed}`);
try {
  if (a.force !== 'true' && textCacheMatches(out, params)) {
    const c = loadTextCorpus(out);
    console.log(`text corpus already built at ${out} (checksum ${c.manifest.checksum.slice(0, 16)}…); --force rebuilds it`);
    process.exit(0);
  }
  const t0 = performance.now();
  const m = await prepareTextCorpus(params, out, (msg) => console.log(msg));
  console.log(`text corpus written to ${out} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  for (const [split, c] of Object.entries(m.counts)) console.log(`  ${split.padEnd(5)} ${c.documents} documents, ${c.chars} chars, ${c.tokens} tokens`);
  console.log(`  checksum ${m.checksum}`);
} catch (err) {
  if (err instanceof DataError) {
    console.error(`error: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
