/**
 * Which kernels a tfjs backend runs: every kernel registered for the backend is swapped for a wrapper
 * that notes its name and the dtypes of its inputs and outputs, then calls the original.
 *
 * Why wrap the registry rather than use tf.profile(): the engine looks a kernel up in the registry at
 * every dispatch (forward ops, the gradient functions' ops during backprop, the tape's Identity
 * clones alike), so the wrappers see exactly what a backend must implement, with dtypes. tf.profile()
 * lists the same kernels but no dtypes, and adds entries named after scopes for tf.customGrad
 * functions, which are not kernels. Kernels that a backend's own kernel calls directly (tfjs-backend-
 * cpu's Softmax calling its Max/Sub/Exp implementations) are not dispatches and are not seen, as they
 * should not be: another backend need not implement those.
 */
import * as tf from '@tensorflow/tfjs';

/** Called once per dispatch with the kernel's name and the dtypes of its inputs and outputs. */
export type KernelListener = (kernelName: string, dtypes: readonly tf.DataType[]) => void;

function dtypesOf(inputs: tf.NamedTensorInfoMap, out: tf.TensorInfo | tf.TensorInfo[]): tf.DataType[] {
  // Optional inputs (a fused op's absent bias) are null or undefined.
  const infos = [...Object.values(inputs), ...(Array.isArray(out) ? out : [out])].filter((t): t is tf.TensorInfo => t != null);
  return infos.map((t) => t.dtype);
}

/**
 * Runs `run` with every kernel of `backend` reporting to `listener`, and puts the original kernels back
 * afterwards (also when `run` throws). Kernels registered during `run` are not wrapped.
 */
export async function withKernelListener<T>(backend: string, listener: KernelListener, run: () => Promise<T>): Promise<T> {
  const originals = tf.getKernelsForBackend(backend);
  const swap = (configs: readonly tf.KernelConfig[]) => {
    for (const config of configs) {
      tf.unregisterKernel(config.kernelName, backend);
      tf.registerKernel(config);
    }
  };
  swap(
    originals.map((config) => ({
      ...config,
      kernelFunc: (args: Parameters<tf.KernelFunc>[0]) => {
        const out = config.kernelFunc(args);
        listener(config.kernelName, dtypesOf(args.inputs, out as tf.TensorInfo | tf.TensorInfo[]));
        return out;
      },
    })),
  );
  try {
    return await run();
  } finally {
    swap(originals);
  }
}
