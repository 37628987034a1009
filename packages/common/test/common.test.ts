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
  lineChartSvg,
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
    expect(toCsv([{ causal: true, ok: false }])).toBe('causal,ok\ntrue,false\n');
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

describe('lineChartSvg', () => {
  const panel = (logX = false) => ({
    title: 'perplexity',
    xLabel: '× training length',
    logX,
    series: [
      { name: 'softmax', points: [[4, 30], [1, 25], [2, 27]] as [number, number][] },
      { name: 'sigmoid', points: [[1, 26], [2, Number.NaN], [4, 31]] as [number, number][] },
    ],
  });

  it('draws one line per series with its finite points, in x order, deterministically', () => {
    const svg = lineChartSvg([panel()], 'demo');
    expect(svg).toBe(lineChartSvg([panel()], 'demo'));
    const lines = [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => m[1].split(' ').map((p) => p.split(',').map(Number)));
    expect(lines.map((l) => l.length)).toEqual([3, 2]);
    const xs = lines[0].map(([x]) => x);
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
    expect(svg).toContain('× training length');
  });

  it('spaces a log x axis evenly over doublings', () => {
    const [line] = [...lineChartSvg([panel(true)], 'demo').matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => m[1].split(' ').map((p) => Number(p.split(',')[0])));
    expect(line[1] - line[0]).toBeCloseTo(line[2] - line[1], 0);
  });

  it('keeps a series colour across panels and wraps a long legend', () => {
    const many = Array.from({ length: 12 }, (_, i) => ({ name: `v${i}`, points: [[1, i], [2, i + 1]] as [number, number][] }));
    const svg = lineChartSvg([{ title: 'a', xLabel: 'x', series: many }, { title: 'b', xLabel: 'x', series: [...many].reverse() }], 'demo');
    const colours = [...svg.matchAll(/<polyline fill="none" stroke="(#[0-9a-f]+)" stroke-width="2"( stroke-dasharray="[^"]+")?/g)].map((m) => m[1] + (m[2] ?? ''));
    expect(colours.slice(0, 12)).toEqual(colours.slice(12).reverse());
    expect(new Set(colours.slice(0, 12)).size).toBe(12);
    const legendYs = new Set([...svg.matchAll(/<line x1="\d+" y1="(\d+)"/g)].map((m) => m[1]));
    expect(legendYs.size).toBeGreaterThan(1);
  });
});
