/**
 * Text corpora for language modelling: the King James Bible from Debian's bible-kjv-text (read through the
 * package's `bible` command, which decodes /usr/lib/bible.data), or any text files/directories a user points at
 * (plain or .gz, e.g. linux-doc's Documentation/**\/*.rst.gz). Documents are split into blocks, and blocks are
 * assigned to train/valid/test by a seeded permutation, so splits are deterministic and disjoint.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataError, permutation } from '@sigattn/common';
import { readFileOrThrow } from '../fsutil.js';

export const KJV_HINT = 'install it with: tools/setup.sh (Debian packages bible-kjv and bible-kjv-text)';

export interface TextDocument {
  /** Where it came from: a chapter reference ('Ge1') or a file path (with a block number). */
  id: string;
  text: string;
}

/** Every verse of the KJV, one document per chapter, one verse per line (references stripped). */
export function loadKjv(opts: { bibleCommand?: string; dataDir?: string } = {}): TextDocument[] {
  const cmd = opts.bibleCommand ?? 'bible';
  const args = ['-f', ...(opts.dataDir ? ['-p', opts.dataDir] : []), 'gen1:1-rev22:21'];
  let out: string;
  try {
    out = execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new DataError(`cannot run '${cmd} ${args.join(' ')}' (${(err as Error).message.split('\n')[0]}); ${KJV_HINT}`);
  }
  const docs: TextDocument[] = [];
  let current: TextDocument | undefined;
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const m = /^(\d?[A-Za-z]+\d+):\d+ (.*)$/.exec(line);
    if (!m) throw new DataError(`'${cmd} -f' output: expected 'Book1:1 text' lines, found ${JSON.stringify(line.slice(0, 60))}; ${KJV_HINT}`);
    if (!current || current.id !== m[1]) docs.push((current = { id: m[1], text: m[2] }));
    else current.text += '\n' + m[2];
  }
  if (docs.length < 1000) throw new DataError(`'${cmd} -f': expected the 1,189 chapters of the KJV, found ${docs.length}; the data file is incomplete; ${KJV_HINT}`);
  return docs;
}

const TEXT_EXT = /\.(txt|text|md|rst)(\.gz)?$/i;

function listFiles(path: string): string[] {
  if (!existsSync(path)) throw new DataError(`${path}: not found; pass existing text files or directories`);
  if (statSync(path).isFile()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => {
      const p = join(path, name);
      return statSync(p).isDirectory() ? listFiles(p) : TEXT_EXT.test(name) ? [p] : [];
    });
}

/**
 * Text files (UTF-8, optionally .gz) or directories (recursive, *.txt/md/rst[.gz], sorted), cut into blocks of
 * about `blockChars` at line boundaries so that a single large file still splits into train/valid/test.
 */
export function loadTextFiles(paths: readonly string[], blockChars = 4000): TextDocument[] {
  const files = paths.flatMap(listFiles);
  if (files.length === 0) throw new DataError(`no text files under ${paths.join(', ')}: expected *.txt, *.md or *.rst (optionally .gz)`);
  const docs: TextDocument[] = [];
  for (const f of files) {
    let buf: Uint8Array = readFileOrThrow(f, 'pass existing text files');
    if (buf[0] === 0x1f && buf[1] === 0x8b) {
      try {
        buf = gunzipSync(buf);
      } catch (err) {
        throw new DataError(`${f}: corrupt gzip stream (${(err as Error).message}); re-create or remove the file`);
      }
    }
    const text = new TextDecoder('utf-8', { fatal: false }).decode(buf).replace(/\r\n/g, '\n');
    let block = '';
    let n = 0;
    for (const line of text.split('\n')) {
      block += (block ? '\n' : '') + line;
      if (block.length >= blockChars) {
        docs.push({ id: `${f}#${n++}`, text: block });
        block = '';
      }
    }
    if (block.trim()) docs.push({ id: `${f}#${n}`, text: block });
  }
  return docs;
}

export interface TextSplits {
  train: string;
  valid: string;
  test: string;
  /** Document ids per split, in corpus order. */
  ids: { train: string[]; valid: string[]; test: string[] };
}

/** Assign whole documents to splits by a seeded permutation; each split keeps corpus order, documents joined by '\n'. */
export function splitDocuments(docs: readonly TextDocument[], opts: { seed?: number; valid?: number; test?: number } = {}): TextSplits {
  const { seed = 0, valid = 0.05, test = 0.05 } = opts;
  if (docs.length < 3) throw new DataError(`text corpus: expected at least 3 documents/blocks to split, found ${docs.length}; add more text`);
  const perm = permutation(docs.length, seed);
  const nValid = Math.max(1, Math.round(docs.length * valid));
  const nTest = Math.max(1, Math.round(docs.length * test));
  const which = new Uint8Array(docs.length); // 0 train, 1 valid, 2 test
  for (let i = 0; i < nValid; i++) which[perm[i]] = 1;
  for (let i = nValid; i < nValid + nTest; i++) which[perm[i]] = 2;
  const parts: string[][] = [[], [], []];
  const ids: string[][] = [[], [], []];
  docs.forEach((d, i) => {
    parts[which[i]].push(d.text);
    ids[which[i]].push(d.id);
  });
  return { train: parts[0].join('\n'), valid: parts[1].join('\n'), test: parts[2].join('\n'), ids: { train: ids[0], valid: ids[1], test: ids[2] } };
}
