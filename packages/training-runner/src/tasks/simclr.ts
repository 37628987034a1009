/** `simclr`: SimCLR pretraining on Fashion-MNIST (NT-Xent over two SimCLR-augmented views per image). */
import { SIMCLR_AUGMENT } from '@sigattn/data';
import { contrastiveTask } from './contrastive.js';

export const simclrTask = contrastiveTask(
  'simclr',
  'SimCLR pretraining on Fashion-MNIST (NT-Xent over two augmented views); k-NN accuracy of the backbone features, test loss',
  [SIMCLR_AUGMENT, SIMCLR_AUGMENT],
);
