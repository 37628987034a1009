/**
 * Every attention kind of kernel-core (ATTENTION_KINDS, the one list) is a valid `attention.kind` in
 * a model config and reaches the op with its bias; anything else is refused with the list.
 */
import { describe, expect, it } from 'vitest';
import { ATTENTION_KINDS } from '@sigattn/kernel-core';
import { TRANSFORMER_SCHEMA, attentionSpec, readConfig, type TransformerConfig } from '../src/index.js';

const base = { dim: 32, depth: 1, heads: 2 };

describe('attention.kind', () => {
  it('accepts every kernel-core kind; the element-wise ones get b = −log n', () => {
    for (const kind of ATTENTION_KINDS) {
      const c = readConfig<TransformerConfig>('model', { ...base, attention: { kind } }, TRANSFORMER_SCHEMA);
      expect(c.attention.kind).toBe(kind);
      const spec = attentionSpec(c.attention, 64);
      expect(spec.kind).toBe(kind);
      expect(spec.bias).toEqual(kind === 'softmax' ? undefined : { negLogN: 64 });
    }
  });

  it('refuses another kind, listing the allowed ones', () => {
    expect(() => readConfig('model', { ...base, attention: { kind: 'tanh' } }, TRANSFORMER_SCHEMA))
      .toThrow(/model\.attention\.kind: expected 'sigmoid' \| 'softmax' \| 'relu' \| 'gelu', found "tanh"/);
  });
});
