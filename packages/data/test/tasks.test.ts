import { describe, expect, it } from 'vitest';
import { IGNORE, lengthGeneralizationSplits, taskBatch, taskVocab, TASKS, type TaskBatch, type TaskName } from '../src/index.js';

/** Decode example b of a batch into (items, query, answer) using the vocabulary layout. */
function parts(batch: TaskBatch, b: number): { prompt: number[]; answer: number[] } {
  const row = Array.from(batch.x.subarray(b * batch.seqLen, (b + 1) * batch.seqLen));
  const y = Array.from(batch.y.subarray(b * batch.seqLen, (b + 1) * batch.seqLen));
  const firstScored = y.findIndex((v) => v !== IGNORE);
  const answer = y.filter((v) => v !== IGNORE);
  // the input at firstScored is the final SEP, which asks for the answer
  return { prompt: row.slice(1, firstScored + 1), answer: answer.slice(0, -1) };
}

describe('synthetic tasks', () => {
  const v = taskVocab(16, 256);
  it.each(TASKS)('%s: answers are correct, lengths in range, seeded', (task: TaskName) => {
    const o = { task, symbols: 16, lengths: [3, 9] as [number, number], batchSize: 32, seed: 5 };
    const batch = taskBatch(o, 0);
    expect(Array.from(taskBatch(o, 0).x)).toEqual(Array.from(batch.x));
    expect(Array.from(taskBatch(o, 1).x)).not.toEqual(Array.from(batch.x));
    for (let b = 0; b < batch.size; b++) {
      const len = batch.lengths[b];
      expect(len).toBeGreaterThanOrEqual(3);
      expect(len).toBeLessThanOrEqual(9);
      const { prompt, answer } = parts(batch, b);
      const y = batch.y.subarray(b * batch.seqLen, (b + 1) * batch.seqLen);
      expect(y.filter((t) => t !== IGNORE).at(-1)).toBe(v.EOS);
      if (task === 'recall') {
        expect([prompt.at(-3), prompt.at(-1)]).toEqual([v.SEP, v.SEP]);
        const pairs = prompt.slice(0, -3);
        expect(pairs).toHaveLength(2 * len);
        const q = prompt.at(-2)!;
        const k = pairs.findIndex((t, i) => i % 2 === 0 && t === q);
        expect(answer).toEqual([pairs[k + 1]]);
      } else if (task === 'count') {
        const items = prompt.slice(0, -3);
        expect(items).toHaveLength(len);
        expect(answer).toEqual([v.numberBase + items.filter((s) => s === prompt.at(-2)).length]);
      } else {
        const items = prompt.slice(0, -1);
        expect(prompt.at(-1)).toBe(v.SEP);
        expect(items).toHaveLength(len);
        const want = task === 'copy' ? items : task === 'reverse' ? [...items].reverse() : [...items].sort((p, q) => p - q);
        expect(answer).toEqual(want);
      }
    }
  });
  it('train and test lengths are disjoint; the vocabulary is shared', () => {
    const s = lengthGeneralizationSplits({ task: 'reverse', train: [1, 8], test: [9, 32], batchSize: 16, seed: 1, testBatches: 3 });
    expect(Math.max(...s.train(0).lengths)).toBeLessThanOrEqual(8);
    expect(Math.min(...s.test.flatMap((t) => Array.from(t.lengths)))).toBeGreaterThanOrEqual(9);
    const maxTok = Math.max(...s.test.flatMap((t) => Array.from(t.x)), ...s.train(3).x);
    expect(maxTok).toBeLessThan(taskVocab(16, 256).size);
    expect(() => lengthGeneralizationSplits({ task: 'copy', train: [1, 8], test: [8, 16], batchSize: 1, seed: 1, testBatches: 1 })).toThrow(/should start above/);
    expect(() => taskBatch({ task: 'recall', symbols: 4, lengths: [5, 5], batchSize: 1, seed: 0 }, 0)).toThrow(/5 pairs need 5 distinct keys/);
  });
});
