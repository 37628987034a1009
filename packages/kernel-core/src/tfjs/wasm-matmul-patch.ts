/**
 * tfjs-backend-wasm 4.22 runs BatchMatMul with transposeA/transposeB about 7× slower than an explicit
 * Transpose followed by a plain matmul (measured on a 2-core host: [2176,192]·[64,192]ᵀ takes 30 ms vs
 * 4.7 ms). Every matmul gradient uses the transposed forms, so training is dominated by them. This
 * re-registers the wasm BatchMatMul kernel to transpose explicitly first; results are identical.
 */
import * as tf from '@tensorflow/tfjs-core';

let patched = false;

export function patchWasmBatchMatMul(): void {
  if (patched) return;
  const original = tf.getKernel('BatchMatMul', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (original === undefined || transpose === undefined) return;
  const swapLastTwo = (info: tf.TensorInfo, backend: tf.KernelBackend): tf.TensorInfo => {
    const r = info.shape.length;
    const perm = [...Array(r - 2).keys(), r - 1, r - 2];
    return transpose.kernelFunc({ inputs: { x: info }, backend, attrs: { perm } }) as tf.TensorInfo;
  };
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    disposeFunc: original.disposeFunc,
    kernelFunc: ({ inputs, backend: anyBackend, attrs }) => {
      const backend = anyBackend as tf.KernelBackend;
      const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
      if (!transposeA && !transposeB) return original.kernelFunc({ inputs, backend, attrs });
      const a = transposeA ? swapLastTwo(inputs.a as tf.TensorInfo, backend) : (inputs.a as tf.TensorInfo);
      const b = transposeB ? swapLastTwo(inputs.b as tf.TensorInfo, backend) : (inputs.b as tf.TensorInfo);
      const out = original.kernelFunc({ inputs: { a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
      if (transposeA) backend.disposeData(a.dataId);
      if (transposeB) backend.disposeData(b.dataId);
      return out;
    },
  });
  patched = true;
}
