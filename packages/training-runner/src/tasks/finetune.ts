/**
 * `finetune`: the backbone's feature path and a linear classifier train together on Fashion-MNIST,
 * from `init.from` or from a fresh backbone (`model:`). No feature normalisation (the zoo's finetune
 * default); otherwise the probe task's contract (tasks/probe.ts).
 */
import { headTask } from './probe.js';

export const finetuneTask = headTask(
  'finetune',
  'finetune',
  'fine-tuning a vit/mae/simclr/byol backbone (init.from, or a random one) with a linear classifier on Fashion-MNIST; test accuracy and loss',
);
