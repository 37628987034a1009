/**
 * Byte-level BPE (GPT-2 style): text is pre-split into word-like pieces, each piece's UTF-8 bytes are merged by
 * learned pair merges. Training counts pieces once and updates pair counts incrementally, so a 4 MB corpus trains
 * in seconds. Ties between equally frequent pairs go to the smaller (left id, right id), so training is deterministic.
 * Decoding concatenates token bytes, so encode → decode returns the input exactly.
 */
import { DataError, writeFileAtomic } from '@sigattn/common';
import { readJsonFile } from '../fsutil.js';
import type { Tokenizer } from './tokenizer.js';

// GPT-2's pre-tokenizer; any gap it leaves is kept as its own piece, so the pieces always cover the text.
const PIECE = /'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export function pieces(text: string): string[] {
  const out: string[] = [];
  let last = 0;
  for (const m of text.matchAll(PIECE)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(m[0]);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

const SHIFT = 2 ** 20; // pair key = left · 2^20 + right; vocabularies stay below 2^20
const key = (a: number, b: number): number => a * SHIFT + b;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

interface BpeFile {
  type: 'byte-bpe';
  version: 1;
  vocabSize: number;
  merges: [number, number][];
}

export class BpeTokenizer implements Tokenizer {
  readonly merges: readonly [number, number][];
  private readonly ranks = new Map<number, number>();
  private readonly bytes: Uint8Array[];
  private readonly cache = new Map<string, Int32Array>();

  constructor(merges: readonly [number, number][]) {
    this.merges = merges;
    this.bytes = Array.from({ length: 256 }, (_, i) => Uint8Array.of(i));
    merges.forEach(([a, b], i) => {
      const id = 256 + i;
      if (!(a < id && b < id && a >= 0 && b >= 0)) throw new DataError(`BPE merge ${i}: expected ids below ${id}, found [${a}, ${b}]`);
      this.ranks.set(key(a, b), i);
      const m = new Uint8Array(this.bytes[a].length + this.bytes[b].length);
      m.set(this.bytes[a]);
      m.set(this.bytes[b], this.bytes[a].length);
      this.bytes.push(m);
    });
  }

  get vocabSize(): number {
    return 256 + this.merges.length;
  }

  /** Learn merges on `text` until the vocabulary has `vocabSize` tokens (or no pair occurs twice). */
  static train(text: string, vocabSize: number, onProgress?: (merges: number) => void): BpeTokenizer {
    if (!Number.isInteger(vocabSize) || vocabSize < 256 || vocabSize >= SHIFT) {
      throw new RangeError(`BPE vocabSize must be an integer in [256, ${SHIFT}), found ${vocabSize}`);
    }
    const freq = new Map<string, number>();
    for (const p of pieces(text)) freq.set(p, (freq.get(p) ?? 0) + 1);
    const words: number[][] = [];
    const counts: number[] = [];
    for (const [p, c] of freq) {
      words.push(Array.from(utf8.encode(p)));
      counts.push(c);
    }
    const pairCount = new Map<number, number>();
    const where = new Map<number, Set<number>>();
    const addWord = (w: number, sign: number): void => {
      const s = words[w];
      for (let i = 0; i + 1 < s.length; i++) {
        const k = key(s[i], s[i + 1]);
        pairCount.set(k, (pairCount.get(k) ?? 0) + sign * counts[w]);
        if (sign > 0) {
          let set = where.get(k);
          if (!set) where.set(k, (set = new Set()));
          set.add(w);
        }
      }
    };
    words.forEach((_, w) => addWord(w, 1));
    const merges: [number, number][] = [];
    while (256 + merges.length < vocabSize) {
      let best = -1;
      let bestCount = 1; // a pair must occur at least twice to be worth a token
      for (const [k, c] of pairCount) if (c > bestCount || (c === bestCount && c > 1 && k < best)) [best, bestCount] = [k, c];
      if (best < 0) break;
      const a = Math.floor(best / SHIFT);
      const b = best % SHIFT;
      const id = 256 + merges.length;
      merges.push([a, b]);
      for (const w of where.get(best) ?? []) {
        const s = words[w];
        let has = false;
        for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) has = true;
        if (!has) continue; // stale entry: an earlier merge already consumed this pair in w
        addWord(w, -1);
        const merged: number[] = [];
        for (let i = 0; i < s.length; i++) {
          if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
            merged.push(id);
            i++;
          } else merged.push(s[i]);
        }
        words[w] = merged;
        addWord(w, 1);
      }
      pairCount.delete(best);
      where.delete(best);
      if (onProgress && merges.length % 500 === 0) onProgress(merges.length);
    }
    return new BpeTokenizer(merges);
  }

  private encodePiece(p: string): Int32Array {
    const hit = this.cache.get(p);
    if (hit) return hit;
    let s = Array.from(utf8.encode(p));
    for (;;) {
      let bestRank = Infinity;
      for (let i = 0; i + 1 < s.length; i++) {
        const r = this.ranks.get(key(s[i], s[i + 1]));
        if (r !== undefined && r < bestRank) bestRank = r;
      }
      if (bestRank === Infinity) break;
      const [a, b] = this.merges[bestRank];
      const merged: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          merged.push(256 + bestRank);
          i++;
        } else merged.push(s[i]);
      }
      s = merged;
    }
    const ids = Int32Array.from(s);
    if (this.cache.size < 200_000) this.cache.set(p, ids);
    return ids;
  }

  encode(text: string): Int32Array {
    const parts = pieces(text).map((p) => this.encodePiece(p));
    const out = new Int32Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    let n = 0;
    for (let i = 0; i < ids.length; i++) {
      const t = this.bytes[ids[i]];
      if (!t) throw new RangeError(`BPE decode: token id ${ids[i]} is outside the vocabulary (size ${this.vocabSize})`);
      n += t.length;
    }
    const buf = new Uint8Array(n);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      buf.set(this.bytes[ids[i]], at);
      at += this.bytes[ids[i]].length;
    }
    return utf8Decoder.decode(buf);
  }

  toJSON(): BpeFile {
    return { type: 'byte-bpe', version: 1, vocabSize: this.vocabSize, merges: this.merges.map(([a, b]) => [a, b]) };
  }

  save(path: string): void {
    writeFileAtomic(path, JSON.stringify(this.toJSON()));
  }

  static load(path: string): BpeTokenizer {
    const hint = 'retrain it with: npx nx run data:prepare-text';
    const f = readJsonFile<Partial<BpeFile>>(path, hint);
    if (f.type !== 'byte-bpe' || f.version !== 1 || !Array.isArray(f.merges)) {
      throw new DataError(`${path}: expected a byte-bpe tokenizer (type 'byte-bpe', version 1, merges[]), found type ${JSON.stringify(f.type)} version ${JSON.stringify(f.version)}; ${hint}`);
    }
    const tok = new BpeTokenizer(f.merges);
    if (f.vocabSize !== tok.vocabSize) throw new DataError(`${path}: vocabSize ${f.vocabSize} does not match 256 + ${f.merges.length} merges; the file is corrupt; ${hint}`);
    return tok;
  }
}
