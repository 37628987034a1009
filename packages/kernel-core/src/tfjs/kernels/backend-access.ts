/**
 * The few backend calls the TypeScript kernels need, typed structurally so kernel-core does not
 * depend on the internals of @tensorflow/tfjs-backend-cpu / -wasm.
 */
import type * as tf from '@tensorflow/tfjs';

/** cpu: `readSync` returns the tensor's own Float32Array (no copy); `write` adopts a new array. */
export interface CpuBackend {
  readSync(dataId: tf.DataId): unknown;
  write(values: Float32Array, shape: number[], dtype: 'float32'): tf.DataId;
}

export function readCpu(backend: CpuBackend, t: tf.TensorInfo): Float32Array {
  const values = backend.readSync(t.dataId);
  // Float32 tensors are always stored as Float32Array by the cpu backend; anything else is a caller bug.
  if (!(values instanceof Float32Array)) {
    throw new Error(`attention (cpu): expected float32 data for an input of shape [${t.shape.join(', ')}], got ${t.dtype}`);
  }
  return values;
}

export function writeCpu(backend: CpuBackend, values: Float32Array, shape: number[]): tf.TensorInfo {
  return { dataId: backend.write(values, shape, 'float32'), shape, dtype: 'float32' };
}

/** wasm: tensors live on the WebAssembly heap; `typedArrayFromHeap` is a zero-copy view. */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/**
 * Views of the given tensors on the wasm heap. Call it only after every output has been allocated
 * with makeOutput: an allocation may grow the wasm memory, which detaches views taken before it.
 */
export function wasmViews(backend: WasmBackend, tensors: tf.TensorInfo[]): Float32Array[] {
  return tensors.map((t) => {
    const view = backend.typedArrayFromHeap(t);
    if (!(view instanceof Float32Array)) {
      throw new Error(`attention (wasm): expected float32 data for a tensor of shape [${t.shape.join(', ')}], got ${t.dtype}`);
    }
    return view;
  });
}
