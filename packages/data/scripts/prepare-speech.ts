/**
 * Build (or reuse) the synthetic espeak-ng speech corpus under datasets/cache/speech/.
 *   npx nx run data:prepare-speech [--args="--size=small --seed=1"]
 * Options: --size=tiny|small|default|large, --seed=N, --out=DIR, --backend=auto|library|cli, --text=kjv|PATH[,PATH],
 * --workers=N (0 = CPU count, at most 4; the output does not depend on it), --keep-audio, --force (rebuild even if a matching corpus exists).
 */
import { join } from 'node:path';
import { DataError, loadSpeechCorpus, prepareSpeechCorpus, speechCacheMatches, speechParams, SPEECH_SIZES, splitDocuments, loadKjv, loadTextFiles } from '../src/index.js';
import type { SpeechSize } from '../src/index.js';
import { intArg, parseArgs } from './args.js';

const USAGE = 'usage: tsx packages/data/scripts/prepare-speech.ts --size=default --seed=0 [--out=DIR] [--backend=auto] [--text=kjv] [--workers=N] [--keep-audio] [--force]';
const a = parseArgs(process.argv.slice(2), { size: 'default', seed: '0', out: '', backend: 'auto', text: 'kjv', workers: '0', 'keep-audio': 'false', force: 'false' }, USAGE);
if (!(a.size in SPEECH_SIZES)) {
  console.error(`--size: expected one of ${Object.keys(SPEECH_SIZES).join(', ')}, found ${JSON.stringify(a.size)}`);
  process.exit(2);
}
if (!['auto', 'library', 'cli'].includes(a.backend)) {
  console.error(`--backend: expected auto, library or cli, found ${JSON.stringify(a.backend)}`);
  process.exit(2);
}
const seed = intArg('seed', a.seed);
const params = speechParams(a.size as SpeechSize, seed);
const textTag = a.text === 'kjv' ? '' : '-usertext';
const out = a.out || join('datasets', 'cache', 'speech', `${a.size}-seed${seed}${textTag}`);

try {
  if (a.force !== 'true' && speechCacheMatches(out, params)) {
    const c = loadSpeechCorpus(out);
    console.log(`speech corpus already built at ${out} (checksum ${c.manifest.checksum.slice(0, 16)}…); --force rebuilds it`);
    process.exit(0);
  }
  const docs = a.text === 'kjv' ? loadKjv() : loadTextFiles(a.text.split(','));
  const text = splitDocuments(docs, { seed });
  const t0 = performance.now();
  let last = 0;
  const manifest = await prepareSpeechCorpus({
    params,
    text,
    outDir: out,
    synth: { backend: a.backend as 'auto' },
    keepAudio: a['keep-audio'] === 'true',
    workers: intArg('workers', a.workers) || undefined,
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
} catch (err) {
  if (err instanceof DataError) {
    console.error(`error: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
