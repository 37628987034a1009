/** Speech-recognition error rates. Both are corpus-level: total edits / total reference length. */
import { editDistance } from '@sigattn/common';

function rate<T>(refs: ArrayLike<T>[], hyps: ArrayLike<T>[], what: string): number {
  if (refs.length !== hyps.length) throw new Error(`${what}: ${refs.length} references but ${hyps.length} hypotheses`);
  let edits = 0;
  let total = 0;
  refs.forEach((r, i) => {
    edits += editDistance(r, hyps[i]);
    total += r.length;
  });
  if (total === 0) throw new Error(`${what}: the references are all empty, so the rate is undefined`);
  return edits / total;
}

/** Character error rate over strings (or id sequences). */
export function cer(refs: (string | number[])[], hyps: (string | number[])[]): number {
  return rate<string | number>(refs, hyps, 'cer');
}

/** Word error rate; words are whitespace-separated. */
export function wer(refs: string[], hyps: string[]): number {
  const words = (s: string) => s.trim().split(/\s+/).filter((w) => w.length > 0);
  return rate(refs.map(words), hyps.map(words), 'wer');
}
