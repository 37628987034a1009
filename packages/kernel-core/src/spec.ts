/**
 * The one attention spec that every back end (float64 reference, TypeScript, WGSL, CUDA) implements.
 *
 * Shapes: q [B, H, Nq, D]; k and v [B, Hkv, Nk, D]. Hkv must divide H (grouped-query attention:
 * query head h reads key/value head floor(h / (H / Hkv))).
 *
 * Logit of query i and key j in head h of batch b:
 *   s = scale · (q_i · k_j) − alibiSlope_h · |i + (Nk − Nq) − j|
 * Masked positions (causal, padding) get weight 0. With b the scalar bias of the element-wise kinds:
 *   sigmoid: P = σ(s + b)                (element-wise, rows are not normalised)
 *   relu:    P = e^b · max(0, s)         (element-wise; b = −log n divides by n instead of shifting)
 *   gelu:    P = e^b · gelu(s)           (element-wise, gelu in its tanh form, like the models' MLP)
 *   softmax: P = exp(s − logsumexp_j s)  (rows sum to 1; a fully masked row gives P = 0, O = 0)
 *   O = P · V
 */

/** Every attention kind, in one list: the spec, the kernel attributes and the model configs derive from it. */
export const ATTENTION_KINDS = ['sigmoid', 'softmax', 'relu', 'gelu'] as const;
export type AttentionKind = (typeof ATTENTION_KINDS)[number];

/** The kinds whose weights are an element-wise function of the logit (no row normalisation); they take a bias. */
export type ElementwiseKind = Exclude<AttentionKind, 'softmax'>;
export const ELEMENTWISE_KINDS: readonly ElementwiseKind[] = ATTENTION_KINDS.filter((k): k is ElementwiseKind => k !== 'softmax');

export function isElementwise(kind: AttentionKind): kind is ElementwiseKind {
  return kind !== 'softmax';
}

/**
 * Scalar bias of the element-wise kinds. `{ negLogN: n }` means b = −log n where n is the TRAINING
 * sequence length (the number of keys seen in training), fixed for the model — not each row's own
 * length. For sigmoid this is the paper's recommendation: at initialisation each weight is
 * ≈ 1/(n+1), so a row's attention mass starts near 1, like softmax, instead of near n/2. For relu and
 * gelu the bias multiplies instead of shifts (P = e^b·φ(s)), so b = −log n is the 1/n normaliser of
 * ReLU attention: a shift by −log n would zero almost every weight at initialisation.
 */
export type AttentionBias = number | { negLogN: number };

export interface AttentionSpec {
  kind: AttentionKind;
  /** Logit scale; default 1/√D. */
  scale?: number;
  /** Element-wise kinds only (default 0; rejected for softmax): sigmoid σ(s + b), relu/gelu e^b·φ(s). */
  bias?: AttentionBias;
  /** Causal mask aligned to the bottom-right: query i sees key j iff j ≤ i + (Nk − Nq). */
  causal?: boolean;
  /** ALiBi slopes, one per query head (length H). Uses the true distance |i + Nk − Nq − j|. */
  alibiSlopes?: ArrayLike<number>;
  /** Per-batch number of valid keys (length B, each in 0..Nk): keys j ≥ keyLengths[b] are masked. */
  keyLengths?: ArrayLike<number>;
}

export interface AttentionShape {
  B: number;
  H: number;
  Hkv: number;
  Nq: number;
  Nk: number;
  D: number;
}

/** A spec with every default filled in and every option checked against the shapes. */
export interface ResolvedAttention extends AttentionShape {
  kind: AttentionKind;
  scale: number;
  /** The effective scalar bias b of the element-wise kinds (0 for softmax). */
  bias: number;
  causal: boolean;
  alibiSlopes: Float64Array | null;
  keyLengths: Int32Array | null;
}

export class AttentionSpecError extends Error {
  override name = 'AttentionSpecError';
}

const DIM_NAMES = ['B (batch)', 'H (heads)', 'N (sequence)', 'D (head dim)'] as const;

function fail(message: string): never {
  throw new AttentionSpecError(`attention: ${message}`);
}

