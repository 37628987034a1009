/**
 * Connectionist Temporal Classification (Graves et al. 2006) with its gradient. tfjs has no CTC, and
 * autodiff through a T-step dynamic programme would be slow and unstable, so the loss and its exact
 * gradient come from the forward–backward algorithm in log space (float64, on the host), wrapped in
 * tf.customGrad. Needs a backend with synchronous read-back (cpu, wasm).
 *
 * With l' = the target with blanks around and between labels (length S = 2L + 1), and y = softmax(u):
 *   α_t(s) = (α_{t−1}(s) + α_{t−1}(s−1) + [l'_s ≠ blank, l'_s ≠ l'_{s−2}]·α_{t−1}(s−2)) · y_t(l'_s)
 *   β_t(s) = (β_{t+1}(s) + β_{t+1}(s+1) + [l'_s ≠ blank, l'_s ≠ l'_{s+2}]·β_{t+1}(s+2)) · y_t(l'_s)
 *   p(l|x) = α_{T−1}(S−1) + α_{T−1}(S−2)
 *   ∂(−log p)/∂u_t(k) = y_t(k) − Σ_{s: l'_s = k} α_t(s)β_t(s) / (p · y_t(k))
 * An infeasible target (too long for its input, counting repeats) gives loss 0 and gradient 0
 * (PyTorch's zero_infinity) rather than a NaN that would poison the whole batch.
 */
import * as tf from '@tensorflow/tfjs';

const NEG_INF = -Infinity;

