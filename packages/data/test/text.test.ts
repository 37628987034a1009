import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataError, Rng } from '@sigattn/common';
import {
  BpeTokenizer,
  ByteTokenizer,
  lmBatches,
  lmEvalSets,
  loadKjv,
  loadTextCorpus,
  loadTextFiles,
  prepareTextCorpus,
  splitDocuments,
} from '../src/index.js';
import { tempDirs } from './helpers.js';

const tempDir = tempDirs('text');

const SYLLABLES = ['ka', 'lo', 'mi', 'ren', 'tha', 'dor', 'is', 'ven', 'qu', 'ae', 'nn', 'ést', 'ü'];
/** Seeded pseudo-English with punctuation, numbers, unicode and odd whitespace: the tokenizer fixture. */
function fakeText(chars: number, seed: number): string {
  const r = new Rng(seed);
  let s = '';
  while (s.length < chars) {
    const word = Array.from({ length: 1 + r.int(3) }, () => SYLLABLES[r.int(SYLLABLES.length)]).join('');
    const sep = [' ', ' ', ' ', ', ', '. ', '\n', '  ', '\t', "'s ", ' 42 ', ' — ', ' 🙂 '][r.int(12)];
    s += (r.next() < 0.1 ? word[0].toUpperCase() + word.slice(1) : word) + sep;
  }
  return s;
}

describe('tokenizers', () => {
  const train = fakeText(40_000, 1);
  const unseen = fakeText(5_000, 2) + ' never seen: ZZZ ∑ 中文 \r\n end';
  it('byte-level round-trips exactly', () => {
    const t = new ByteTokenizer();
    const ids = t.encode(unseen);
    expect(Math.max(...ids)).toBeLessThan(256);
    expect(t.decode(ids)).toBe(unseen);
  });
  it('BPE trains to the requested vocabulary, compresses, round-trips exactly, and saves/loads', () => {
    const bpe = BpeTokenizer.train(train, 400);
    expect(bpe.vocabSize).toBe(400);
    for (const s of [train, unseen, '', ' ', 'a']) expect(bpe.decode(bpe.encode(s))).toBe(s);
    const ids = bpe.encode(unseen);
    expect(ids.length).toBeLessThan(new ByteTokenizer().encode(unseen).length * 0.7);
    expect(Math.max(...ids)).toBeLessThan(400);
    const dir = tempDir('bpe');
    bpe.save(join(dir, 'tok.json'));
    const again = BpeTokenizer.load(join(dir, 'tok.json'));
    expect(Array.from(again.encode(unseen))).toEqual(Array.from(ids));
    expect(BpeTokenizer.train(train, 400).merges).toEqual(bpe.merges); // deterministic
    writeFileSync(join(dir, 'bad.json'), '{"type":"byte-bpe","version":1,"vocabSize":300,"merges":[[1,999]]}');
    expect(() => BpeTokenizer.load(join(dir, 'bad.json'))).toThrow(/BPE merge 0: expected ids below 256/);
    writeFileSync(join(dir, 'trunc.json'), readFileSync(join(dir, 'tok.json'), 'utf8').slice(0, 50));
    expect(() => BpeTokenizer.load(join(dir, 'trunc.json'))).toThrow(/trunc\.json: expected valid JSON/);
  });
});

