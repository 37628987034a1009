import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@sigattn/kernel-core';
import { Vit } from '@sigattn/model-zoo';
import { loadFashionMnist, imageBatches } from '@sigattn/data';
await initBackend((process.argv[2] ?? 'wasm') as 'wasm');
const kind = (process.argv[3] ?? 'softmax') as 'softmax';
const train = loadFashionMnist('train', undefined, 20000);
const test = loadFashionMnist('test', undefined, 2000);
const m = new Vit({ imageSize: 28, channels: 1, patchSize: 7, dim: 64, depth: 2, heads: 4, mlpRatio: 2, classes: 10,
  attention: { kind, bias: 'negLogN', qkNorm: kind === 'sigmoid' ? 'layernorm' : 'none', causal: false } }, 1);
console.log('params', m.params.count());
const opt = tf.train.adam(2e-3);
const t0 = Date.now(); let step = 0;
for (const b of imageBatches(train, { batchSize: 128, seed: 1, dropLast: true })) {
  const x = tf.tensor4d(b.x, [b.size, 28, 28, 1]); const y = tf.tensor1d(b.y, 'int32');
  const loss = opt.minimize(() => m.loss(x, y), true, m.params.variables())!;
  if (step % 25 === 0) console.log(step, (await loss.data())[0].toFixed(3), ((Date.now() - t0) / (step + 1)).toFixed(1), 'ms/step', tf.memory().numTensors);
  tf.dispose([x, y, loss]); step++;
}
let correct = 0;
for (const b of imageBatches(test, { batchSize: 500 })) {
  const x = tf.tensor4d(b.x, [b.size, 28, 28, 1]);
  const pred = tf.tidy(() => m.forward(x).argMax(-1)); const p = await pred.data();
  for (let i = 0; i < b.size; i++) if (p[i] === b.y[i]) correct++; tf.dispose([x, pred]);
}
console.log('acc', correct / test.count, 'time', (Date.now() - t0) / 1000);
