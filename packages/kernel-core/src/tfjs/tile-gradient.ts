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
        // Only repeated dims are split into (rep, d), so the reshape stays within the rank GPU
        // backends index (webgpu's Transpose stops at 6).
        const split: number[] = [];
        const repAxes: number[] = [];
        x.shape.forEach((d, i) => {
          if (reps[i] !== 1) {
            repAxes.push(split.length);
            split.push(reps[i]);
          }
          split.push(d);
        });
        if (repAxes.length === 0) return tf.reshape(dy as tf.Tensor, x.shape);
        return tf.reshape(tf.sum(tf.reshape(dy as tf.Tensor, split), repAxes), x.shape);
      },
    };
  },
};
