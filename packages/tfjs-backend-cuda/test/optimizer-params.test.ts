/**
 * The multi-tensor AdamW launch without a GPU: the kernel config runs on a stand-in backend that records
 * launches; the parameter bytes are decoded by AdamWMultiParams' layout in optimizer.cu (read from the
 * source) and the kernel's per-element math is replayed in float32, against tfjs cpu's ADAMW_UPDATE.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { ADAMW_UPDATE, ADAMW_UPDATE_MULTI, initBackend } from '@sigattn/kernel-core';
import { Rng } from '@sigattn/common';
import { BACKEND_CUDA_SOURCE_DIR } from '../src/device.js';
import { optimizerKernels } from '../src/kernels/optimizer.js';

const CHUNK = Number(/#define ADAMW_CHUNK (\d+)/.exec(readFileSync(`${BACKEND_CUDA_SOURCE_DIR}optimizer.cu`, 'utf8'))![1]);
const f = Math.fround;

describe('adamw_multi_f32 launch', () => {
  it('packs every parameter of a chunk where the struct expects it, and its math matches cpu', async () => {
    await initBackend('cpu');
    const rng = new Rng(5);
    const shapes = Array.from({ length: CHUNK + 3 }, (_, i) => [1 + ((i * 13) % 70)]);
    const host = new Map<bigint, Float32Array>();
    let next = 0x1000n;
    const launches: { grid: readonly number[]; params: Uint8Array }[] = [];
    const infos: tf.TensorInfo[] = [];
    const be = {
      ptr: (t: tf.TensorInfo) => (t as unknown as { ptr: bigint }).ptr,
      makeTensorInfo: (shape: number[]) => {
        const t = { dataId: {}, shape, dtype: 'float32', ptr: next } as unknown as tf.TensorInfo;
        host.set(next, new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(NaN));
        next += 0x1000n;
        return t;
      },
      device: { launch: (_m: string, _k: string, grid: readonly number[], _b: number, params: Uint8Array) => launches.push({ grid, params: params.slice() }) },
    };
    const inputs: Record<string, tf.TensorInfo> = {};
    shapes.forEach((shape, i) => {
      for (const [name, lo, hi] of [['param', -1, 1], ['grad', -0.1, 0.1], ['m', -0.05, 0.05], ['v', 0, 0.01]] as const) {
        const t = be.makeTensorInfo(shape);
        host.get(be.ptr(t))!.set(Float32Array.from({ length: shape[0] }, () => rng.uniform(lo, hi)));
        inputs[`${name}${i}`] = t;
        infos.push(t);
      }
    });
    const attrs = { lr: 3e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, biasCorrection1: 0.271, biasCorrection2: 0.002997, count: shapes.length, weightDecays: shapes.map((_, i) => (i % 3 ? 0.05 : 0)) };
    const multi = optimizerKernels.find((k) => k.kernelName === ADAMW_UPDATE_MULTI)!;
    const outs = multi.kernelFunc({ inputs, attrs, backend: be as never }) as tf.TensorInfo[];
    expect(launches.map((l) => l.grid[1])).toEqual([CHUNK, 3]);
    for (const { params } of launches) {
      const dv = new DataView(params.buffer, params.byteOffset, params.byteLength);
      const ptr = (field: number, j: number) => dv.getBigUint64((field * CHUNK + j) * 8, true);
      const nAt = 7 * CHUNK * 8, wdAt = nAt + CHUNK * 8, hyperAt = wdAt + CHUNK * 4;
      const h = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => dv.getFloat32(hyperAt + 4 * k, true));
      const [b1, omb1, b2, omb2, eps, bc1, bc2, lr] = h;
      expect(params.byteLength).toBe(hyperAt + 32);
      for (let j = 0; j < CHUNK; j++) {
        const n = Number(dv.getBigInt64(nAt + 8 * j, true));
        if (ptr(3, j) === 0n) continue;
        const [w, g, m0, v0] = [3, 4, 5, 6].map((fi) => host.get(ptr(fi, j))!);
        const [ow, om, ov] = [0, 1, 2].map((fi) => host.get(ptr(fi, j))!);
        const wd = dv.getFloat32(wdAt + 4 * j, true);
        for (let i = 0; i < n; i++) {
          const m = f(f(m0[i] * b1) + f(g[i] * omb1));
          const v = f(f(v0[i] * b2) + f(f(g[i] * g[i]) * omb2));
          let u = f(f(m / bc1) / f(f(Math.sqrt(f(v / bc2))) + eps));
          if (wd > 0) u = f(u + f(w[i] * wd));
          ow[i] = f(w[i] - f(u * lr));
          om[i] = m;
          ov[i] = v;
        }
      }
    }
    // tfjs cpu's ADAMW_UPDATE per parameter, on the same inputs.
    shapes.forEach((shape, i) => {
      const t = (name: string) => tf.tensor(host.get(be.ptr(inputs[`${name}${i}`]))!, shape);
      const want = tf.engine().runKernel(ADAMW_UPDATE, { param: t('param'), grad: t('grad'), m: t('m'), v: t('v') },
        { ...attrs, weightDecay: attrs.weightDecays[i] } as never) as tf.Tensor[];
      want.forEach((w, k) => expect(Array.from(host.get(be.ptr(outs[3 * i + k]))!), `param ${i} output ${k}`).toEqual(Array.from(w.dataSync())));
    });
  });
});
