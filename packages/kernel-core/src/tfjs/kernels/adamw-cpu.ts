/** ADAMW_UPDATE on the cpu backend: the TypeScript update on the tensors' own arrays. */
import type * as tf from '@tensorflow/tfjs';
import { ADAMW_UPDATE, type AdamWAttrs } from '../adamw-names.js';
import { adamwConstants, adamwInputs, adamwUpdate } from './adamw-update.js';
import { readCpu, writeCpu, type CpuBackend } from './backend-access.js';

export const adamwCpuConfig: tf.KernelConfig = {
  kernelName: ADAMW_UPDATE,
  backendName: 'cpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { param, grad, m, v } = adamwInputs(inputs, 'cpu');
    const cpu = backend as CpuBackend;
    const c = adamwConstants(attrs as unknown as AdamWAttrs);
    const n = readCpu(cpu, param).length;
    const [wOut, mOut, vOut] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
    adamwUpdate(c, readCpu(cpu, param), readCpu(cpu, grad), readCpu(cpu, m), readCpu(cpu, v), wOut, mOut, vOut);
    return [wOut, mOut, vOut].map((values) => writeCpu(cpu, values, [...param.shape]));
  },
};
