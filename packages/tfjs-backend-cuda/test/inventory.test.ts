/**
 * kernels.json is exact: the kernels one training step of every zoo variant dispatches on tfjs cpu
 * (recorded again here, fixed seeds, about a second) are the file's kernels, with the same dtypes and
 * users, and the README's table matches; and every entry has a native cuda kernel (not the cpu
 * fallback), so a new zoo op fails CI until the cuda backend implements it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '@sigattn/common';
import { nativeCudaKernels, recordKernelInventory, type KernelInventory } from '../src/index.js';
import { familyOf, familyTable } from '../src/families.js';
import {
  RECORD_COMMAND, changedUses, formatInventory, missingKernels, parseInventory, readmeTable, unusedKernels, withReadmeTable,
} from '../src/inventory-file.js';
import { withKernelListener } from '../src/recorder.js';
import { ZOO_VARIANTS } from '../src/zoo-variants.js';

const KERNELS_JSON = fileURLToPath(new URL('../kernels.json', import.meta.url));
const README = fileURLToPath(new URL('../README.md', import.meta.url));

let recorded: KernelInventory;
let committed: KernelInventory;

beforeAll(async () => {
  recorded = await recordKernelInventory();
  committed = parseInventory(readFileSync(KERNELS_JSON, 'utf8'), KERNELS_JSON);
});

describe('kernels.json matches a fresh recording', () => {
  it('every kernel a zoo training step dispatches is in kernels.json', () => {
    const problems = missingKernels(committed, recorded);
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('every kernel in kernels.json is still dispatched', () => {
    const problems = unusedKernels(committed, recorded);
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('dtypes, users and the variant list are unchanged', () => {
    const problems = changedUses(committed, recorded);
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it("the README's family table is the recording's", () => {
    expect(readmeTable(readFileSync(README, 'utf8')), `README.md's inventory table is stale; run ${RECORD_COMMAND}`).toBe(familyTable(recorded));
  });

  it('kernels.json is the formatted recording, byte for byte', () => {
    expect(readFileSync(KERNELS_JSON, 'utf8') === formatInventory(recorded), `kernels.json differs from the recording; run ${RECORD_COMMAND}`).toBe(true);
  });
});

describe('the cuda backend', () => {
  it('has a native kernel for every kernel in kernels.json', () => {
    const native = new Set(nativeCudaKernels());
    const missing = Object.keys({ ...committed.kernels, ...committed.custom }).filter((k) => !native.has(k));
    expect(missing, `no cuda kernel for ${missing.join(', ')}: add one under packages/tfjs-backend-cuda/src/kernels/`).toEqual([]);
  });
});

describe('the recording', () => {
  it('has every variant, each dispatching kernels, and sees the backward pass', () => {
    expect(recorded.variants).toEqual(ZOO_VARIANTS.map((v) => v.name));
    const users = new Set(Object.values({ ...recorded.kernels, ...recorded.custom }).flatMap((u) => u.usedBy));
    expect(recorded.variants.filter((v) => !users.has(v))).toEqual([]);
    // The fused op's backward kernel runs only inside the gradient; a frozen backbone (linear probe) never runs it.
    const bwd = recorded.custom.SigattnAttentionGrad?.usedBy ?? [];
    expect(bwd).toContain('vit');
    expect(bwd).not.toContain('linear-probe');
    expect(recorded.custom.SigattnAttention?.usedBy).toContain('linear-probe');
    // Custom kernels are not listed again among tfjs's.
    expect(Object.keys(recorded.kernels).filter((k) => k in recorded.custom)).toEqual([]);
  });

  it('a missing kernel fails with one line naming the kernel, a variant that used it and the command', () => {
    const [name, use] = Object.entries(recorded.kernels)[0];
    const without = structuredClone(recorded);
    delete without.kernels[name];
    const problems = missingKernels(without, recorded);
    expect(problems).toHaveLength(1);
    expect(problems[0]).not.toContain('\n');
    expect(problems[0]).toContain(`kernel ${name} `);
    expect(problems[0]).toContain(use.usedBy[0]);
    expect(problems[0]).toContain(RECORD_COMMAND);
    expect(unusedKernels(without, recorded)).toEqual([]);
  });

  it('a kernel no longer dispatched, or with new users, fails', () => {
    const stale = structuredClone(recorded);
    stale.kernels.Conv2D = { dtypes: ['float32'], usedBy: ['asr'] };
    expect(unusedKernels(stale, recorded)).toEqual([expect.stringContaining('kernel Conv2D is in kernels.json')]);
    const fewer = structuredClone(recorded);
    fewer.custom.SigattnAttention.usedBy = fewer.custom.SigattnAttention.usedBy.filter((v) => v !== 'lm');
    expect(changedUses(fewer, recorded)).toEqual([expect.stringContaining('kernel SigattnAttention: users changed (new: lm; gone: none)')]);
  });
});

describe('withKernelListener', () => {
  it('sees forward and gradient kernels with dtypes, and puts the original kernels back', async () => {
    const original = tf.getKernel('Sigmoid', 'cpu')?.kernelFunc;
    const x = tf.tensor1d([0.5, -1, 2]);
    const seen = async (f: () => void) => {
      const names = new Map<string, Set<string>>();
      await withKernelListener('cpu', (name, dtypes) => names.set(name, new Set([...(names.get(name) ?? []), ...dtypes])), async () => f());
      return names;
    };
    const forward = await seen(() => tf.sum(tf.sigmoid(x)).dispose());
    expect([...forward.keys()].sort()).toEqual(['Sigmoid', 'Sum']);
    expect([...(forward.get('Sigmoid') ?? [])]).toEqual(['float32']);
    const backward = await seen(() => tf.grad((t: tf.Tensor) => tf.sum(tf.sigmoid(t)))(x).dispose());
    expect([...forward.keys()].every((k) => backward.has(k))).toBe(true);
    expect(backward.size).toBeGreaterThan(forward.size);
    await expect(withKernelListener('cpu', () => {}, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(tf.getKernel('Sigmoid', 'cpu')?.kernelFunc).toBe(original);
    x.dispose();
  });
});

describe('files', () => {
  it('a malformed kernels.json is a one-line ConfigError naming the file', () => {
    expect(() => parseInventory('{', 'k.json')).toThrow(ConfigError);
    expect(() => parseInventory('{', 'k.json')).toThrow(/^k\.json: not valid JSON/);
    expect(() => parseInventory('{"variants":[],"kernels":{"Add":{"dtypes":"float32"}},"custom":{}}', 'k.json')).toThrow(/k\.json kernels\.Add: expected \{ dtypes/);
    expect(parseInventory(formatInventory(recorded), 'k.json')).toEqual(recorded);
  });

  it('a README without the table markers is an error; with them the table is replaced', () => {
    expect(() => withReadmeTable('# x\n', '| t |', 'README.md')).toThrow(/README\.md: the lines .* are missing/);
    const readme = readFileSync(README, 'utf8');
    expect(readmeTable(withReadmeTable(readme, '| new |', 'README.md'))).toBe('| new |');
  });

  it('families: known kernels by name, unknown ones as other', () => {
    expect(familyOf('BatchMatMul')).toBe('matmul');
    expect(familyOf('Sum')).toBe('reductions');
    expect(familyOf('NoSuchKernel')).toBe('other');
  });
});
