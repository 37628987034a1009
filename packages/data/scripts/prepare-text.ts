/**
 * Build (or reuse) the tokenised text corpus under datasets/cache/text/.
 *   npx nx run data:prepare-text [--args="--vocab=8192 --text=/path/a.txt,/path/dir"]     (--help lists the options)
 */
import { join } from 'node:path';
import { cli, runMain } from '@sigattn/common';
import { loadTextCorpus, prepareTextCorpus, textCacheMatches } from '../src/index.js';
import type { TextCorpusParams } from '../src/index.js';

runMain(async () => {
  const a = await cli('prepare-text')
    .usage('$0 [options]: build the BPE-tokenised text corpus (reused when one with the same parameters exists)')
    .option('text', { type: 'string', requiresArg: true, default: 'kjv', describe: 'kjv, or comma-separated files/directories of *.txt/md/rst[.gz]' })
    .option('vocab', { type: 'number', requiresArg: true, default: 4096, describe: 'BPE vocabulary size: the 256 bytes plus learned merges' })
    .option('seed', { type: 'number', requiresArg: true, default: 0, describe: 'seed of the train/valid/test split' })
    .option('out', { type: 'string', requiresArg: true, describe: 'output directory [default: datasets/cache/text/<kjv|user>-bpe<vocab>-seed<seed>]' })
    .option('force', { type: 'boolean', default: false, describe: 'rebuild even if a matching corpus exists' })
    .check((o) => Number.isInteger(o.seed) || `--seed: expected an integer, found ${o.seed}`)
    .check((o) => Number.isInteger(o.vocab) && o.vocab >= 256 && o.vocab < 2 ** 20 || `--vocab: expected an integer in [256, 1048576), found ${o.vocab}`)
    .parse();
  const params: TextCorpusParams = {
    source: a.text === 'kjv' ? 'kjv' : a.text.split(','),
    seed: a.seed,
    valid: 0.05,
    test: 0.05,
    vocabSize: a.vocab,
  };
  const out = a.out ?? join('datasets', 'cache', 'text', `${a.text === 'kjv' ? 'kjv' : 'user'}-bpe${params.vocabSize}-seed${params.seed}`);
  if (!a.force && textCacheMatches(out, params)) {
    const c = loadTextCorpus(out);
    console.log(`text corpus already built at ${out} (checksum ${c.manifest.checksum.slice(0, 16)}…); --force rebuilds it`);
    return;
  }
  const t0 = performance.now();
  const m = await prepareTextCorpus(params, out, (msg) => console.log(msg));
  console.log(`text corpus written to ${out} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  for (const [split, c] of Object.entries(m.counts)) console.log(`  ${split.padEnd(5)} ${c.documents} documents, ${c.chars} chars, ${c.tokens} tokens`);
  console.log(`  checksum ${m.checksum}`);
});