function checkRank(name: string, shape: readonly number[]): void {
  if (shape.length !== 4) {
    fail(`${name} must have rank 4 [B, H, N, D], got rank ${shape.length} with shape [${shape.join(', ')}]`);
  }
  shape.forEach((n, axis) => {
    if (!Number.isInteger(n) || n < 1) {
      fail(`${name} dimension ${axis} (${DIM_NAMES[axis]}) must be a positive integer, got ${n}`);
    }
  });
}

function sameDim(name: string, shape: readonly number[], axis: number, refName: string, refShape: readonly number[]): void {
  if (shape[axis] !== refShape[axis]) {
    fail(`${name} dimension ${axis} (${DIM_NAMES[axis]}) is ${shape[axis]} but ${refName} has ${refShape[axis]}`);
  }
}

export function resolveBias(bias: AttentionBias | undefined): number {
  if (bias === undefined) return 0;
  if (typeof bias === 'number') {
    if (!Number.isFinite(bias)) fail(`bias must be a finite number, got ${bias}`);
    return bias;
  }
  if (typeof bias === 'object' && bias !== null && 'negLogN' in bias) {
    const n = bias.negLogN;
    if (!Number.isFinite(n) || n < 1) {
      fail(`bias.negLogN is the training sequence length and must be ≥ 1, got ${n}`);
    }
    return -Math.log(n);
  }
  return fail(`bias must be a number or { negLogN: n }, got ${JSON.stringify(bias)}`);
}

/** Validate shapes and options; throws AttentionSpecError naming the tensor, dimension and both values. */
export function resolveAttention(
  qShape: readonly number[],
  kShape: readonly number[],
  vShape: readonly number[],
  spec: AttentionSpec,
): ResolvedAttention {
  checkRank('q', qShape);
  checkRank('k', kShape);
  checkRank('v', vShape);
  sameDim('k', kShape, 0, 'q', qShape);
  sameDim('k', kShape, 3, 'q', qShape);
  for (const axis of [0, 1, 2, 3]) sameDim('v', vShape, axis, 'k', kShape);
  const [B, H, Nq, D] = qShape as [number, number, number, number];
  const [, Hkv, Nk] = kShape as [number, number, number, number];
  if (H % Hkv !== 0) {
    fail(`k dimension 1 (H, heads) is ${Hkv}, which must divide q's ${H} heads (grouped-query attention)`);
  }
  if (spec === null || typeof spec !== 'object') fail(`spec must be an object, got ${String(spec)}`);
  if (!(ATTENTION_KINDS as readonly unknown[]).includes(spec.kind)) {
    fail(`spec.kind must be one of ${ATTENTION_KINDS.map((k) => `'${k}'`).join(', ')}, got ${JSON.stringify(spec.kind)}`);
  }
  if (spec.kind === 'softmax' && spec.bias !== undefined && resolveBias(spec.bias) !== 0) {
    fail(`spec.bias is only defined for the element-wise kinds (${ELEMENTWISE_KINDS.join(', ')}; softmax is shift-invariant); ` +
      `got ${JSON.stringify(spec.bias)} with kind 'softmax'`);
  }
  const scale = spec.scale ?? 1 / Math.sqrt(D);
  if (!Number.isFinite(scale)) fail(`spec.scale must be a finite number, got ${spec.scale}`);

  let alibiSlopes: Float64Array | null = null;
  if (spec.alibiSlopes !== undefined) {
    if (spec.alibiSlopes.length !== H) {
      fail(`spec.alibiSlopes has length ${spec.alibiSlopes.length} but q has ${H} heads (one slope per query head)`);
    }
    alibiSlopes = Float64Array.from(spec.alibiSlopes);
    alibiSlopes.forEach((s, h) => {
      if (!Number.isFinite(s)) fail(`spec.alibiSlopes[${h}] must be finite, got ${s}`);
    });
  }
  let keyLengths: Int32Array | null = null;
  if (spec.keyLengths !== undefined) {
    if (spec.keyLengths.length !== B) {
      fail(`spec.keyLengths has length ${spec.keyLengths.length} but q has batch ${B} (one length per batch element)`);
    }
    keyLengths = Int32Array.from(spec.keyLengths);
    Array.from(spec.keyLengths).forEach((len, b) => {
      if (!Number.isInteger(len) || len < 0 || len > Nk) {
        fail(`spec.keyLengths[${b}] must be an integer in 0..${Nk} (k dimension 2), got ${len}`);
      }
    });
  }
  return {
    B, H, Hkv, Nq, Nk, D,
    kind: spec.kind,
    scale,
    bias: isElementwise(spec.kind) ? resolveBias(spec.bias) : 0,
    causal: spec.causal ?? false,
    alibiSlopes,
    keyLengths,
  };
}

