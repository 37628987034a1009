/** resolveAttention: defaults, and errors that name the tensor, the dimension and both values. */
import { describe, expect, it } from 'vitest';
import {
  ATTENTION_KINDS, AttentionSpecError, ELEMENTWISE_KINDS, alibiSlopes, attentionFlops, biasForm, resolveAttention, resolveBias,
} from '../src/index.js';

const q = [2, 4, 10, 16];
const kv = [2, 2, 12, 16];

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AttentionSpecError);
    return (e as Error).message;
  }
  throw new Error('expected an AttentionSpecError, but nothing was thrown');
}

describe('resolveAttention defaults', () => {
  it('fills scale 1/√D, bias 0, no masks', () => {
    const r = resolveAttention(q, kv, kv, { kind: 'sigmoid' });
    expect(r).toMatchObject({ B: 2, H: 4, Hkv: 2, Nq: 10, Nk: 12, D: 16, scale: 0.25, bias: 0, causal: false, alibiSlopes: null, keyLengths: null });
  });

  it('every kind in ATTENTION_KINDS resolves; the element-wise ones keep their bias, softmax has none', () => {
    for (const kind of ATTENTION_KINDS) {
      const r = resolveAttention(q, kv, kv, kind === 'softmax' ? { kind } : { kind, bias: { negLogN: 64 } });
      expect(r.kind).toBe(kind);
      expect(r.bias).toBeCloseTo(kind === 'softmax' ? 0 : -Math.log(64), 12);
    }
    expect([...ELEMENTWISE_KINDS]).toEqual(ATTENTION_KINDS.filter((k) => k !== 'softmax'));
  });

  it('the bias shifts the sigmoid logit and scales the relu/gelu weight', () => {
    expect(biasForm({ kind: 'sigmoid', bias: -2 })).toEqual({ shift: -2, gain: 1 });
    expect(biasForm({ kind: 'relu', bias: -Math.log(8) }).gain).toBeCloseTo(1 / 8, 14);
    expect(biasForm({ kind: 'gelu', bias: 0 })).toEqual({ shift: 0, gain: 1 });
    expect(biasForm({ kind: 'softmax', bias: 0 })).toEqual({ shift: 0, gain: 1 });
  });

  it('bias { negLogN: n } is −log n of the training length n', () => {
    expect(resolveAttention(q, kv, kv, { kind: 'sigmoid', bias: { negLogN: 2048 } }).bias).toBeCloseTo(-7.6246, 4);
    expect(resolveBias(-3.5)).toBe(-3.5);
  });

  it('standard ALiBi slopes are 2^(−8(h+1)/H) for a power of two', () => {
    expect(Array.from(alibiSlopes(4))).toEqual([2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8]);
    expect(alibiSlopes(6).length).toBe(6);
  });

  it('FLOPs follow the FlashAttention convention', () => {
    const shape = { B: 2, H: 3, Hkv: 3, Nq: 5, Nk: 7, D: 8 };
    expect(attentionFlops(shape, false, 'fwd')).toBe(4 * 2 * 3 * 5 * 7 * 8);
    expect(attentionFlops(shape, true, 'fwd+bwd')).toBe(3.5 * 2 * 3 * 5 * 7 * 8 * 2);
  });
});

describe('resolveAttention errors name the tensor, the dimension and both values', () => {
  it('rank', () => {
    expect(errorOf(() => resolveAttention([2, 4, 10], kv, kv, { kind: 'softmax' }))).toMatch(/q must have rank 4 \[B, H, N, D\], got rank 3 with shape \[2, 4, 10\]/);
  });

  it('non-positive dimension', () => {
    expect(errorOf(() => resolveAttention(q, [2, 2, 0, 16], kv, { kind: 'softmax' }))).toMatch(/k dimension 2 \(N \(sequence\)\) must be a positive integer, got 0/);
  });

  it('head dim mismatch between q and k', () => {
    expect(errorOf(() => resolveAttention(q, [2, 2, 12, 8], kv, { kind: 'softmax' }))).toMatch(/k dimension 3 \(D \(head dim\)\) is 8 but q has 16/);
  });

  it('batch mismatch between q and k', () => {
    expect(errorOf(() => resolveAttention(q, [3, 2, 12, 16], kv, { kind: 'softmax' }))).toMatch(/k dimension 0 \(B \(batch\)\) is 3 but q has 2/);
  });

  it('v differs from k', () => {
    expect(errorOf(() => resolveAttention(q, kv, [2, 2, 11, 16], { kind: 'softmax' }))).toMatch(/v dimension 2 \(N \(sequence\)\) is 11 but k has 12/);
  });

  it('kv heads that do not divide q heads', () => {
    expect(errorOf(() => resolveAttention(q, [2, 3, 12, 16], [2, 3, 12, 16], { kind: 'softmax' }))).toMatch(/k dimension 1 \(H, heads\) is 3, which must divide q's 4 heads/);
  });

  it('unknown kind', () => {
    expect(errorOf(() => resolveAttention(q, kv, kv, { kind: 'tanh' as 'softmax' })))
      .toMatch(/spec\.kind must be one of 'sigmoid', 'softmax', 'relu', 'gelu', got "tanh"/);
  });

  it('bias with softmax', () => {
    expect(errorOf(() => resolveAttention(q, kv, kv, { kind: 'softmax', bias: -2 })))
      .toMatch(/spec\.bias is only defined for the element-wise kinds \(sigmoid, relu, gelu; softmax is shift-invariant\); got -2 with kind 'softmax'/);
  });

  it('bad negLogN and non-finite bias/scale', () => {
    expect(errorOf(() => resolveAttention(q, kv, kv, { kind: 'sigmoid', bias: { negLogN: 0 } }))).toMatch(/bias\.negLogN is the training sequence length and must be ≥ 1, got 0/);
    expect(errorOf(() => resolveAttention(q, kv, kv, { kind: 'sigmoid', bias: NaN }))).toMatch(/bias must be a finite number, got NaN/);
    expect(errorOf(() => resolveAttention(q, kv, kv, { kind: 'sigmoid', scale: Infinity }))).toMatch(/spec\.scale must be a finite number, got Infinity/);
  });

  it('ALiBi slopes: one per query head, finite', () => {
    expect(errorOf(() => resolveAttention(q, kv, kv, { kind: 'sigmoid', alibiSlopes: [0.5, 0.25] }))).toMatch(/spec\.alibiSlopes has length 2 but q has 4 heads/);
    expect(errorOf(() => resolveAttention(q, kv, kv, { kind: 'sigmoid', alibiSlopes: [0.5, NaN, 0.1, 0.1] }))).toMatch(/spec\.alibiSlopes\[1\] must be finite, got NaN/);
  });

  it('key lengths: one per batch element, integers in 0..Nk', () => {
    expect(errorOf(() => resolveAttention(q, kv, kv, { kind: 'softmax', keyLengths: [3] }))).toMatch(/spec\.keyLengths has length 1 but q has batch 2/);
    expect(errorOf(() => resolveAttention(q, kv, kv, { kind: 'softmax', keyLengths: [3, 13] }))).toMatch(/spec\.keyLengths\[1\] must be an integer in 0\.\.12 \(k dimension 2\), got 13/);
  });
});
