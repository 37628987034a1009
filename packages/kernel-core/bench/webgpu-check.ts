/**
 * WGSL correctness run (forward + backward) without vitest, for GPU hosts reached through the offline
 * bundle: the random cases of test/webgpu.test.ts (100 per kind, N ≤ 80) plus longer ones (N ≤ 600,
 * several tiles), on the first high-performance WebGPU adapter, under the 2× naive-error rule of
 * src/webgpu/check.ts. Prints the adapter, the worst flash/naive error ratio per output, every
 * failure, and `N passed, N failed`; exit 1 on failure.
 *   tsx packages/kernel-core/bench/webgpu-check.ts [--seed N] [--cases 100] [--tiles <overrides>]
 */
import { parseArgs } from 'node:util';
import { makeRng, testSeed } from '../src/testing/rng.js';
import { randomAttentionCase, type AttentionCase } from '../src/testing/random-case.js';
import type { AttentionOutputName } from '../src/testing/compare.js';
import { requestWebGPUDevice } from '../src/webgpu/device.js';
import { WebGPUAttention, parseTileOverrides } from '../src/webgpu/host.js';
import { checkWebGPUCase, runWebGPUCase } from '../src/webgpu/check.js';

const { values: args } = parseArgs({
  options: {
    seed: { type: 'string', default: String(testSeed()) },
    cases: { type: 'string', default: '100' },
    tiles: { type: 'string', default: '' },
  },
});
const seed = Number(args.seed);
const perKind = Number(args.cases);
if (!Number.isInteger(seed) || !(Number.isInteger(perKind) && perKind > 0)) {
  throw new Error(`webgpu-check: --seed and --cases must be integers (cases > 0), got --seed ${args.seed} --cases ${args.cases}`);
}

const { device, adapterName } = await requestWebGPUDevice();
const host = new WebGPUAttention(device, { tiles: parseTileOverrides(args.tiles) });
console.log(`adapter: ${adapterName}\nseed ${seed}, ${perKind} short + ${Math.ceil(perKind / 5)} long cases per kind${args.tiles === '' ? '' : `, tiles ${args.tiles}`}`);

const worst: Partial<Record<AttentionOutputName, number>> = {};
let passed = 0, failed = 0;
for (const kind of ['sigmoid', 'softmax'] as const) {
  const rng = makeRng(seed + (kind === 'sigmoid' ? 0 : 1));
  const cases: AttentionCase[] = [];
  for (let n = 0; n < perKind; n++) cases.push(randomAttentionCase(rng, { kind }));
  for (let n = 0; n < Math.ceil(perKind / 5); n++) cases.push(randomAttentionCase(rng, { kind, maxN: 600, maxBatch: 1, maxKvHeads: 2 }));
  for (const c of cases) {
    const check = checkWebGPUCase(c, await runWebGPUCase(host, c, 'flash'), await runWebGPUCase(host, c, 'naive'));
    for (const [name, ratio] of Object.entries(check.ratios) as Array<[AttentionOutputName, number]>) {
      worst[name] = Math.max(worst[name] ?? 0, ratio);
    }
    if (check.ok) passed++;
    else {
      failed++;
      console.log(`FAIL ${check.message}`);
    }
  }
}
console.log(`worst error / naive error (rule: ≤ 2): ${Object.entries(worst).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
