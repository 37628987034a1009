/**
 * The gradient of tfjs's Tile as one Sum: dy reshaped to [r0, d0, r1, d1, …] and summed over the rep axes.
 * tfjs-core's own gradient adds one slice of dy per repetition — a ViT's CLS token tiled over a batch of
 * 256 became 256 Slice and 256 Add kernels per step, more than half of all kernels a cuda training step
 * launched. The sum runs over the repetitions in the same order (first rep first, lexicographic across
 * axes), so float32 backends that accumulate in float32 (wasm) give tfjs-core's values bit for bit; cpu
 * sums in double and may differ in the last bit.
 */
import * as tf from '@tensorflow/tfjs';

export const tileGradConfig: tf.GradConfig = {
  kernelName: tf.Tile,
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const { reps } = attrs as unknown as tf.TileAttrs;
    return {
      x: () => {
        const split = x.shape.flatMap((d, i) => [reps[i], d]);
        const repAxes = x.shape.map((_, i) => 2 * i);
        return tf.reshape(tf.sum(tf.reshape(dy as tf.Tensor, split), repAxes), x.shape);
      },
    };
  },
};
