import { writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataError, Rng } from '@sigattn/common';
import {
  channelStats,
  encodeCifar10,
  encodeIdx,
  FASHION_MNIST_MANIFEST,
  imageBatches,
  loadCifar10,
  loadFashionMnist,
  manifestFor,
  parseCifar10,
  parseIdx,
  readIdxFile,
  verifyFiles,
  type ImageSplit,
} from '../src/index.js';
import { tempDirs } from './helpers.js';

const tempDir = tempDirs('images');

const randomBytes = (n: number, seed: number): Uint8Array => {
  const r = new Rng(seed);
  return Uint8Array.from({ length: n }, () => r.int(256));
};

/** Write a fake Fashion-MNIST directory (gzipped IDX) with random content. */
function fakeFashion(dir: string, n: number, seed: number): { images: Uint8Array; labels: Uint8Array } {
  const images = randomBytes(n * 28 * 28, seed);
  const labels = Uint8Array.from(randomBytes(n, seed + 1), (v) => v % 10);
  for (const [prefix, count] of [['train', n], ['t10k', n]] as const) {
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte.gz`), gzipSync(encodeIdx([count, 28, 28], images)));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte.gz`), gzipSync(encodeIdx([count], labels)));
  }
  return { images, labels };
}

describe('IDX', () => {
  it('round-trips encode → parse for random arrays', () => {
    const data = randomBytes(3 * 5 * 7, 11);
    const a = parseIdx(encodeIdx([3, 5, 7], data), 'mem');
    expect(a.shape).toEqual([3, 5, 7]);
    expect(Array.from(a.data)).toEqual(Array.from(data));
  });
  it('names the file and the mismatch for truncated and corrupt files', () => {
    const dir = tempDir('idx');
    const buf = encodeIdx([4, 8, 8], randomBytes(256, 3));
    const truncated = join(dir, 'trunc-idx3-ubyte');
    writeFileSync(truncated, buf.subarray(0, buf.length - 10));
    expect(() => readIdxFile(truncated)).toThrow(DataError);
    expect(() => readIdxFile(truncated)).toThrow(/trunc-idx3-ubyte.*246 bytes.*needs 256/);
    const badGz = join(dir, 'bad.gz');
    writeFileSync(badGz, gzipSync(buf).subarray(0, 40));
    expect(() => readIdxFile(badGz)).toThrow(/bad\.gz: corrupt gzip/);
    expect(() => parseIdx(Uint8Array.of(1, 2, 8, 1), 'x')).toThrow(/magic bytes 00 00/);
    expect(() => readIdxFile(join(dir, 'missing'))).toThrow(/missing: file not found/);
  });
});

describe('Fashion-MNIST', () => {
  it('loads a generated directory, and the manifest check rejects files that differ from it', () => {
    const dir = tempDir('fmnist');
    const { images, labels } = fakeFashion(dir, 20, 5);
    // generated files are not Debian's: verification must say so, naming the file and the fix
    expect(() => loadFashionMnist('train', dir, undefined, { verify: true })).toThrow(/train-images-idx3-ubyte\.gz: expected 26421856 bytes .* found \d+.*verify: false/);
    const s = loadFashionMnist('train', dir, 7); // other directories are not verified by default
    expect(s.count).toBe(7);
    expect(Array.from(s.images)).toEqual(Array.from(images.subarray(0, 7 * 784)));
    expect(Array.from(s.labels)).toEqual(Array.from(labels.subarray(0, 7)));
  });
  it('verifyFiles catches a checksum mismatch with an equal size', () => {
    const dir = tempDir('manifest');
    const data = randomBytes(1000, 9);
    writeFileSync(join(dir, 'a.bin'), data);
    const m = manifestFor(dir, ['a.bin'], { dataset: 'toy', source: 'test', license: 'none' });
    expect(() => verifyFiles(dir, m)).not.toThrow();
    data[500] ^= 0xff;
    writeFileSync(join(dir, 'a.bin'), data);
    expect(() => verifyFiles(dir, m, { sizesOnly: true })).not.toThrow();
    expect(() => verifyFiles(dir, m, { hint: 'regenerate it' })).toThrow(/a\.bin: expected sha256 [0-9a-f]{64} .* found [0-9a-f]{64}.*regenerate it/);
  });
  it('datasets/manifests/fashion-mnist.json matches the built-in manifest', () => {
    const json = JSON.parse(readFileSync(new URL('../../../datasets/manifests/fashion-mnist.json', import.meta.url), 'utf8'));
    expect(json).toEqual(FASHION_MNIST_MANIFEST);
  });
  it.runIf(existsSync('/usr/share/datasets/fashion-mnist'))('the installed Debian files pass the manifest', () => {
    const t = loadFashionMnist('test', undefined, 100);
    expect([t.count, t.height, t.width]).toEqual([100, 28, 28]);
  });
});

