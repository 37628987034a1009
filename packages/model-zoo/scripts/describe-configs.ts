/**
 * For every configs/models/*.yaml: validate it, and for the CPU-sized ones build the model, count its
 * parameters and time a few AdamW steps on a synthetic batch (wasm backend).
 *   npx nx run model-zoo:describe-configs [--batch=8]     (--help lists the options)
 */
import * as tf from '@tensorflow/tfjs';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { cli, runMain } from '@sigattn/common';
import { initBackend } from '@sigattn/kernel-core';
import { AdamW, createModelFromSpec, resolveSpec, trainStep, type Batch, type ZooModel } from '../src/index.js';

function syntheticBatch(m: ZooModel, spec: Record<string, unknown>, B: number): Batch {
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

runMain(async () => {
  const a = await cli('describe-configs')
    .usage('$0 [options]: validate every model config; build the CPU-sized ones and time AdamW steps (wasm)')
    .option('configs', { type: 'string', requiresArg: true, default: join(import.meta.dirname, '../../../configs/models'), defaultDescription: 'configs/models', describe: 'directory of model configs (*.yaml)' })
    .option('batch', { type: 'number', requiresArg: true, default: 8, describe: 'synthetic batch size of the timed steps' })
    .check((o) => (Number.isInteger(o.batch) && o.batch >= 1) || `--batch: expected an integer ≥ 1, found ${o.batch}`)
    .parse();
  const B = a.batch;
  await initBackend('wasm');
  console.log(`| config | model | parameters | ms/step (batch ${B}, wasm) |`);
  console.log('|---|---|---|---|');
  for (const f of readdirSync(a.configs).filter((n) => n.endsWith('.yaml')).sort()) {
    const spec = parse(readFileSync(join(a.configs, f), 'utf8')) as Record<string, unknown>;
    const resolved = resolveSpec(spec, f);
    const small = f.includes('tiny') || f.startsWith('linear-probe') || f.startsWith('finetune');
    if (!small) {
      console.log(`| ${f} | ${resolved.name} | (paper scale, not built) | — |`);
      continue;
    }
    const m = createModelFromSpec(spec, 0, f);
    const batch = syntheticBatch(m, spec, B);
    const opt = new AdamW(m.trainableEntries(), { lr: 1e-3 });
    await trainStep(m, batch, opt, { step: 0, totalSteps: 4 });
    const t0 = performance.now();
    for (let s = 1; s < 4; s++) await trainStep(m, batch, opt, { step: s, totalSteps: 4 });
    const ms = (performance.now() - t0) / 3;
    console.log(`| ${f} | ${m.modelName} | ${m.params.count().toLocaleString('en-US')} | ${ms.toFixed(0)} |`);
    opt.dispose();
    m.dispose();
  }
});
