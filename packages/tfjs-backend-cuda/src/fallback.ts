/**
 * Kernels the cuda backend does not implement run on tfjs's cpu backend: inputs are read back, the cpu
 * kernel runs, outputs are uploaded. This keeps every tfjs op usable (evaluation metrics, data
 * augmentation, LM generation) at the price of a synchronisation per call, so the training path must
 * not use it: the inventory test requires a native kernel for every op a zoo training step dispatches,
 * and `fallbackCounts()` tells a profile which ops fell back. $SIGATTN_CUDA_FALLBACK=error makes a
 * fallback throw instead (the op checks use it).
 */
import * as tf from '@tensorflow/tfjs';
import type { CudaBackend } from './backend.js';

const counts = new Map<string, number>();

/** How often each kernel ran on the cpu fallback since the last reset. */
export function fallbackCounts(): Map<string, number> {
  return new Map(counts);
}

export function resetFallbackCounts(): void {
  counts.clear();
}

type CpuBackend = tf.KernelBackend & { readSync(id: tf.DataId): tf.backend_util.BackendValues };

export function cpuFallback(cpuConfig: tf.KernelConfig): tf.KernelConfig {
  const name = cpuConfig.kernelName;
  return {
    kernelName: name,
    backendName: 'cuda',
    kernelFunc: ({ inputs, attrs, backend }) => {
      if (process.env.SIGATTN_CUDA_FALLBACK === 'error') {
        throw new Error(`cuda backend: no cuda kernel for ${name} (the cpu fallback is disabled by SIGATTN_CUDA_FALLBACK=error)`);
      }
      counts.set(name, (counts.get(name) ?? 0) + 1);
      const gpu = backend as CudaBackend;
      const cpu = tf.findBackend('cpu') as CpuBackend | null;
      if (cpu === null) throw new Error(`cuda backend: ${name} needs the cpu fallback but tfjs's cpu backend is not registered`);
      const owned = new Set<tf.DataId>();
      // Concat, Pack and AddN take their inputs as an array, which the cpu kernels map over.
      const cpuInputs: Record<string, tf.TensorInfo> = Array.isArray(inputs) ? ([] as unknown as Record<string, tf.TensorInfo>) : {};
      for (const [key, t] of Object.entries(inputs)) {
        if (t === undefined) continue;
        const dataId = cpu.write(gpu.readSync(t.dataId), [...t.shape], t.dtype);
        owned.add(dataId);
        cpuInputs[key] = { dataId, shape: t.shape, dtype: t.dtype };
      }
      try {
        const out = cpuConfig.kernelFunc({ inputs: cpuInputs, attrs, backend: cpu });
        const outs = Array.isArray(out) ? out : [out];
        const uploaded = outs.map((o) => {
          owned.add(o.dataId);
          return gpu.makeTensorInfo([...o.shape], o.dtype, cpu.readSync(o.dataId) as Float32Array);
        });
        return Array.isArray(out) ? uploaded : uploaded[0];
      } finally {
        for (const id of owned) cpu.disposeData(id, true);
      }
    },
  };
}
