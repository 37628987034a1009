/** One optimisation step for any zoo model: loss → gradients → optional global-norm clip → update → hook. */
import * as tf from '@tensorflow/tfjs';
import type { Batch, ZooModel } from './model.js';
import type { Optimizer } from './optim/optimizer.js';
import { clipByGlobalNorm } from './optim/clip.js';

export interface StepOptions {
  step: number;
  totalSteps: number;
  /** Learning rate for this step (e.g. from warmupCosine); keeps the optimiser's when absent. */
  lr?: number;
  /** Clip gradients to this global norm (off when absent). */
  clip?: number;
  /** Training mode: dropout on, MAE draws a fresh mask. Default true. */
  training?: boolean;
}

/**
 * Returns the loss before the update. Async: the loss is read with `await data()`, which every
 * backend supports (webgpu in Node cannot read tensors synchronously).
 */
export async function trainStep(model: ZooModel, batch: Batch, opt: Optimizer, o: StepOptions): Promise<number> {
  if (o.lr !== undefined) opt.lr = o.lr;
  const vars = model.trainableEntries().map(([, v]) => v);
  const { value, grads: raw } = tf.variableGrads(() => model.batchLoss(batch, o.training ?? true), vars);
  const { grads, norm } = o.clip === undefined ? { grads: raw, norm: null } : clipByGlobalNorm(raw, o.clip);
  norm?.dispose();
  opt.step(grads);
  const loss = (await value.data())[0];
  value.dispose();
  Object.values(grads).forEach((g) => g.dispose());
  model.afterStep?.(o.step, o.totalSteps);
  return loss;
}
