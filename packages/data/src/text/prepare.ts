/**
 * A tokenised text corpus in datasets/cache/text/<name>/: the BPE tokenizer trained on the train split, each split
 * as uint16/int32 token ids, the raw split texts, and a manifest (generator version, params, counts, checksum).
 * Built in a temp directory and renamed, so a cache directory with a manifest is always complete.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDirAtomic, DataError, sha256, sha256File } from '@sigattn/common';
import { readJsonFile } from '../fsutil.js';
import { BpeTokenizer } from './bpe.js';
import { loadKjv, loadTextFiles, splitDocuments, type TextSplits } from './corpus.js';

export const TEXT_GENERATOR_VERSION = 1;
const TEXT_HINT = 'rebuild it with: npx nx run data:prepare-text';

export interface TextCorpusParams {
  /** 'kjv' or a list of files/directories. */
  source: 'kjv' | string[];
  seed: number;
  valid: number;
  test: number;
  vocabSize: number;
}

export interface TextManifest {
  generator: 'sigattn-text';
  version: number;
  params: TextCorpusParams;
  counts: Record<'train' | 'valid' | 'test', { documents: number; chars: number; tokens: number }>;
  tokenDtype: 'uint16' | 'int32';
  files: { name: string; bytes: number; sha256: string }[];
  checksum: string;
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
    const files: TextManifest['files'] = [];
    const write = (name: string, data: Uint8Array | string): void => {
      writeFileSync(join(tmp, name), data);
      files.push({ name, bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength, sha256: sha256(data) });
    };
    write('tokenizer.json', JSON.stringify(tok.toJSON()));
    const counts = {} as TextManifest['counts'];
    for (const split of ['train', 'valid', 'test'] as const) {
      const ids = tok.encode(splits[split]);
      const arr = dtype === 'uint16' ? Uint16Array.from(ids) : ids;
      write(`${split}.txt`, splits[split]);
      write(`${split}.${dtype}`, new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
      counts[split] = { documents: splits.ids[split].length, chars: splits[split].length, tokens: ids.length };
      log(`text: ${split} ${ids.length} tokens`);
    }
    manifest = {
      generator: 'sigattn-text',
      version: TEXT_GENERATOR_VERSION,
      params,
      counts,
      tokenDtype: dtype,
      files,
      checksum: sha256(files.map((f) => `${f.name}:${f.sha256}`).join('\n')),
    };
    writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2));
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
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) return false;
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as TextManifest;
    return m.version === TEXT_GENERATOR_VERSION && JSON.stringify(m.params) === JSON.stringify(params);
  } catch {
    return false;
  }
}

export function loadTextCorpus(dir: string, opts: { verify?: boolean } = {}): TextCorpus {
  const manifest = readJsonFile<TextManifest>(join(dir, 'manifest.json'), TEXT_HINT);
  if (manifest.generator !== 'sigattn-text' || manifest.version !== TEXT_GENERATOR_VERSION) {
    throw new DataError(`${join(dir, 'manifest.json')}: expected generator sigattn-text version ${TEXT_GENERATOR_VERSION}, found ${manifest.generator} ${manifest.version}; ${TEXT_HINT}`);
  }
  for (const f of manifest.files) {
    const path = join(dir, f.name);
    if (!existsSync(path)) throw new DataError(`${path}: file not found (listed in the manifest); ${TEXT_HINT}`);
    const bytes = readFileSync(path).byteLength;
    if (bytes !== f.bytes) throw new DataError(`${path}: expected ${f.bytes} bytes (manifest), found ${bytes}; the cache is truncated; ${TEXT_HINT}`);
    if (opts.verify !== false && sha256File(path) !== f.sha256) throw new DataError(`${path}: sha256 differs from the manifest; the cache is corrupt; ${TEXT_HINT}`);
  }
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