describe('text corpora and splits', () => {
  it('user files and directories (plain and .gz) split deterministically and disjointly', () => {
    const dir = tempDir('text');
    mkdirSync(join(dir, 'docs'));
    writeFileSync(join(dir, 'a.txt'), fakeText(20_000, 3));
    writeFileSync(join(dir, 'docs', 'b.rst.gz'), gzipSync(fakeText(20_000, 4)));
    writeFileSync(join(dir, 'docs', 'ignored.bin'), 'x');
    const docs = loadTextFiles([join(dir, 'a.txt'), join(dir, 'docs')], 2000);
    expect(docs.length).toBeGreaterThanOrEqual(18);
    expect(docs.some((d) => d.id.includes('b.rst.gz'))).toBe(true);
    const s1 = splitDocuments(docs, { seed: 5, valid: 0.1, test: 0.1 });
    const s2 = splitDocuments(docs, { seed: 5, valid: 0.1, test: 0.1 });
    const s3 = splitDocuments(docs, { seed: 6, valid: 0.1, test: 0.1 });
    expect(s2).toEqual(s1);
    expect(s3.ids.test).not.toEqual(s1.ids.test);
    const all = [...s1.ids.train, ...s1.ids.valid, ...s1.ids.test];
    expect(new Set(all).size).toBe(docs.length);
    expect(() => loadTextFiles([join(dir, 'missing.txt')])).toThrow(/missing\.txt: not found/);
    writeFileSync(join(dir, 'broken.txt.gz'), gzipSync('hello').subarray(0, 12));
    expect(() => loadTextFiles([join(dir, 'broken.txt.gz')])).toThrow(/broken\.txt\.gz: corrupt gzip/);
  });
  it('a prepared corpus reloads with the same tokens and fails clearly when corrupt', async () => {
    const dir = tempDir('textcache');
    writeFileSync(join(dir, 'in.txt'), fakeText(30_000, 8));
    const params = { source: [join(dir, 'in.txt')], seed: 1, valid: 0.1, test: 0.1, vocabSize: 320 };
    const m = await prepareTextCorpus(params, join(dir, 'out'));
    const m2 = await prepareTextCorpus(params, join(dir, 'out2'));
    expect(m2.checksum).toBe(m.checksum);
    const c = loadTextCorpus(join(dir, 'out'));
    expect(c.tokenizer.decode(c.tokens.valid)).toBe(c.text('valid'));
    expect(c.tokens.train.length).toBe(m.counts.train.tokens);
    const f = join(dir, 'out', 'test.uint16');
    writeFileSync(f, readFileSync(f).subarray(0, 3));
    expect(() => loadTextCorpus(join(dir, 'out'))).toThrow(/test\.uint16: expected \d+ bytes .* found 3.*prepare-text/);
  });
  it('the KJV loads through the bible command (Debian bible-kjv)', () => {
    const docs = loadKjv();
    expect(docs).toHaveLength(1189);
    expect(docs[0].text.startsWith('In the beginning God created the heaven and the earth.')).toBe(true);
    expect(() => loadKjv({ bibleCommand: 'no-such-bible-cmd' })).toThrow(DataError);
  });
});

describe('LM batches', () => {
  const r = new Rng(11);
  const tokens = Int32Array.from({ length: 1000 }, () => r.int(300));
  it('fixed-length windows with shifted targets, seeded order', () => {
    const a = [...lmBatches(tokens, { seqLen: 16, batchSize: 8, seed: 1 })];
    expect(a).toHaveLength(7); // 62 windows → 7 full batches
    const b = [...lmBatches(tokens, { seqLen: 16, batchSize: 8, seed: 1 })];
    expect(a.map((x) => Array.from(x.x))).toEqual(b.map((x) => Array.from(x.x)));
    const first = [...lmBatches(tokens, { seqLen: 16, batchSize: 8, seed: 2 })][0];
    expect(Array.from(first.x)).not.toEqual(Array.from(a[0].x));
    for (const batch of a) {
      for (let i = 0; i < batch.size; i++) {
        const x = batch.x.subarray(i * 16, (i + 1) * 16);
        const start = tokens.findIndex((_, k) => k % 16 === 0 && tokens.subarray(k, k + 16).every((v, j) => v === x[j]));
        expect(start).toBeGreaterThanOrEqual(0);
        expect(Array.from(batch.y.subarray(i * 16, (i + 1) * 16))).toEqual(Array.from(tokens.subarray(start + 1, start + 17)));
      }
    }
  });
  it('eval sets at 1×/2×/4×/8× the training length cover the same span', () => {
    const sets = lmEvalSets(tokens, { trainLen: 16, multiples: [1, 2, 4, 8], minWindows: 3 });
    expect(sets.map((s) => [s.seqLen, s.size])).toEqual([[16, 24], [32, 12], [64, 6], [128, 3]]);
    for (const s of sets) expect(Array.from(s.y.subarray(0, 5))).toEqual(Array.from(tokens.subarray(1, 6)));
    expect(() => lmEvalSets(tokens.subarray(0, 100), { trainLen: 16 })).toThrow(/cannot hold one window of 129/);
  });
});
