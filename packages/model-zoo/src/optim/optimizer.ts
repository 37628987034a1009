/** What every optimiser here implements; gradients are keyed by tf.Variable.name (as tf.variableGrads returns them). */
import type * as tf from '@tensorflow/tfjs';

export interface Optimizer {
  /** Current learning rate; a schedule sets it before each step. */
  lr: number;
  step(grads: tf.NamedTensorMap): void;
  dispose(): void;
}
