/**
 * BatchMatMul cases: ragged M/N/K (1, 3, 17, 33, 130 across the 64/128 tiles, K = 0 and K > one 32-deep
 * k-tile), all four transpose combinations, batches (equal, broadcast either way, folded into M, two
 * unmergeable batch dimensions, rank 5), zoo-like attention shapes, gradients.
 *
 * Broadcast cases have no `grad`: tfjs 4.22's BatchMatMul gradient returns the broadcast batch shape
 * and the engine rejects it on every backend. Mixed broadcasts ([2,1,…]·[1,3,…]) are left out because
 * tfjs's cpu kernel gets them wrong (it indexes batches modulo each operand's batch size); the plan
 * test checks them against a float64 reference instead.
 *
 * Tolerance: on cuda both the own kernel and cuBLAS round the inputs to TF32 (10-bit mantissa, unit
 * roundoff u = 2⁻¹¹) and accumulate in float. Each product then has a relative error ≲ 2u and the sum
 * of `inner` of them (inputs uniform in [-2, 2], random signs) an error that grows like √inner·|a||b|·u,
 * while the op check divides by 1 + |want|. tf32Tol(inner) = 4e-3·√inner is 4.7–80× the worst error
 * the TF32 emulation in test/matmul-plan.test.ts measures over these cases (forward and gradients; the
 * test keeps it at least 2×), room for the tensor cores' own accumulation order;
 * on wasm vs cpu the same tolerance is loose but still catches any indexing mistake (those give O(1)
 * errors). A gradient's inner dimension is N (for dA) or M (for dB), hence the max over all three.
 */
import * as tf from '@tensorflow/tfjs';
import type { OpCase } from '../op-check.js';

/** Tolerance of a TF32 GEMM whose reductions run over at most `inner` terms (see above). */
export function tf32Tol(inner: number): number {
  return 4e-3 * Math.sqrt(Math.max(1, inner));
}

interface MatmulSpec {
  a: number[];
  b: number[];
  transA?: boolean;
  transB?: boolean;
  grad?: boolean;
  /** Name suffix saying what the case is for. */
  why?: string;
}

const flag = (t: boolean | undefined) => (t ? 'T' : '');

function matmulCase(s: MatmulSpec): OpCase {
  const [transA = false, transB = false] = [s.transA, s.transB];
  const ra = s.a.length, rb = s.b.length;
  const M = transA ? s.a[ra - 1] : s.a[ra - 2];
  const K = transA ? s.a[ra - 2] : s.a[ra - 1];
  const N = transB ? s.b[rb - 2] : s.b[rb - 1];
  return {
    name: `BatchMatMul [${s.a.join(',')}]${flag(transA)}·[${s.b.join(',')}]${flag(transB)}${s.why ? ` (${s.why})` : ''}`,
    kernels: ['BatchMatMul'],
    inputs: [{ shape: s.a }, { shape: s.b }],
    run: (a, b) => tf.matMul(a, b, transA, transB),
    grad: s.grad ?? false,
    tol: tf32Tol(s.grad ? Math.max(M, N, K) : K),
  };
}

const transposes: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]];

/** A stored as [M,K] or [K,M], B as [K,N] or [N,K], with the given batch dimensions. */
function shapes(M: number, K: number, N: number, transA: boolean, transB: boolean, batchA: number[] = [], batchB: number[] = []): Pick<MatmulSpec, 'a' | 'b'> {
  return { a: [...batchA, ...(transA ? [K, M] : [M, K])], b: [...batchB, ...(transB ? [N, K] : [K, N])] };
}

export const matmulCases: OpCase[] = [
  matmulCase({ a: [1, 1], b: [1, 1], grad: true, why: '1×1×1' }),
  // Ragged M/N/K in every transpose layout (unaligned rows → the kernel's 4-byte copies).
  ...transposes.map(([ta, tb]) => matmulCase({ ...shapes(3, 17, 33, ta, tb), transA: ta, transB: tb, grad: true })),
  ...transposes.map(([ta, tb]) => matmulCase({ ...shapes(17, 33, 3, ta, tb), transA: ta, transB: tb, grad: true })),
  // Aligned rows (16-byte copies) crossing 64- and 128-wide tiles with ragged edges.
  ...transposes.map(([ta, tb]) => matmulCase({ ...shapes(130, 64, 132, ta, tb), transA: ta, transB: tb, grad: true })),
  matmulCase({ a: [1, 257], b: [257, 7], grad: true, why: 'M = 1' }),
  matmulCase({ a: [33, 1], b: [1, 65], grad: true, why: 'K = 1' }),
  matmulCase({ a: [40, 300], b: [300, 70], grad: true, why: '10 k-tiles, ragged last' }),
  matmulCase({ a: [3, 0], b: [0, 5], why: 'K = 0 gives zeros' }),
  // Batches.
  matmulCase({ a: [3, 33, 17], b: [3, 17, 65], grad: true }),
  matmulCase({ ...shapes(33, 17, 65, true, false, [3], [3]), transA: true, grad: true }),
  matmulCase({ ...shapes(33, 17, 65, false, true, [3], [3]), transB: true, grad: true }),
  matmulCase({ a: [2, 2, 2, 5, 7], b: [2, 2, 2, 7, 3], grad: true, why: 'rank 5' }),
  matmulCase({ a: [2, 3, 17, 33], b: [33, 20], why: 'B broadcast, folds into M' }),
  matmulCase({ a: [2, 3, 33, 17], b: [33, 20], transA: true, why: 'B broadcast, transposed A' }),
  matmulCase({ a: [4, 9, 5], b: [1, 5, 6], why: 'size-1 batch broadcast' }),
  matmulCase({ a: [1, 17, 9], b: [4, 9, 5], why: 'A broadcast' }),
  matmulCase({ a: [2, 3, 5, 8], b: [3, 8, 4], why: 'B batch a suffix: two batch dims' }),
  // Attention-like: scores Q·Kᵀ and P·V over [batch, heads].
  matmulCase({ a: [2, 4, 50, 16], b: [2, 4, 50, 16], transB: true, grad: true, why: 'Q·Kᵀ' }),
  matmulCase({ a: [2, 4, 50, 50], b: [2, 4, 50, 16], grad: true, why: 'P·V' }),
];
