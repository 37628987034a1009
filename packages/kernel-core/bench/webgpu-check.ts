/**
 * WGSL correctness run (forward + backward) without vitest, for GPU hosts reached through the offline
 * bundle (`run.sh webgpu-check`): per WGSL kind, --cases random cases of the shared generator (N ≤ 80)
 * plus one long one per five (N ≤ 600, several tiles), on the first high-performance WebGPU adapter,
 * under the accuracy rule (src/testing/accuracy.ts) with the naive WGSL path on the same device as a
 * second yardstick. Prints the adapter, the worst error ratio per output, every failure, and
 * `N passed, N failed`; exit 1 on failure.
 *   tsx packages/kernel-core/bench/webgpu-check.ts [--seed 1] [--cases 100] [--tiles <overrides>]   (--help lists the options)
 */
import { cli, runMain } from '@sigattn/common';
import { requestWebGPUDevice } from '../src/webgpu/device.js';
import { WEBGPU_KINDS, WebGPUAttention, parseTileOverrides } from '../src/webgpu/host.js';
import { runWebGPUCase } from '../src/webgpu/check.js';
import { checkAttentionCase, type AttentionOutputName } from '../src/testing/accuracy.js';
import { randomAttentionCases } from '../src/testing/random-case.js';
import { badOption } from './options.js';

runMain(async () => {
  const args = await cli('webgpu-check')
    .usage('$0 [options]: the WGSL kernels vs the float64 reference on this machine\'s WebGPU adapter')
    .option('seed', { type: 'number', default: 1, describe: 'seed of the random cases (a failure prints the seed and case number that replay it)' })
    .option('cases', { type: 'number', default: 100, describe: 'short random cases per kind (plus one long case per five)' })
    .option('tiles', { type: 'string', default: '', describe: 'tile plan overrides, e.g. fwd-sigmoid/D64=8x4,bwd-dq-softmax/D128=4x4' })
    .check((a) => Number.isInteger(a.seed) || `--seed must be an integer, got ${a.seed}`)
    .check((a) => (Number.isInteger(a.cases) && a.cases > 0) || `--cases must be a positive integer, got ${a.cases}`)
    .parse();
  let tiles;
  try {
    tiles = parseTileOverrides(args.tiles);
  } catch (e) {
    badOption('tiles', `valid tile overrides (${(e as Error).message})`, args.tiles);
  }

  const { device, adapterName } = await requestWebGPUDevice();
  const host = new WebGPUAttention(device, { tiles });
  console.log(`adapter: ${adapterName}\nseed ${args.seed}, ${args.cases} short + ${Math.ceil(args.cases / 5)} long cases per kind${args.tiles === '' ? '' : `, tiles ${args.tiles}`}`);

  const worst: Partial<Record<AttentionOutputName, number>> = {};
  let passed = 0, failed = 0;
  for (const [k, kind] of WEBGPU_KINDS.entries()) {
    const cases = [
      ...randomAttentionCases(args.seed + 2 * k, args.cases, { kind }),
      ...randomAttentionCases(args.seed + 2 * k + 1, Math.ceil(args.cases / 5), { kind, maxN: 600, maxBatch: 1, maxKvHeads: 2 }),
    ];
    for (const c of cases) {
      const check = checkAttentionCase(c, await runWebGPUCase(host, c, 'flash'), await runWebGPUCase(host, c, 'naive'));
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
  console.log(`worst error / max(naive error, floor) (rule: ≤ 2): ${Object.entries(worst).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
  console.log(`${passed} passed, ${failed} failed`);
  // Dawn's GPU object keeps Node alive (device.ts); runMain exits explicitly.
  return failed === 0 ? 0 : 1;
});
