/**
 * A tokenised text corpus in datasets/cache/text/<name>/: the BPE tokenizer trained on the train split, each split
 * as uint16/int32 token ids, the raw split texts, and a manifest (generator version, params, counts, checksum).
 * Built in a temp directory and renamed, so a cache directory with a manifest is always complete.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDirAtomic } from '@sigattn/common';
import { CacheWriter, cacheMatches, readCacheManifest, type CacheManifest } from '../manifest.js';
import { BpeTokenizer } from './bpe.js';
import { loadKjv, loadTextFiles, splitDocuments, type TextSplits } from './corpus.js';

export const TEXT_GENERATOR_VERSION = 1;
const TEXT_GENERATOR = 'sigattn-text';
const TEXT_HINT = 'rebuild it with: npx nx run data:prepare-text';

export interface TextCorpusParams {
  /** 'kjv' or a list of files/directories. */
  source: 'kjv' | string[];
  seed: number;
  valid: number;
  test: number;
  vocabSize: number;
}

export interface TextManifest extends CacheManifest<TextCorpusParams> {
  generator: typeof TEXT_GENERATOR;
  counts: Record<'train' | 'valid' | 'test', { documents: number; chars: number; tokens: number }>;
  tokenDtype: 'uint16' | 'int32';
}

export function loadTextSource(source: TextCorpusParams['source'], opts: { seed: number; valid: number; test: number }): TextSplits {
  const docs = source === 'kjv' ? loadKjv() : loadTextFiles(source);
  return splitDocuments(docs, opts);
}

export async function prepareTextCorpus(params: TextCorpusParams, outDir: string, log: (msg: string) => void = () => {}): Promise<TextManifest> {
  const splits = loadTextSource(params.source, params);
  log(`text: ${splits.train.length} train chars; training BPE to ${params.vocabSize} tokens`);
  const tok = BpeTokenizer.train(splits.train, params.vocabSize, (m) => log(`text: ${m} merges`));
  const dtype = tok.vocabSize <= 65536 ? 'uint16' : 'int32';
  let manifest: TextManifest | undefined;
  await buildDirAtomic(outDir, (tmp) => {
    const out = new CacheWriter(tmp);
    out.write('tokenizer.json', JSON.stringify(tok.toJSON()));
    const counts = {} as TextManifest['counts'];
    for (const split of ['train', 'valid', 'test'] as const) {
      const ids = tok.encode(splits[split]);
      const arr = dtype === 'uint16' ? Uint16Array.from(ids) : ids;
      out.write(`${split}.txt`, splits[split]);
      out.write(`${split}.${dtype}`, new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
      counts[split] = { documents: splits.ids[split].length, chars: splits[split].length, tokens: ids.length };
      log(`text: ${split} ${ids.length} tokens`);
    }
    manifest = out.finish<TextManifest>({
      generator: TEXT_GENERATOR,
      version: TEXT_GENERATOR_VERSION,
      params,
      counts,
      tokenDtype: dtype,
      files: out.files,
      checksum: out.checksum(),
    });
  });
  return manifest!;
}

export interface TextCorpus {
  manifest: TextManifest;
  tokenizer: BpeTokenizer;
  tokens: Record<'train' | 'valid' | 'test', Int32Array>;
  text(split: 'train' | 'valid' | 'test'): string;
}

export function textCacheMatches(dir: string, params: TextCorpusParams): boolean {
  return cacheMatches(dir, TEXT_GENERATOR, TEXT_GENERATOR_VERSION, params);
}

export function loadTextCorpus(dir: string, opts: { verify?: boolean } = {}): TextCorpus {
  const manifest = readCacheManifest<TextManifest>(dir, TEXT_GENERATOR, TEXT_GENERATOR_VERSION, TEXT_HINT, opts.verify);
  const read = (split: string): Int32Array => {
    const raw = readFileSync(join(dir, `${split}.${manifest.tokenDtype}`));
    const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
    return manifest.tokenDtype === 'uint16' ? Int32Array.from(new Uint16Array(buf)) : new Int32Array(buf);
  };
  return {
    manifest,
    tokenizer: BpeTokenizer.load(join(dir, 'tokenizer.json')),
    tokens: { train: read('train'), valid: read('valid'), test: read('test') },
    text: (split) => readFileSync(join(dir, `${split}.txt`), 'utf8'),
  };
}
