/**
 * Gradients of tfjs's Mean and Sum with the ones made on the device. tfjs-core's own compute
 * dy · ones(x.shape) with ones() a host array the size of the activation: every training step allocates
 * it and, on GPU backends, uploads it (the WebGPU step profile found 1.28 MB per image of such uploads in
 * a ViT step, from the LayerNorm / QK-norm moments and the loss). onesLike(x) is a kernel (webgpu: a fill
 * shader), so the same product runs without the upload and the values are those of tfjs-core bit for bit.
 * Broadcasting dy with broadcastTo instead would save the multiply, but tfjs-wasm's Tile made a ViT
 * training step 45 % slower on wasm; onesLike measured the same speed as tfjs-core's gradient there.
 */
import * as tf from '@tensorflow/tfjs';

/** x's shape with the reduced axes set to 1, and the number of elements reduced into each output. */
function reducedShape(x: tf.Tensor, axis: number | number[]): { shape: number[]; size: number } {
  const shape = x.shape.slice();
  let size = 1;
  for (const a of tf.util.parseAxisParam(axis, x.shape)) {
    size *= shape[a];
    shape[a] = 1;
  }
  return { shape, size };
}

export const meanGradConfig: tf.GradConfig = {
  kernelName: tf.Mean,
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const { shape, size } = reducedShape(x, (attrs as unknown as tf.MeanAttrs).axis);
    return { x: () => tf.div(tf.mul(tf.reshape(dy as tf.Tensor, shape), tf.onesLike(x)), size) };
  },
};

export const sumGradConfig: tf.GradConfig = {
  kernelName: tf.Sum,
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const { shape } = reducedShape(x, (attrs as unknown as tf.SumAttrs).axis);
    return { x: () => tf.mul(tf.reshape(dy as tf.Tensor, shape), tf.onesLike(x)) };
  },
};
