/**
 * The fused norm op (kernel-core's fusedNorm; kernels in src/kernels/norm.ts) against the composed ops on
 * cpu: LayerNorm and RMSNorm, C from 4 to 1536 (every warp-row kernel w1…w32 and the block-row kernels),
 * 1 to 1000+ rows (one and several column-sum chunks), ranks 2–4, gradients for x, gamma and beta. On wasm
 * (no fused kernel) both sides run the composed ops, which checks the cases themselves.
 * Tolerance: dgamma/dbeta are sums over up to ~1000 rows, added in float32 in the kernel's chunk order and
 * in another order by the composed ops; 1e-4 of (1 + |value|) covers that, a wrong row or column is O(1).
 */
import type * as tf from '@tensorflow/tfjs';
import { fusedNorm, type NormKind } from '@sigattn/kernel-core';
import type { OpCase } from '../op-check.js';

const TOL = 1e-4;
const EPS = 1e-5;

function normCase(kind: NormKind, shape: number[], eps = EPS): OpCase {
  const c = shape[shape.length - 1];
  const params = kind === 'layernorm' ? [{ shape: [c], range: [0.5, 1.5] as [number, number] }, { shape: [c] }] : [{ shape: [c], range: [0.5, 1.5] as [number, number] }];
  return {
    name: `norm ${kind} [${shape.join(',')}]${eps === EPS ? '' : ` eps=${eps}`}`,
    kernels: ['SigattnNorm', 'SigattnNormGrad'],
    inputs: [{ shape }, ...params],
    run: (x: tf.Tensor, gamma: tf.Tensor, beta?: tf.Tensor) => fusedNorm(x, gamma, beta ?? null, kind, eps),
    grad: true,
    tol: TOL,
  };
}

/** C ≤ 1024 go one warp per row (values per lane 1 up to C = 32, then 2, 4, 8, 16, 32), 1536 one block per row. */
const SHAPES: number[][] = [
  [1, 4],
  [3, 8],
  [1100, 4],
  [50, 32],
  [2, 25, 64],
  [2, 520, 64],
  [2, 3, 7, 128],
  [7, 200],
  [2, 3, 4, 256],
  [3, 17, 257],
  [1030, 257],
  [1, 1536],
  [3, 1536],
  [70, 1536],
  [2, 3, 1, 1024],
];

export const normCases: OpCase[] = [
  ...SHAPES.map((s) => normCase('layernorm', s)),
  ...SHAPES.map((s) => normCase('rmsnorm', s)),
  normCase('layernorm', [1001, 1536]),
  // A large eps dominates the variance: checks where eps is added.
  normCase('layernorm', [5, 33], 0.5),
  normCase('rmsnorm', [5, 33], 0.5),
];
