/**
 * Loss and gradients of every zoo model on a backend against tfjs's cpu backend: the inventory's 38 tiny
 * variants (kernels.json), plus two with head dim 64 so the fused flash kernels run on cuda. Both backends
 * build the model from the same seed (initial weights are drawn on the host) and see the same batch.
 *
 * Error measures: the loss's relative error, and per parameter ‖g − g_ref‖ / max(‖g_ref‖, 1e-6).
 * The tolerances are what f32 kernels with TF32 matmuls allow (TF32 rounds matmul inputs to a 10-bit
 * mantissa, ~5e-4 relative each): 5e-3 on gradients, 2e-3 on the loss. Variants that run the bf16 flash
 * kernels get 5e-2, SimCLR's contrastive loss 2.5e-2 (below). Dropout variants compare too: their masks come from the same seeded host draws.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@sigattn/common';
import { createModelFromSpec, type Batch } from '@sigattn/model-zoo';
import { ZOO_VARIANTS, type ZooVariant } from '../zoo-variants.js';

export interface ZooCheckRow {
  variant: string;
  lossRef: number;
  lossErr: number;
  /** Largest relative gradient error over the parameters, and that parameter. */
  gradErr: number;
  worstParam: string;
  /** Parameters whose gradients were compared. */
  params: number;
  tol: number;
  pass: boolean;
}

const SEED = 1;

/** Head dim 64: the CUDA flash kernels' coverage (the inventory's variants have head dim 4). */
export const FLASH_VARIANTS: readonly ZooVariant[] = [
  {
    name: 'lm D=64 sigmoid (flash)',
    spec: { name: 'lm', vocab: 11, contextLength: 24, dim: 128, depth: 1, heads: 2, mlpRatio: 2, attention: { kind: 'sigmoid', bias: 'negLogN', causal: true } },
    optimizer: 'adamw',
    batch: (rng) => ({ tokens: tf.tensor2d(Array.from({ length: 2 * 24 }, () => rng.int(11)), [2, 24], 'int32') }),
  },
  {
    name: 'vit D=64 softmax (flash)',
    spec: { name: 'vit', imageSize: 8, channels: 1, patchSize: 2, dim: 128, depth: 1, heads: 2, mlpRatio: 2, classes: 3, attention: { kind: 'softmax' } },
    optimizer: 'adamw',
    batch: (rng) => ({
      images: tf.tensor4d(rng.normalF32(2 * 64), [2, 8, 8, 1]),
      labels: tf.tensor1d([rng.int(3), rng.int(3)], 'int32'),
    }),
  },
];

function disposeBatch(batch: Batch): void {
  for (const value of Object.values(batch)) {
    if (value instanceof tf.Tensor) value.dispose();
    else if (Array.isArray(value)) for (const v of value) if (v instanceof tf.Tensor) v.dispose();
  }
}

async function lossAndGrads(variant: ZooVariant, backend: string): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  await tf.setBackend(backend);
  const batch = variant.batch(new Rng(SEED));
  const model = createModelFromSpec(variant.spec, SEED, variant.name);
  try {
    const entries = model.trainableEntries();
    const { value, grads } = tf.variableGrads(() => model.batchLoss(batch, true), entries.map(([, v]) => v));
    const names = new Map(entries.map(([name, v]) => [v.name, name]));
    const out = new Map<string, Float32Array>();
    for (const [varName, g] of Object.entries(grads)) out.set(names.get(varName) ?? varName, g.dataSync() as Float32Array);
    const loss = value.dataSync()[0];
    tf.dispose([value, ...Object.values(grads)]);
    return { loss, grads: out };
  } finally {
    model.dispose();
    disposeBatch(batch);
  }
}

function relNormErr(got: Float32Array, want: Float32Array): number {
  let d = 0, n = 0;
  for (let i = 0; i < want.length; i++) {
    d += (got[i] - want[i]) ** 2;
    n += want[i] ** 2;
  }
  return Math.sqrt(d) / Math.max(Math.sqrt(n), 1e-6);
}

export async function runZooCheck(
  backend: string,
  { variants = [...ZOO_VARIANTS, ...FLASH_VARIANTS], reference = 'cpu' }: { variants?: readonly ZooVariant[]; reference?: string } = {},
): Promise<ZooCheckRow[]> {
  const rows: ZooCheckRow[] = [];
  for (const variant of variants) {
    // NT-Xent divides cosine similarities by τ = 0.2 (the zoo's default), which multiplies TF32's error by 5.
    const tol = variant.name.includes('(flash)') ? 5e-2 : variant.spec.name === 'simclr' ? 2.5e-2 : 5e-3;
    const want = await lossAndGrads(variant, reference);
    let got: Awaited<ReturnType<typeof lossAndGrads>>;
    try {
      got = await lossAndGrads(variant, backend);
    } catch (err) {
      rows.push({ variant: variant.name, lossRef: want.loss, lossErr: Infinity, gradErr: Infinity, worstParam: (err as Error).message.split('\n')[0], params: 0, tol, pass: false });
      continue;
    }
    let gradErr = 0;
    let worstParam = '';
    for (const [name, g] of want.grads) {
      const other = got.grads.get(name);
      const err = other === undefined ? Infinity : relNormErr(other, g);
      if (!(err <= gradErr)) {
        gradErr = err;
        worstParam = name;
      }
    }
    const lossErr = Math.abs(got.loss - want.loss) / Math.max(Math.abs(want.loss), 1e-6);
    rows.push({ variant: variant.name, lossRef: want.loss, lossErr, gradErr, worstParam, params: want.grads.size, tol, pass: want.grads.size > 0 && lossErr <= tol / 2.5 && gradErr <= tol });
  }
  return rows;
}
