/**
 * `nx run kernel-core:bench-op`: times the fused TypeScript attention op against the composed tfjs
 * version on cpu and wasm, forward and forward+backward (tf.grads), outputs read back, median of
 * --reps after --warmup (common's timeIt). Both backends run on one thread, so it reports process CPU
 * time next to wall time: on a shared, loaded host CPU time is the stable number, and its minimum the
 * least disturbed one.
 *   tsx packages/kernel-core/bench/attention-op.ts [--backends wasm,cpu] [--shapes 128x4x17x16,…]
 *     [--kinds sigmoid,softmax] [--reps 20] [--warmup 3]      (--help lists the options)
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, Rng, cli, markdownTable, median, runMain, timeIt } from '@sigattn/common';
import { ATTENTION_KINDS, BACKENDS, attention, composedAttention, initBackend, isElementwise, type AttentionKind, type AttentionSpec, type BackendName } from '../src/index.js';
import { commaList } from './options.js';

runMain(async () => {
  const args = await cli('bench-op')
    .usage('$0 [options]: fused attention op vs composed tfjs ops on cpu/wasm, forward and forward+backward')
    .option('backends', { type: 'string', default: 'wasm,cpu', describe: `comma list of tfjs backends (${BACKENDS.join(', ')})` })
    .option('shapes', {
      type: 'string', default: '128x4x17x16,8x4x128x32,2x4x512x64',
      describe: 'comma list of q/k/v shapes BxHxNxD (default: the quickstart ViT, then longer sequences)',
    })
    .option('kinds', { type: 'string', default: 'sigmoid,softmax', describe: `comma list of attention kinds (${ATTENTION_KINDS.join(', ')})` })
    .option('reps', { type: 'number', default: 20, describe: 'timed runs per row (median reported)' })
    .option('warmup', { type: 'number', default: 3, describe: 'untimed runs before the timed ones' })
    .check((a) => (Number.isInteger(a.reps) && a.reps >= 1) || `--reps must be an integer ≥ 1, got ${a.reps}`)
    .check((a) => (Number.isInteger(a.warmup) && a.warmup >= 0) || `--warmup must be an integer ≥ 0, got ${a.warmup}`)
    .parse();
  const backends = commaList('backends', args.backends, BACKENDS);
  const kinds = commaList<AttentionKind>('kinds', args.kinds, ATTENTION_KINDS);
  const shapes = args.shapes.split(',').map((s) => {
    const dims = s.trim().split('x').map(Number);
    if (dims.length !== 4 || !dims.every((n) => Number.isInteger(n) && n > 0)) {
      throw new ConfigError(`--shapes: '${s}' is not BxHxNxD with four positive integers, e.g. 128x4x17x16`);
    }
    return dims as [number, number, number, number];
  });

  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  /** Median wall ms, median CPU ms and minimum CPU ms of fn (outputs read back). */
  async function time(fn: () => tf.Tensor | tf.Tensor[]): Promise<string> {
    const cpu: number[] = [];
    const wall = await timeIt(async () => {
      const c0 = cpuMs();
      const out = fn();
      const outs = Array.isArray(out) ? out : [out];
      for (const t of outs) await t.data();
      cpu.push(cpuMs() - c0);
      tf.dispose(outs);
    }, { warmup: args.warmup, repeats: args.reps });
    const timed = cpu.slice(args.warmup);
    return `${wall.medianMs.toFixed(1)} / ${median(timed).toFixed(1)} / ${Math.min(...timed).toFixed(1)}`;
  }

  const rng = new Rng(1);
  const rows: string[][] = [];
  for (const backend of backends as BackendName[]) {
    await initBackend(backend);
    for (const shape of shapes) {
      if (backend === 'cpu' && shape[2] > 128) continue; // the composed cpu matmuls take seconds here
      const size = shape.reduce((a, b) => a * b, 1);
      const [q, k, v, dy] = [0, 1, 2, 3].map(() => tf.tensor4d(rng.normalF32(size), shape));
      for (const kind of kinds) {
        const spec: AttentionSpec = isElementwise(kind) ? { kind, bias: { negLogN: shape[2] } } : { kind };
        for (const [name, op] of [['fused', attention], ['composed', composedAttention]] as const) {
          const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => op(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, spec);
          const fwd = await time(() => f(q, k, v));
          const grads = tf.grads(f);
          const both = await time(() => grads([q, k, v], dy));
          rows.push([backend, `[${shape.join(', ')}]`, kind, name, fwd, both]);
          console.log(rows[rows.length - 1].join(' | '));
        }
      }
      tf.dispose([q, k, v, dy]);
    }
  }
  console.log(`\n${markdownTable(['backend', 'q/k/v shape', 'kind', 'op', 'fwd ms: wall / cpu / min cpu', 'fwd+bwd ms: wall / cpu / min cpu'], rows)}`);
});