/** Standard ALiBi slopes for H heads (geometric sequence 2^(−8/H · (h+1)), Press et al. 2022). */
export function alibiSlopes(heads: number): Float64Array {
  const closestPow2 = 2 ** Math.floor(Math.log2(heads));
  const base = (n: number) => Array.from({ length: n }, (_, h) => 2 ** ((-8 / n) * (h + 1)));
  const slopes = base(closestPow2);
  if (closestPow2 < heads) {
    const extra = base(2 * closestPow2).filter((_, i) => i % 2 === 0).slice(0, heads - closestPow2);
    slopes.push(...extra);
  }
  return Float64Array.from(slopes);
}

/** Whether key j is visible to query i (causal + padding), for batch element b. */
export function isVisible(r: ResolvedAttention, b: number, i: number, j: number): boolean {
  if (r.keyLengths !== null && j >= r.keyLengths[b]) return false;
  if (r.causal && j > i + (r.Nk - r.Nq)) return false;
  return true;
}

/** Additive logit term from ALiBi for head h (0 when ALiBi is off). */
export function alibiTerm(r: ResolvedAttention, h: number, i: number, j: number): number {
  if (r.alibiSlopes === null) return 0;
  return -r.alibiSlopes[h] * Math.abs(i + (r.Nk - r.Nq) - j);
}

/** Standard FLOP count (FlashAttention convention): forward 4·B·H·Nq·Nk·D, halved when causal. */
export function attentionFlops(shape: AttentionShape, causal: boolean, pass: 'fwd' | 'bwd' | 'fwd+bwd'): number {
  const fwd = 4 * shape.B * shape.H * shape.Nq * shape.Nk * shape.D * (causal ? 0.5 : 1);
  return pass === 'fwd' ? fwd : pass === 'bwd' ? 2.5 * fwd : 3.5 * fwd;
}

/**
 * How the bias b of an element-wise kind enters its weight: sigmoid shifts the logit, P = σ(s + b);
 * relu and gelu scale the weight, P = e^b·φ(s). `shift` is added to the logit, `gain` multiplies the
 * weight (softmax: 0 and 1).
 */
export function biasForm(r: { kind: AttentionKind; bias: number }): { shift: number; gain: number } {
  if (r.kind === 'sigmoid') return { shift: r.bias, gain: 1 };
  if (r.kind === 'softmax') return { shift: 0, gain: 1 };
  return { shift: 0, gain: Math.exp(r.bias) };
}

/** gelu(x) = ½x(1 + tanh(√(2/π)(x + 0.044715x³))): the tanh form, as the models' MLP computes it. */
export const GELU_C = Math.sqrt(2 / Math.PI);
export const GELU_A = 0.044715;

/** φ(x) of an element-wise kind, in float64 (σ without overflow for either sign of x). */
export function activation(kind: ElementwiseKind, x: number): number {
  switch (kind) {
    case 'sigmoid': {
      if (x >= 0) return 1 / (1 + Math.exp(-x));
      const e = Math.exp(x);
      return e / (1 + e);
    }
    case 'relu':
      return x > 0 ? x : 0;
    case 'gelu':
      return 0.5 * x * (1 + Math.tanh(GELU_C * (x + GELU_A * x * x * x)));
  }
}

/** φ′(x) of an element-wise kind, in float64 (relu: 0 at x = 0, as tfjs' relu gradient). */
export function activationGrad(kind: ElementwiseKind, x: number): number {
  switch (kind) {
    case 'sigmoid': {
      const p = activation('sigmoid', x);
      return p * (1 - p);
    }
    case 'relu':
      return x > 0 ? 1 : 0;
    case 'gelu': {
      const t = Math.tanh(GELU_C * (x + GELU_A * x * x * x));
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * GELU_A * x * x);
    }
  }
}
