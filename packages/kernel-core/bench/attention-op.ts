/**
 * Times the fused TypeScript attention op against the composed tfjs version on cpu and wasm,
 * forward and forward+backward (tf.grads), median of repeated runs after warm-up. Both backends run on
 * one thread, so it reports process CPU time next to wall time: on a shared, loaded host CPU time is
 * the stable number, and its minimum the least disturbed one.
 *   npx tsx packages/kernel-core/bench/attention-op.ts [--backends wasm,cpu] [--reps 20]
 */
import * as tf from '@tensorflow/tfjs';
import { attention, composedAttention, initBackend, makeRng, randomNormalF32, type AttentionSpec, type BackendName } from '../src/index.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const backends = opt('backends', 'wasm,cpu').split(',') as BackendName[];
const reps = Number(opt('reps', '20'));

// The quickstart ViT's attention (batch 128, 4 heads, 17 tokens, head dim 16), then longer sequences.
const shapes: [number, number, number, number][] = opt('shapes', '128x4x17x16,8x4x128x32,2x4x512x64')
  .split(',')
  .map((s) => s.split('x').map(Number) as [number, number, number, number]);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Median wall and CPU milliseconds of fn (outputs read back), after 3 warm-up runs. */
async function time(fn: () => tf.Tensor | tf.Tensor[]): Promise<string> {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < reps + 3; i++) {
    const t0 = performance.now();
    const c0 = cpuMs();
    const out = fn();
    const outs = Array.isArray(out) ? out : [out];
    for (const t of outs) await t.data();
    if (i >= 3) {
      wall.push(performance.now() - t0);
      cpu.push(cpuMs() - c0);
    }
    tf.dispose(outs);
  }
  return `${median(wall).toFixed(1)} / ${median(cpu).toFixed(1)} / ${Math.min(...cpu).toFixed(1)}`;
}

const rng = makeRng(1);
console.log(`| backend | q/k/v shape | kind | op | fwd ms: wall / cpu / min cpu | fwd+bwd ms: wall / cpu / min cpu |`);
console.log(`|---|---|---|---|---|---|`);
for (const backend of backends) {
  await initBackend(backend);
  for (const shape of shapes) {
    if (backend === 'cpu' && shape[2] > 128) continue; // the composed cpu matmuls take seconds here
    const size = shape.reduce((a, b) => a * b, 1);
    const [q, k, v, dy] = [0, 1, 2, 3].map(() => tf.tensor4d(randomNormalF32(rng, size), shape));
    for (const kind of ['sigmoid', 'softmax'] as const) {
      const spec: AttentionSpec = kind === 'sigmoid' ? { kind, bias: { negLogN: shape[2] } } : { kind };
      for (const [name, op] of [['fused', attention], ['composed', composedAttention]] as const) {
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => op(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, spec);
        const fwd = await time(() => f(q, k, v));
        const both = await time(() => {
          const grads = tf.grads(f);
          return grads([q, k, v], dy);
        });
        console.log(`| ${backend} | [${shape.join(', ')}] | ${kind} | ${name} | ${fwd} | ${both} |`);
      }
    }
    tf.dispose([q, k, v, dy]);
  }
}