describe('CIFAR-10', () => {
  const split = (n: number, seed: number): ImageSplit => ({
    images: randomBytes(n * 3072, seed),
    labels: Uint8Array.from(randomBytes(n, seed + 1), (v) => v % 10),
    count: n,
    height: 32,
    width: 32,
    channels: 3,
  });
  it('parses records (planar RGB → HWC) and round-trips', () => {
    const s = split(5, 21);
    const buf = encodeCifar10(s);
    expect(buf.length).toBe(5 * 3073);
    // planar layout: the first record's green plane starts at byte 1 + 1024
    expect(buf[1 + 1024 + 7]).toBe(s.images[7 * 3 + 1]);
    const p = parseCifar10(buf, 'mem');
    expect(Array.from(p.images)).toEqual(Array.from(s.images));
    expect(Array.from(p.labels)).toEqual(Array.from(s.labels));
  });
  it('loads a split directory and rejects truncated files and bad labels', () => {
    const dir = tempDir('cifar');
    const parts = [1, 2, 3, 4, 5].map((i) => split(3, 100 + i));
    parts.forEach((p, i) => writeFileSync(join(dir, `data_batch_${i + 1}.bin`), encodeCifar10(p)));
    const train = loadCifar10('train', dir, 10);
    expect(train.count).toBe(10);
    expect(Array.from(train.labels)).toEqual([...parts[0].labels, ...parts[1].labels, ...parts[2].labels, ...parts[3].labels.subarray(0, 1)]);
    expect(() => loadCifar10('test', dir)).toThrow(/test_batch\.bin: file not found.*cifar-10-binary/);
    const buf = encodeCifar10(split(2, 7));
    writeFileSync(join(dir, 'test_batch.bin'), buf.subarray(0, buf.length - 1));
    expect(() => loadCifar10('test', dir)).toThrow(/test_batch\.bin: expected a whole number of 3073-byte/);
    buf[3073] = 42;
    expect(() => parseCifar10(buf, 'f.bin')).toThrow(/f\.bin: record 1 has label 42/);
  });
});

describe('batches', () => {
  const s: ImageSplit = { images: randomBytes(37 * 4 * 4 * 3, 4), labels: Uint8Array.from({ length: 37 }, (_, i) => i), count: 37, height: 4, width: 4, channels: 3 };
  it('same seed → same batches; another seed → another order; every example once per epoch', () => {
    const a = [...imageBatches(s, { batchSize: 8, seed: 1 })];
    const b = [...imageBatches(s, { batchSize: 8, seed: 1 })];
    const c = [...imageBatches(s, { batchSize: 8, seed: 2 })];
    expect(a.map((x) => Array.from(x.y))).toEqual(b.map((x) => Array.from(x.y)));
    expect(a.map((x) => Array.from(x.x))).toEqual(b.map((x) => Array.from(x.x)));
    expect(a.flatMap((x) => Array.from(x.y))).not.toEqual(c.flatMap((x) => Array.from(x.y)));
    expect(a.flatMap((x) => Array.from(x.y)).sort((p, q) => p - q)).toEqual(Array.from({ length: 37 }, (_, i) => i));
    expect([...imageBatches(s, { batchSize: 8, seed: 1, dropLast: true })]).toHaveLength(4);
  });
  it('normalises per channel with the given statistics (mean 0, std 1 with the data stats)', () => {
    const stats = channelStats(s.images, 3);
    const all = [...imageBatches(s, { batchSize: 37, ...stats })][0];
    for (let c = 0; c < 3; c++) {
      const v = Array.from(all.x).filter((_, i) => i % 3 === c);
      const m = v.reduce((p, q) => p + q, 0) / v.length;
      const sd = Math.sqrt(v.reduce((p, q) => p + (q - m) ** 2, 0) / v.length);
      expect(m).toBeCloseTo(0, 4);
      expect(sd).toBeCloseTo(1, 4);
    }
    const first = [...imageBatches(s, { batchSize: 1, mean: [0.1, 0.2, 0.3], std: [0.5, 0.5, 0.5] })][0];
    expect(first.x[2]).toBeCloseTo((s.images[2] / 255 - 0.3) / 0.5, 6);
  });
});
