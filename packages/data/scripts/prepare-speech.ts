/**
 * Build (or reuse) the synthetic espeak-ng speech corpus under datasets/cache/speech/.
 *   npx nx run data:prepare-speech [--args="--size=small --seed=1"]     (--help lists the options)
 */
import { join } from 'node:path';
import { cli, runMain } from '@sigattn/common';
import { loadSpeechCorpus, prepareSpeechCorpus, speechCacheMatches, speechParams, SPEECH_SIZES, splitDocuments, loadKjv, loadTextFiles } from '../src/index.js';
import type { SpeechSize } from '../src/index.js';

runMain(async () => {
  const a = await cli('prepare-speech')
    .usage('$0 [options]: build the espeak-ng speech corpus (reused when one with the same parameters exists)')
    .option('size', { type: 'string', requiresArg: true, choices: Object.keys(SPEECH_SIZES), default: 'default', describe: 'corpus size' })
    .option('seed', { type: 'number', requiresArg: true, default: 0, describe: 'seed of the text split, speakers and sentences' })
    .option('out', { type: 'string', requiresArg: true, describe: 'output directory [default: datasets/cache/speech/<size>-seed<seed>]' })
    .option('backend', { type: 'string', requiresArg: true, choices: ['auto', 'library', 'cli'], default: 'auto', describe: 'espeak-ng in process (library) or the espeak-ng command (cli)' })
    .option('text', { type: 'string', requiresArg: true, default: 'kjv', describe: 'kjv, or comma-separated files/directories of *.txt/md/rst[.gz]' })
    .option('workers', { type: 'number', requiresArg: true, default: 0, describe: 'child processes (0 = CPU count, at most 4); the output does not depend on it' })
    .option('keep-audio', { type: 'boolean', default: false, describe: 'also keep the 16 kHz WAV of each utterance' })
    .option('force', { type: 'boolean', default: false, describe: 'rebuild even if a matching corpus exists' })
    .check((o) => Number.isInteger(o.seed) || `--seed: expected an integer, found ${o.seed}`)
    .check((o) => Number.isInteger(o.workers) && o.workers >= 0 || `--workers: expected an integer ≥ 0, found ${o.workers}`)
    .parse();
  const params = speechParams(a.size as SpeechSize, a.seed);
  const textTag = a.text === 'kjv' ? '' : '-usertext';
  const out = a.out ?? join('datasets', 'cache', 'speech', `${a.size}-seed${a.seed}${textTag}`);

  if (!a.force && speechCacheMatches(out, params)) {
    const c = loadSpeechCorpus(out);
    console.log(`speech corpus already built at ${out} (checksum ${c.manifest.checksum.slice(0, 16)}…); --force rebuilds it`);
    return;
  }
  const docs = a.text === 'kjv' ? loadKjv() : loadTextFiles(a.text.split(','));
  const text = splitDocuments(docs, { seed: a.seed });
  const t0 = performance.now();
  let last = 0;
  const manifest = await prepareSpeechCorpus({
    params,
    text,
    outDir: out,
    synth: { backend: a.backend as 'auto' | 'library' | 'cli' },
    keepAudio: a['keep-audio'],
    workers: a.workers || undefined,
    onProgress: (done, total, bucket) => {
      const now = performance.now();
      if (now - last < 2000 && done < total) return;
      last = now;
      const s = (now - t0) / 1000;
      const eta = (s / done) * (total - done);
      console.log(`speech: ${done}/${total} utterances (${((100 * done) / total).toFixed(1)} %), ${bucket}, ${s.toFixed(0)} s elapsed, ~${eta.toFixed(0)} s left`);
    },
  });
  console.log(`speech corpus written to ${out} in ${manifest.buildSeconds} s with ${manifest.synthesizer}`);
  for (const [name, c] of Object.entries(manifest.counts)) {
    console.log(`  ${name.padEnd(10)} ${String(c.utterances).padStart(6)} utterances, ${(c.seconds / 60).toFixed(1)} min, ${c.frames} frames, ${c.rejected} rejected drafts`);
  }
  console.log(`  checksum ${manifest.checksum}`);
});
