/** CTC loss and gradient against brute-force enumeration of every alignment; decoding; CER/WER. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { cer, ctcGreedyDecode, ctcLoss, wer } from '../src/index.js';
import { randn, setup } from './helpers.js';

beforeAll(setup);

/** Collapse an alignment: merge repeats, then drop blanks (0). */
function collapse(path: number[]): number[] {
  return path.filter((k, t) => k !== 0 && (t === 0 || path[t - 1] !== k));
}

/** −log Σ over all V^T alignments that collapse to `target` of Π_t softmax(logits_t)[path_t], in float64. */
function bruteForce(logits: Float64Array, T: number, V: number, target: number[]): number {
  const probs: number[][] = [];
  for (let t = 0; t < T; t++) {
    const row = Array.from(logits.subarray(t * V, t * V + V));
    const m = Math.max(...row);
    const z = row.reduce((a, x) => a + Math.exp(x - m), 0);
    probs.push(row.map((x) => Math.exp(x - m) / z));
  }
  let total = 0;
  const path = new Array<number>(T).fill(0);
  for (let code = 0; code < V ** T; code++) {
    let c = code;
    for (let t = 0; t < T; t++) {
      path[t] = c % V;
      c = Math.floor(c / V);
    }
    const col = collapse(path);
    if (col.length === target.length && col.every((k, i) => k === target[i])) {
      total += path.reduce((p, k, t) => p * probs[t][k], 1);
    }
  }
  return -Math.log(total);
}

describe('ctc', () => {
  const cases: { T: number; V: number; target: number[] }[] = [
    { T: 5, V: 3, target: [1, 2] },
    { T: 5, V: 3, target: [1, 1] }, // a repeat needs a blank between
    { T: 4, V: 4, target: [3] },
    { T: 4, V: 3, target: [] },
    { T: 6, V: 3, target: [2, 1, 2] },
  ];

  it('loss and gradient match brute-force enumeration (central differences in float64)', () => {
    cases.forEach(({ T, V, target }, ci) => {
      const x = randn([1, T, V], 100 + ci) as tf.Tensor3D;
      const lf = Float64Array.from(x.dataSync());
      const expected = bruteForce(lf, T, V, target);
      const loss = ctcLoss(x, [target]).dataSync()[0];
      expect(loss).toBeCloseTo(expected, 4);
      const grad = tf.grad((l: tf.Tensor) => ctcLoss(l as tf.Tensor3D, [target]))(x).dataSync();
      const h = 1e-5;
      for (let i = 0; i < T * V; i++) {
        const up = lf.slice();
        const dn = lf.slice();
        up[i] += h;
        dn[i] -= h;
        const fd = (bruteForce(up, T, V, target) - bruteForce(dn, T, V, target)) / (2 * h);
        expect(grad[i]).toBeCloseTo(fd, 4);
      }
    });
  });

  it('batches with input lengths: mean of per-sequence losses; no gradient on padded frames', () => {
    const T = 5;
    const V = 3;
    const x = randn([2, T, V], 7) as tf.Tensor3D;
    const d = Float64Array.from(x.dataSync());
    const l0 = bruteForce(d.subarray(0, T * V), T, V, [1, 2]);
    const l1 = bruteForce(d.subarray(T * V, T * V + 3 * V), 3, V, [2]);
    expect(ctcLoss(x, [[1, 2], [2]], [5, 3]).dataSync()[0]).toBeCloseTo((l0 + l1) / 2, 4);
    const g = tf.grad((l: tf.Tensor) => ctcLoss(l as tf.Tensor3D, [[1, 2], [2]], [5, 3]))(x).dataSync();
    for (let i = T * V + 3 * V; i < 2 * T * V; i++) expect(g[i]).toBe(0);
    // Each frame's gradient (softmax − posterior) sums to zero over the vocabulary.
    for (let t = 0; t < T; t++) expect(g[t * V] + g[t * V + 1] + g[t * V + 2]).toBeCloseTo(0, 6);
  });

  it('an infeasible target gives loss 0 and gradient 0 (zero_infinity)', () => {
    const x = randn([1, 2, 3], 9) as tf.Tensor3D;
    expect(ctcLoss(x, [[1, 1]]).dataSync()[0]).toBe(0); // needs 3 frames
    expect(Array.from(tf.grad((l: tf.Tensor) => ctcLoss(l as tf.Tensor3D, [[1, 1]]))(x).dataSync()).every((v) => v === 0)).toBe(true);
  });

  it('rejects bad targets and lengths with a message naming them', () => {
    const x = randn([1, 4, 3], 1) as tf.Tensor3D;
    expect(() => ctcLoss(x, [[0]])).toThrow(/targets\[0\]\[0\] = 0/);
    expect(() => ctcLoss(x, [[1]], [5])).toThrow(/inputLengths\[0\]/);
  });

  it('greedy decoding merges repeats and drops blanks, up to each length', () => {
    const path = [1, 1, 0, 1, 2, 2, 0, 3];
    const V = 4;
    const data = new Float32Array(path.length * V);
    const noise = randn([path.length * V], 3).dataSync();
    path.forEach((k, t) => {
      for (let v = 0; v < V; v++) data[t * V + v] = 0.1 * noise[t * V + v] + (v === k ? 5 : 0);
    });
    const logits = tf.tensor3d(data, [1, path.length, V]);
    expect(ctcGreedyDecode(logits)).toEqual([[1, 1, 2, 3]]);
    expect(ctcGreedyDecode(logits, [6])).toEqual([[1, 1, 2]]);
  });
});

describe('error rates', () => {
  it('CER and WER count edits over the reference length', () => {
    expect(cer(['abcd', 'xy'], ['abed', 'xy'])).toBeCloseTo(1 / 6);
    expect(wer(['the cat sat', 'on a mat'], ['the cat sat down', 'on mat'])).toBeCloseTo(2 / 6);
    expect(() => wer([''], [''])).toThrow(/empty/);
  });
});
