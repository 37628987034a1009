/** Checkpoints round-trip with their config; mismatches name the tensor; every YAML model config resolves. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createModel, createModelFromSpec, loadWeights, readCheckpoint, resolveSpec, restoreModel, saveCheckpoint, type Vit, type Lm } from '../src/index.js';
import { randn, setup } from './helpers.js';
import { blockParams, encoderParams, linearParams } from './formulas.js';

beforeAll(setup);

const dir = mkdtempSync(join(tmpdir(), 'model-zoo-ckpt-'));
const vitSpec = {
  name: 'vit', imageSize: 8, channels: 1, patchSize: 4, dim: 8, depth: 2, heads: 2, mlpRatio: 2, classes: 3,
  attention: { kind: 'sigmoid', bias: 'negLogN', qkNorm: 'layernorm', causal: false },
};

describe('checkpoints', () => {
  it('save → restore gives the same outputs and config; the write is atomic (no temp file left)', async () => {
    const a = createModelFromSpec(vitSpec, 1) as Vit;
    // Move the weights off their init so a fresh model with the same seed would not pass by accident.
    tf.tidy(() => a.params.variables().forEach((v, i) => v.assign(tf.add(v, randn(v.shape, 50 + i)))));
    const path = join(dir, 'vit.ckpt');
    await saveCheckpoint(path, a);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    const b = restoreModel(path, 99) as Vit;
    expect(b.config).toEqual(a.config);
    const x = randn([2, 8, 8, 1], 3) as tf.Tensor4D;
    expect(Array.from(b.forward(x).dataSync())).toEqual(Array.from(a.forward(x).dataSync()));
    const ck = readCheckpoint(path);
    expect(ck.spec.name).toBe('vit');
    expect([...ck.tensors.keys()]).toEqual(a.params.entries().map(([n]) => n));
  });

  it('loading into a different config fails naming the mismatched tensor and the differing key', async () => {
    const a = createModelFromSpec(vitSpec, 1);
    const path = join(dir, 'vit2.ckpt');
    await saveCheckpoint(path, a);
    const ck = readCheckpoint(path);
    const wider = createModelFromSpec({ ...vitSpec, dim: 12 }, 1);
    expect(() => loadWeights(wider, ck)).toThrow(/tensor patch_embed\.w has shape \[16, 8\] but the model expects \[16, 12\].*dim: checkpoint 8 vs model 12/);
    const noQk = createModelFromSpec({ ...vitSpec, attention: { ...vitSpec.attention, qkNorm: 'none' } }, 1);
    expect(() => loadWeights(noQk, ck)).toThrow(/tensor blocks\.0\.attn\.qnorm\.gamma has no counterpart/);
    const deeper = createModelFromSpec({ ...vitSpec, depth: 3 }, 1);
    expect(() => loadWeights(deeper, ck)).toThrow(/tensor blocks\.2\.norm1\.gamma is missing/);
    // Nothing was assigned by a failed load.
    const before = Array.from(deeper.params.get('patch_embed.w').dataSync());
    expect(Array.from(deeper.params.get('patch_embed.w').dataSync())).toEqual(before);
  });

  it('a pretrained backbone checkpoint loads into a probe’s backbone', async () => {
    const mae = createModel('mae', { ...vitSpec, name: undefined, classes: undefined, decoderDim: 8, decoderHeads: 2 }, 1);
    const path = join(dir, 'mae.ckpt');
    await saveCheckpoint(path, mae);
    const probe = createModel('linear-probe', { backbone: readCheckpoint(path).spec, classes: 4 }, 2) as unknown as { backbone: typeof mae };
    loadWeights(probe.backbone, readCheckpoint(path));
    expect(Array.from(probe.backbone.params.get('encoder.patch_embed.w').dataSync())).toEqual(Array.from(mae.params.get('encoder.patch_embed.w').dataSync()));
  });

  it('a non-checkpoint file is rejected with a clear message', () => {
    expect(() => readCheckpoint(join(import.meta.dirname, 'checkpoint.test.ts'))).toThrow(/expected a sigattn checkpoint/);
  });
});

describe('registry and configs/models', () => {
  const configDir = join(import.meta.dirname, '../../../configs/models');
  const files = readdirSync(configDir).filter((f) => f.endsWith('.yaml'));

  it('every YAML config resolves; the CPU-sized ones build and count their parameters', () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
    const names = new Set<string>();
    for (const f of files) {
      const spec = parse(readFileSync(join(configDir, f), 'utf8'));
      const resolved = resolveSpec(spec, f);
      names.add(resolved.name);
      if (f.includes('tiny') || f.startsWith('linear-probe') || f.startsWith('finetune')) {
        const m = createModelFromSpec(spec, 0, f);
        expect(m.params.count()).toBeGreaterThan(0);
        m.dispose();
      }
    }
    expect([...names].sort()).toEqual(['byol', 'finetune', 'linear-probe', 'lm', 'mae', 'simclr', 'vit', 'asr'].sort());
  });

  it('vit-tiny and lm-tiny have the parameter counts of their formulas', () => {
    const load = (f: string) => createModelFromSpec(parse(readFileSync(join(configDir, f), 'utf8')), 0, f);
    const vit = load('vit-tiny.yaml');
    const t = { dim: 64, depth: 2, heads: 4, mlpRatio: 2, qkNorm: 'layernorm' as const, layerScale: 1e-4 };
    expect(vit.params.count()).toBe(encoderParams({ ...t, patchIn: 49, tokens: 17, cls: true, learned: true }) + linearParams(64, 10));
    const lm = load('lm-tiny.yaml');
    const u = { dim: 64, depth: 2, heads: 4, mlpRatio: 2.75, qkNorm: 'rmsnorm' as const, norm: 'hybrid' as const, normKind: 'rmsnorm' as const, mlp: 'swiglu' as const, bias: false };
    expect(lm.params.count()).toBe(512 * 64 + 2 * blockParams(u) + 64);
    vit.dispose();
    lm.dispose();
  });

  it('the 1B LM config describes ≈ 1.3B parameters (tied 32k embedding, SwiGLU 5632, q/k RMSNorm)', () => {
    const c = resolveSpec(parse(readFileSync(join(configDir, 'lm-1b-sigmoid-4k.yaml'), 'utf8'))) as unknown as Lm['config'];
    const d = c.dim;
    const h = Math.round(d * c.mlpRatio);
    expect(h).toBe(5632);
    // 4 RMSNorms (hybrid), q/k/v/o, SwiGLU (3 matrices), q/k RMSNorm; tied embedding; final norm.
    const block = 4 * d + 4 * d * d + 3 * d * h + 2 * (d / c.heads);
    const total = c.vocab * d + c.depth * block + d;
    expect(total / 1e9).toBeGreaterThan(1.25);
    expect(total / 1e9).toBeLessThan(1.35);
  });

  it('bad specs fail naming the key, what was expected and found', () => {
    expect(() => createModelFromSpec({ name: 'vitt' }, 0)).toThrow(/expected one of vit, mae.*found "vitt"/);
    expect(() => createModelFromSpec({ ...vitSpec, dimm: 3 }, 0)).toThrow(/vit config\.dimm: expected one of the known keys/);
    expect(() => createModelFromSpec({ ...vitSpec, heads: 3 }, 0)).toThrow(/vit config\.heads: expected a divisor of dim 8, found 3/);
    expect(() => createModelFromSpec({ ...vitSpec, attention: { kind: 'relu' } }, 0)).toThrow(/attention\.kind: expected 'softmax' \| 'sigmoid', found "relu"/);
    expect(() => createModelFromSpec({ ...vitSpec, name: 'lm', vocab: 5, contextLength: 4 }, 0)).toThrow(/imageSize/);
    expect(() => createModel('lm', { vocab: 5, contextLength: 4, dim: 8, depth: 1, heads: 2 }, 0)).toThrow(/attention\.causal: expected true/);
  });
});
