import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConfigError,
  DataError,
  Rng,
  cli,
  closestName,
  deriveSeed,
  editDistance,
  explainWasmAbort,
  formatMeanStd,
  makeTempDir,
  markdownTable,
  meanStd,
  parseCsv,
  reportUserError,
  RunError,
  sha256,
  timeIt,
  toCsv,
  writeFileAtomic,
} from '../src/index.js';

const temps: { remove: () => void }[] = [];
afterEach(() => temps.splice(0).forEach((t) => t.remove()));
const tempDir = () => {
  const t = makeTempDir('sigattn-common-');
  temps.push(t);
  return t.path;
};

describe('errors', () => {
  it('prints a user error as one line and returns exit code 2', () => {
    const lines: string[] = [];
    expect(reportUserError(new DataError('x.bin: truncated; rebuild it'), (l) => lines.push(l))).toBe(2);
    expect(lines).toEqual(['error: x.bin: truncated; rebuild it']);
  });
  it('rethrows anything that is not a user error', () => {
    expect(() => reportUserError(new TypeError('bug'), () => {})).toThrow(TypeError);
  });
  it('explains a wasm abort as running out of the 4 GiB heap, naming the fix; other errors pass through', () => {
    const { WebAssembly: wasm } = globalThis as unknown as { WebAssembly: { RuntimeError: ErrorConstructor } };
    const abort = new wasm.RuntimeError('Aborted()');
    const e = explainWasmAbort(abort, 'lower train.batchSize (256)');
    expect(e).toBeInstanceOf(RunError);
    expect((e as Error).message).toMatch(/^the wasm backend aborted \(Aborted\(\)\), almost always because it ran out of memory: .*4 GiB; lower train\.batchSize \(256\)$/);
    expect((e as Error).cause).toBe(abort);
    const bug = new TypeError('bug');
    expect(explainWasmAbort(bug, 'x')).toBe(bug);
  });
  it('suggests the closest name and measures edits', () => {
    expect(closestName('qknorm', ['kind', 'bias', 'qkNorm', 'causal'])).toBe('qkNorm');
    expect(closestName('zzzzzz', ['kind', 'bias'])).toBeUndefined();
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance(['a', 'b'], ['b'])).toBe(1);
  });
});

describe('fs', () => {
  it('writes atomically, creating the parent and leaving no temp file', () => {
    const dir = tempDir();
    const path = join(dir, 'a', 'b.txt');
    writeFileAtomic(path, 'one');
    writeFileAtomic(path, new Uint8Array([116, 119, 111]));
    expect(readFileSync(path, 'utf8')).toBe('two');
    expect(readdirSync(join(dir, 'a'))).toEqual(['b.txt']);
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
  it('removes its temp dirs', () => {
    const t = makeTempDir();
    t.remove();
    expect(existsSync(t.path)).toBe(false);
  });
});

describe('rng', () => {
  it('is reproducible per seed and differs across seeds', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(new Rng(8).next()).not.toBe(xs[0]);
    expect(deriveSeed(1, 2, 3)).toBe(deriveSeed(1, 2, 3));
    expect(deriveSeed(1, 2, 3)).not.toBe(deriveSeed(1, 3, 2));
  });
  it('draws permutations and normals with the right statistics', () => {
    const r = new Rng(3);
    expect([...r.permutation(10)].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const z = r.normalF32(20000);
    const { mean, std } = meanStd(Array.from(z));
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(std - 1)).toBeLessThan(0.03);
  });
});

describe('tables', () => {
  it('round-trips CSV with quoting and numbers', () => {
    const csv = toCsv([{ name: 'a,b', v: 1.5 }, { name: 'c', v: 2 }]);
    expect(csv).toBe('name,v\n"a,b",1.5\nc,2\n');
    expect(parseCsv(csv)).toEqual([{ name: 'a,b', v: 1.5 }, { name: 'c', v: 2 }]);
  });
  it('writes markdown tables and mean ± std', () => {
    expect(markdownTable(['a', 'b'], [[1, 'x']], ['r', 'l'])).toBe('| a | b |\n| ---: | --- |\n| 1 | x |');
    expect(formatMeanStd([1, 2, 3], 1)).toBe('2.0 ± 1.0');
    expect(formatMeanStd([0.5], 1, 100)).toBe('50.0');
  });
});

describe('bench', () => {
  it('times warm-up and repeats', async () => {
    let calls = 0;
    const t = await timeIt(() => calls++, { warmup: 2, repeats: 5 });
    expect(calls).toBe(7);
    expect(t.repeats).toBe(5);
    expect(t.minMs).toBeLessThanOrEqual(t.medianMs);
  });
});

describe('cli', () => {
  it('reports an unknown option as a one-line ConfigError', async () => {
    const parser = cli('demo', ['--nope']).option('n', { type: 'number', describe: 'count' });
    await expect(async () => parser.parse()).rejects.toThrow(ConfigError);
  });
  it('reports a failed .check and a missing value as one-line ConfigErrors', async () => {
    const parser = (argv: string[]) =>
      cli('demo', argv)
        .option('n', { type: 'number', requiresArg: true, describe: 'count' })
        .check((a) => a.n === undefined || Number.isInteger(a.n) || `--n: expected an integer, found ${a.n}`);
    await expect(async () => parser(['--n=1.5']).parse()).rejects.toThrow(/^demo: --n: expected an integer, found 1\.5 \(run with --help/);
    await expect(async () => parser(['--n']).parse()).rejects.toThrow(ConfigError);
  });
  it('parses nx-style --key=value', async () => {
    const argv = await cli('demo', ['--n=3']).option('n', { type: 'number', describe: 'count' }).parse();
    expect(argv.n).toBe(3);
  });
});