function lse2(a: number, b: number): number {
  if (a === NEG_INF) return b;
  if (b === NEG_INF) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** −log p(target | logits) for one sequence, and ∂/∂logits written into `grad` (same layout, [T, V]). */
export function ctcSequence(
  logits: ArrayLike<number>,
  T: number,
  V: number,
  target: readonly number[],
  blank: number,
  grad: Float64Array | null,
): number {
  // log-softmax per frame
  const logp = new Float64Array(T * V);
  for (let t = 0; t < T; t++) {
    let m = NEG_INF;
    for (let k = 0; k < V; k++) m = Math.max(m, logits[t * V + k]);
    let s = 0;
    for (let k = 0; k < V; k++) s += Math.exp(logits[t * V + k] - m);
    const lz = m + Math.log(s);
    for (let k = 0; k < V; k++) logp[t * V + k] = logits[t * V + k] - lz;
  }
  const S = 2 * target.length + 1;
  const lab = (s: number) => (s % 2 === 0 ? blank : target[(s - 1) >> 1]);
  const skip = (s: number, dir: number) => s % 2 === 1 && s + dir >= 0 && s + dir < S && lab(s) !== lab(s + dir);
  const alpha = new Float64Array(T * S).fill(NEG_INF);
  const beta = new Float64Array(T * S).fill(NEG_INF);
  alpha[0] = logp[blank];
  if (S > 1) alpha[1] = logp[lab(1)];
  for (let t = 1; t < T; t++) {
    for (let s = 0; s < S; s++) {
      let a = alpha[(t - 1) * S + s];
      if (s >= 1) a = lse2(a, alpha[(t - 1) * S + s - 1]);
      if (skip(s, -2)) a = lse2(a, alpha[(t - 1) * S + s - 2]);
      alpha[t * S + s] = a === NEG_INF ? NEG_INF : a + logp[t * V + lab(s)];
    }
  }
  const logP = S > 1 ? lse2(alpha[(T - 1) * S + S - 1], alpha[(T - 1) * S + S - 2]) : alpha[(T - 1) * S];
  if (logP === NEG_INF) return 0; // infeasible: zero loss, zero gradient (grad left as zeros)
  if (grad === null) return -logP;
  beta[(T - 1) * S + S - 1] = logp[(T - 1) * V + lab(S - 1)];
  if (S > 1) beta[(T - 1) * S + S - 2] = logp[(T - 1) * V + lab(S - 2)];
  for (let t = T - 2; t >= 0; t--) {
    for (let s = 0; s < S; s++) {
      let b = beta[(t + 1) * S + s];
      if (s + 1 < S) b = lse2(b, beta[(t + 1) * S + s + 1]);
      if (skip(s, 2)) b = lse2(b, beta[(t + 1) * S + s + 2]);
      beta[t * S + s] = b === NEG_INF ? NEG_INF : b + logp[t * V + lab(s)];
    }
  }
  const occ = new Float64Array(V);
  for (let t = 0; t < T; t++) {
    occ.fill(NEG_INF);
    for (let s = 0; s < S; s++) {
      const k = lab(s);
      occ[k] = lse2(occ[k], alpha[t * S + s] + beta[t * S + s]);
    }
    for (let k = 0; k < V; k++) {
      const lp = logp[t * V + k];
      const post = occ[k] === NEG_INF ? 0 : Math.exp(occ[k] - logP - lp);
      grad[t * V + k] = Math.exp(lp) - post;
    }
  }
  return -logP;
}

function checkInputs(shape: number[], targets: number[][], lengths: number[], blank: number): void {
  const [B, T, V] = shape;
  if (targets.length !== B) throw new Error(`ctcLoss: targets has ${targets.length} sequences but logits has batch ${B}`);
  if (lengths.length !== B) throw new Error(`ctcLoss: inputLengths has ${lengths.length} entries but logits has batch ${B}`);
  lengths.forEach((n, b) => {
    if (!Number.isInteger(n) || n < 1 || n > T) throw new Error(`ctcLoss: inputLengths[${b}] must be an integer in 1..${T}, found ${n}`);
  });
  targets.forEach((seq, b) =>
    seq.forEach((k, i) => {
      if (!Number.isInteger(k) || k < 0 || k >= V || k === blank) {
        throw new Error(`ctcLoss: targets[${b}][${i}] = ${k} must be a label id in 0..${V - 1} other than the blank ${blank}`);
      }
    }),
  );
}

/**
 * Mean over the batch of −log p(target_b | logits_b[:inputLengths_b]). logits [B, T, V] are unnormalised.
 */
export function ctcLoss(logits: tf.Tensor3D, targets: number[][], inputLengths?: number[], blank = 0): tf.Scalar {
  const [B, T, V] = logits.shape;
  const lengths = inputLengths ?? new Array<number>(B).fill(T);
  checkInputs(logits.shape, targets, lengths, blank);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const data = x.dataSync();
    const grad = new Float64Array(B * T * V);
    let total = 0;
    for (let b = 0; b < B; b++) {
      const n = lengths[b];
      const g = grad.subarray(b * T * V, b * T * V + n * V);
      total += ctcSequence(data.subarray(b * T * V, b * T * V + n * V), n, V, targets[b], blank, g);
    }
    for (let i = 0; i < grad.length; i++) grad[i] /= B;
    const g = tf.tensor(Float32Array.from(grad), [B, T, V]);
    save([g]);
    return { value: tf.scalar(total / B) as tf.Scalar, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]) };
  });
  return f(logits) as tf.Scalar;
}

/** Greedy (best-path) decoding: per-frame argmax, merge repeats, drop blanks. logits [B, T, V]. */
export function ctcGreedyDecode(logits: tf.Tensor3D, inputLengths?: number[], blank = 0): number[][] {
  const [B, T, V] = logits.shape;
  const data = logits.dataSync();
  return Array.from({ length: B }, (_, b) => {
    const out: number[] = [];
    let prev = -1;
    for (let t = 0; t < (inputLengths?.[b] ?? T); t++) {
      let best = 0;
      for (let k = 1; k < V; k++) if (data[(b * T + t) * V + k] > data[(b * T + t) * V + best]) best = k;
      if (best !== prev && best !== blank) out.push(best);
      prev = best;
    }
    return out;
  });
}
