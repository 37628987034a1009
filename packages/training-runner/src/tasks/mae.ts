/**
 * `mae`: masked-autoencoder pretraining on Fashion-MNIST. The mask ratio is the model's (`maskRatio`);
 * every image's mask is drawn from (unit seed, epoch, image index), so a resumed run sees the masks an
 * uninterrupted one would. Scored by the reconstruction loss on the test split under masks fixed per
 * test image (the same for every epoch, variant and seed, so all of them compare).
 */
import * as tf from '@tensorflow/tfjs';
import { deriveSeed, Rng } from '@sigattn/common';
import { drawVisiblePatches, maeMaskSize, type Mae, type MaeConfig } from '@sigattn/model-zoo';
import type { Task } from './task.js';
import { checkImageData, gatherImages, imageDataSchema, imageTensor, loadImageData, trainImageBatches, trainSteps, type ImageSplits } from './image-data.js';

/** Stream tag of the evaluation masks (not a unit seed: every unit is scored on the same masks). */
const EVAL_MASK_STREAM = 0x4d414531;

/** Visible patches of each image: from (seed, epoch, image id) in training, from the image id alone in evaluation. */
function masksFor(cfg: MaeConfig, ids: ArrayLike<number>, seedOf: (id: number) => number): Int32Array[] {
  const { patches, visible } = maeMaskSize(cfg);
  return Array.from(ids, (id) => drawVisiblePatches(patches, visible, new Rng(seedOf(id))));
}

export const maeTask: Task<ImageSplits> = {
  name: 'mae',
  description: 'masked-autoencoder pretraining on Fashion-MNIST (MSE on the masked patches); test reconstruction loss on fixed masks',
  models: ['mae'],
  dataSchema: imageDataSchema,
  metrics: [{ name: 'test_recon_loss', label: 'test recon loss', higherIsBetter: false }],
  checkData: checkImageData,
  load: loadImageData,
  stepsPerEpoch: (data, { cfg }) => trainSteps(data.train, cfg.train),
  *trainBatches(data, ctx, epoch) {
    const { cfg, seed } = ctx;
    for (const batch of trainImageBatches(data.train, cfg.train.batchSize, seed, epoch, this.stepsPerEpoch(data, ctx))) {
      const visibleIdx = masksFor(cfg.model as unknown as MaeConfig, batch.ids, (id) => deriveSeed(seed, epoch, id));
      yield { images: imageTensor(batch, data.train), visibleIdx };
    }
  },
  async evaluate(model, data, { cfg }) {
    const mae = model as Mae;
    const { test } = data;
    const batchSize = cfg.train.evalBatchSize;
    let sum = 0;
    for (let start = 0; start < test.count; start += batchSize) {
      const ids = Int32Array.from({ length: Math.min(batchSize, test.count - start) }, (_, i) => start + i);
      const x = imageTensor({ x: gatherImages(test, ids).x, size: ids.length }, test);
      const masks = masksFor(mae.config, ids, (id) => deriveSeed(EVAL_MASK_STREAM, id));
      // loss() is the mean over masked patches, the same count per image: weigh each batch by its size.
      const loss = tf.tidy(() => tf.mul(mae.loss(x, false, masks), ids.length));
      sum += (await loss.data())[0];
      tf.dispose([x, loss]);
    }
    return { test_recon_loss: sum / test.count };
  },
};
