/**
 * For every configs/models/*.yaml: validate it, and for the CPU-sized ones build the model, count its
 * parameters and time a few AdamW steps on a synthetic batch (wasm backend).
 *   tsx packages/model-zoo/scripts/describe-configs.ts [batchSize=8]
 */
import * as tf from '@tensorflow/tfjs';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { initBackend } from '@sigattn/kernel-core';
import { AdamW, createModelFromSpec, resolveSpec, trainStep, type Batch, type ZooModel } from '../src/index.js';

const dir = join(import.meta.dirname, '../../../configs/models');
const B = Number(process.argv[2] ?? 8);

function syntheticBatch(m: ZooModel, spec: Record<string, unknown>): Batch {
  const c = (spec.name === 'linear-probe' || spec.name === 'finetune' ? spec.backbone : spec) as Record<string, number>;
  const image = () => tf.randomNormal([B, c.imageSize, c.imageSize, c.channels]) as tf.Tensor4D;
  const labels = () => tf.randomUniform([B], 0, Number(spec.classes ?? 2), 'int32') as tf.Tensor1D;
  switch (m.modelName) {
    case 'vit':
    case 'linear-probe':
    case 'finetune':
      return { images: image(), labels: labels() };
    case 'mae':
      return { images: image() };
    case 'simclr':
    case 'byol':
      return { views: [image(), image()] };
    case 'asr': {
      const frames = 4 * c.trainFrames;
      return { features: tf.randomNormal([B, frames, c.mels]) as tf.Tensor3D, targets: Array.from({ length: B }, () => [1, 2, 3, 4, 5]) };
    }
    case 'lm':
      return { tokens: tf.randomUniform([B, c.contextLength], 0, c.vocab, 'int32') as tf.Tensor2D };
    default:
      throw new Error(`no synthetic batch for ${m.modelName}`);
  }
}

await initBackend('wasm');
console.log(`| config | model | parameters | ms/step (batch ${B}, wasm) |`);
console.log('|---|---|---|---|');
for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort()) {
  const spec = parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>;
  const resolved = resolveSpec(spec, f);
  const small = f.includes('tiny') || f.startsWith('linear-probe') || f.startsWith('finetune');
  if (!small) {
    console.log(`| ${f} | ${resolved.name} | (paper scale, not built) | — |`);
    continue;
  }
  const m = createModelFromSpec(spec, 0, f);
  const batch = syntheticBatch(m, spec);
  const opt = new AdamW(m.trainableEntries(), { lr: 1e-3 });
  await trainStep(m, batch, opt, { step: 0, totalSteps: 4 });
  const t0 = performance.now();
  for (let s = 1; s < 4; s++) await trainStep(m, batch, opt, { step: s, totalSteps: 4 });
  const ms = (performance.now() - t0) / 3;
  console.log(`| ${f} | ${m.modelName} | ${m.params.count().toLocaleString('en-US')} | ${ms.toFixed(0)} |`);
  opt.dispose();
  m.dispose();
}
