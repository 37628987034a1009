/** What every optimiser here implements; gradients are keyed by tf.Variable.name (as tf.variableGrads returns them). */
import type * as tf from '@tensorflow/tfjs';

export interface Optimizer {
  /** Current learning rate; a schedule sets it before each step. */
  lr: number;
  step(grads: tf.NamedTensorMap): void;
  /** Updates applied so far (bias corrections and schedules depend on it; checkpoints save it). */
  stepCount: number;
  /** The optimiser's state tensors in a fixed order, named for checkpoints. */
  slotEntries(): [string, tf.Variable][];
  dispose(): void;
}
