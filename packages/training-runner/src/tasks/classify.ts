/** `classify`: supervised image classification (the quickstart's task) — a ViT on Fashion-MNIST. */
import * as tf from '@tensorflow/tfjs';
import { imageBatches } from '@sigattn/data';
import { crossEntropy, type ZooModel } from '@sigattn/model-zoo';
import type { Task } from './task.js';
import { checkImageData, imageDataSchema, imageTensor, loadImageData, trainImageBatches, trainSteps, type ImageSplits } from './image-data.js';

/** A zoo model that maps images to class logits. */
export type ImageClassifier = ZooModel & { forward(images: tf.Tensor4D, training?: boolean): tf.Tensor2D };

/** Mean cross-entropy and accuracy over a whole split (a ragged last batch weighs by its size). */
export async function evaluateClassifier(model: ImageClassifier, split: ImageSplits['test'], batchSize: number): Promise<{ loss: number; accuracy: number }> {
  let correct = 0;
  let lossSum = 0;
  for (const batch of imageBatches(split, { batchSize })) {
    const x = imageTensor(batch, split);
    const y = tf.tensor1d(batch.y, 'int32');
    const [loss, pred] = tf.tidy(() => {
      const logits = model.forward(x);
      return [tf.mul(crossEntropy(logits, y), batch.size), tf.argMax(logits, -1)];
    });
    const p = await pred.data();
    lossSum += (await loss.data())[0];
    for (let i = 0; i < batch.size; i++) if (p[i] === batch.y[i]) correct++;
    tf.dispose([x, y, loss, pred]);
  }
  return { loss: lossSum / split.count, accuracy: correct / split.count };
}

/**
 * Everything a task that trains on labelled images shares (classify, probe, finetune): the data keys,
 * the metrics, seeded labelled batches and the classification evaluation. Spread it into a Task.
 */
export const labelledImageHooks = {
  dataSchema: imageDataSchema,
  metrics: [
    { name: 'test_accuracy', label: 'test accuracy', higherIsBetter: true, percent: true },
    { name: 'test_loss', label: 'test loss', higherIsBetter: false },
  ],
  checkData: checkImageData,
  load: loadImageData,
  stepsPerEpoch: (data, { cfg }) => trainSteps(data.train, cfg.train),
  *trainBatches(data, ctx, epoch) {
    for (const batch of trainImageBatches(data.train, ctx.cfg.train.batchSize, ctx.seed, epoch, this.stepsPerEpoch(data, ctx))) {
      yield { images: imageTensor(batch, data.train), labels: tf.tensor1d(batch.y, 'int32') };
    }
  },
  async evaluate(model, data, { cfg }) {
    const r = await evaluateClassifier(model as ImageClassifier, data.test, cfg.train.evalBatchSize);
    return { test_accuracy: r.accuracy, test_loss: r.loss };
  },
} satisfies Omit<Task<ImageSplits>, 'name' | 'description' | 'models'>;

export const classifyTask: Task<ImageSplits> = {
  name: 'classify',
  description: 'supervised image classification on Fashion-MNIST (cross-entropy; test loss and accuracy)',
  models: ['vit'],
  ...labelledImageHooks,
};
