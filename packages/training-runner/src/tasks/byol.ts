/**
 * `byol`: BYOL pretraining on Fashion-MNIST (BYOL's asymmetric view pair). The EMA target update with
 * its cosine momentum schedule is the model's afterStep(step, totalSteps), which the loop calls after
 * every optimiser step with the run's total step count.
 */
import { BYOL_AUGMENT } from '@sigattn/data';
import { contrastiveTask } from './contrastive.js';

export const byolTask = contrastiveTask(
  'byol',
  'BYOL pretraining on Fashion-MNIST (online network regresses an EMA target on the other view); k-NN accuracy of the backbone features, test loss',
  BYOL_AUGMENT,
);
