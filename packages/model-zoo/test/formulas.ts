/**
 * Parameter counts written out from the architecture descriptions (independently of the model code),
 * so a test can compare them with ParamStore.count().
 */
export interface T {
  dim: number;
  depth: number;
  heads: number;
  mlpRatio: number;
  qkNorm?: 'none' | 'layernorm' | 'rmsnorm';
  norm?: 'pre' | 'post' | 'hybrid';
  normKind?: 'layernorm' | 'rmsnorm';
  layerScale?: number | null;
  mlp?: 'gelu' | 'swiglu';
  bias?: boolean;
}

const normSize = (kind: 'layernorm' | 'rmsnorm' | undefined, d: number) => (kind === 'rmsnorm' ? d : 2 * d);

export function blockParams(t: T): number {
  const d = t.dim;
  const h = Math.round(d * t.mlpRatio);
  const hd = d / t.heads;
  const b = t.bias === false ? 0 : 1;
  const norms = (t.norm === 'hybrid' ? 4 : 2) * normSize(t.normKind, d);
  const attn = d * 3 * d + b * 3 * d + d * d + b * d;
  const qk = t.qkNorm === undefined || t.qkNorm === 'none' ? 0 : 2 * normSize(t.qkNorm, hd);
  const mlp = (t.mlp === 'swiglu' ? 2 : 1) * (d * h + b * h) + h * d + b * d;
  const ls = t.layerScale ? 2 * d : 0;
  return norms + attn + qk + mlp + ls;
}

export function encoderParams(t: T & { patchIn: number; tokens: number; cls: boolean; learned: boolean }): number {
  return t.patchIn * t.dim + t.dim + (t.cls ? t.dim : 0) + (t.learned ? t.tokens * t.dim : 0) + t.depth * blockParams(t) + normSize(t.normKind, t.dim);
}

export const linearParams = (i: number, o: number, bias = true) => i * o + (bias ? o : 0);
/** Linear → LayerNorm → ReLU → Linear */
export const mlpHeadParams = (i: number, h: number, o: number) => linearParams(i, h) + 2 * h + linearParams(h, o);
