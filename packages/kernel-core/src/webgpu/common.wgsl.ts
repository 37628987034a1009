/**
 * WGSL building blocks shared by the flash kernels. Every kernel is generated per variant as a TS
 * template string; these helpers return WGSL text that is inlined (no WGSL function calls), so the
 * compiler sees constant register indices after unrolling.
 *
 * Tile scheme (all flash kernels): a 256-invocation workgroup owns a 64×64 score tile. Invocation
 * (ty, tx) = (tid / 16, tid % 16) holds rows ty·4 … ty·4+3 and columns tx, tx+16, tx+32, tx+48 —
 * rows contiguous so P can be read back as one vec4 per inner step, columns strided so that 16
 * neighbouring invocations read 16 different padded rows of the staged tile without bank conflicts.
 *
 * Workgroup memory (27.6 KB; Dawn's default limit is 16 KB, so devices are requested with the
 * adapter's maximum, 32 KB on lavapipe and NVIDIA):
 *   stage  640 vec4: either two 64×16 chunks of the operands of a score tile (rows padded to 5
 *          vec4 → conflict-free) or a 16×D chunk of the right operand of an accumulation, or the
 *          softmax row-reduction scratch.
 *   tP     64 rows × 17 vec4: the 64×64 P or dS tile, rows padded by one vec4.
 */
export const TILE = 64;
export const KCHUNK = 16;
export const WORKGROUP = 256;
export type HeadDim = 32 | 64 | 128;
export const HEAD_DIMS: readonly HeadDim[] = [32, 64, 128];

/**
 * Compile-time variant: the head dim (register tiles; the kind picks the kernel file). Masks are
 * runtime data at no per-score cost beyond one compare: causal is `j ≤ i + coff` with coff = 2³⁰
 * when off (which also disables block skipping), ALiBi slopes are 0 and key lengths Nk when unused.
 * Every extra variant would cost lavapipe ~20 s of LLVM compile in CI.
 */
export interface FlashVariant {
  D: HeadDim;
}

export function variantKey(name: string, v: FlashVariant): string {
  return `${name}/D${v.D}`;
}

/** Output vector type: vec4 columns for D ≥ 64, vec2 for D = 32 (16 invocations × 2 columns). */
export function outVec(D: HeadDim): { vw: 2 | 4; type: string; groups: number } {
  return D === 32 ? { vw: 2, type: 'vec2<f32>', groups: 1 } : { vw: 4, type: 'vec4<f32>', groups: D / 64 };
}

/**
 * Uniforms shared by every kernel. `off` = Nk − Nq aligns causal masking and ALiBi distances to
 * the bottom-right. `aux` (storage, f32, always bound) holds ALiBi slopes [H] then key lengths [B].
 * `d4` = D/4 repeats the compile-time head dim as a uniform: loops that contain
 * barriers use it as their bound, so LLVM (lavapipe) cannot unroll them — unrolled barrier loops
 * made lavapipe's compile 5× slower, while GPU compilers gain nothing from unrolling them. `aux` (storage, f32) holds ALiBi slopes [H] then key lengths [B], present only
 * in variants that use them.
 */
export const PARAMS_WGSL = /* wgsl */ `
struct Params {
  B : u32, H : u32, Hkv : u32, Nq : u32,
  Nk : u32, off : i32, scale : f32, bias : f32,
  d4 : u32, coff : i32, pad1 : u32, pad2 : u32,
};
@group(0) @binding(0) var<uniform> P : Params;
`;
export const PARAMS_BYTES = 48;
/** coff when not causal: larger than any key index, so j ≤ i + coff always holds. */
export const CAUSAL_OFF = 2 ** 30;

/** Pack the uniform block above (binding 0 of every kernel). */
export function packParams(p: { B: number; H: number; Hkv: number; Nq: number; Nk: number; D: number; scale: number; bias: number; causal: boolean }): ArrayBuffer {
  const buf = new ArrayBuffer(PARAMS_BYTES);
  const u = new Uint32Array(buf);
  const i = new Int32Array(buf);
  const f = new Float32Array(buf);
  u[0] = p.B; u[1] = p.H; u[2] = p.Hkv; u[3] = p.Nq;
  u[4] = p.Nk; i[5] = p.Nk - p.Nq; f[6] = p.scale; f[7] = p.bias;
  u[8] = p.D / 4; i[9] = p.causal ? p.Nk - p.Nq : CAUSAL_OFF;
  return buf;
}

export const SHARED_WGSL = /* wgsl */ `
var<workgroup> stage : array<vec4<f32>, 640>;
var<workgroup> tP : array<vec4<f32>, ${TILE * 17}>;
`;

/** The same σ formula as the naive kernels, so the flash-vs-naive error comparison is fair. */
export const SIGMOID_WGSL = /* wgsl */ `
fn sigm(x : f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
`;

/** Declares the storage bindings in order, starting at binding 1; returns the WGSL and role names. */
export function storageBindings(list: Array<[name: string, type: string, access: 'read' | 'read_write']>): string {
  return list
    .map(([name, type, access], n) => `@group(0) @binding(${n + 1}) var<storage, ${access}> ${name} : array<${type}>;`)
    .join('\n');
}

/**
 * s[ii] (vec4 over the four columns) += A[row ty·4+ii] · B[col tx+16jj] for a 64×64 tile, reading
 * rows of two row-major [·, D] matrices (as vec4) in 16-wide chunks of D. Rows ≥ nA / nB load as 0.
 * aBase/bBase are vec4 indices of the tile's row 0.
 */
export function scoreTile(o: { out: string; a: string; aBase: string; nA: string; b: string; bBase: string; nB: string; D: HeadDim }): string {
  const d4 = o.D / 4;
  const inner: string[] = [];
  for (let r = 0; r < 4; r++) inner.push(`let a${r} = stage[(ty * 4u + ${r}u) * 5u + k];`);
  for (let c = 0; c < 4; c++) inner.push(`let b${c} = stage[320u + (tx + ${16 * c}u) * 5u + k];`);
  for (let r = 0; r < 4; r++) {
    inner.push(`${o.out}[${r}] += vec4<f32>(dot(a${r}, b0), dot(a${r}, b1), dot(a${r}, b2), dot(a${r}, b3));`);
  }
  return `
  var ${o.out} = array<vec4<f32>, 4>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  for (var d0 = 0u; d0 < P.d4; d0 += 4u) {
    workgroupBarrier();
    var av = vec4<f32>(0.0);
    var bv = vec4<f32>(0.0);
    if (lr < ${o.nA}) { av = ${o.a}[${o.aBase} + lr * ${d4}u + d0 + lc]; }
    if (lr < ${o.nB}) { bv = ${o.b}[${o.bBase} + lr * ${d4}u + d0 + lc]; }
    stage[lr * 5u + lc] = av;
    stage[320u + lr * 5u + lc] = bv;
    workgroupBarrier();
    for (var k = 0u; k < 4u; k++) {
      ${inner.join('\n      ')}
    }
  }`;
}

/**
 * acc[ii·G + g] += Σ_k tP[k][row ty·4+ii] · X[k][cols of (tx, g)] over the 64 rows k of the tile
 * held in tP (only the first nX rows can be non-zero), staging X in 16-row chunks.
 * xBase is the vec4 index of X's row 0.
 */
export function accumulate(o: { acc: string; x: string; xBase: string; nX: string; D: HeadDim }): string {
  const d4 = o.D / 4;
  const { vw, groups } = outVec(o.D);
  const inner: string[] = ['let mk = tP[(k0 + k) * 17u + ty];'];
  for (let g = 0; g < groups; g++) {
    if (vw === 4) inner.push(`let x${g} = stage[k * ${d4}u + tx + ${16 * g}u];`);
    else inner.push(`let xq = stage[k * ${d4}u + tx / 2u]; let x${g} = select(xq.xy, xq.zw, odd);`);
    for (let r = 0; r < 4; r++) inner.push(`${o.acc}[${r * groups + g}] += mk.${'xyzw'[r]} * x${g};`);
  }
  return `
  for (var k0 = 0u; k0 < ${o.nX}; k0 += ${KCHUNK}u) {
    workgroupBarrier();
    for (var e = tid; e < ${KCHUNK * d4}u; e += ${WORKGROUP}u) {
      var xv = vec4<f32>(0.0);
      if (k0 + e / ${d4}u < ${o.nX}) { xv = ${o.x}[${o.xBase} + k0 * ${d4}u + e]; }
      stage[e] = xv;
    }
    workgroupBarrier();
    for (var k = 0u; k < ${KCHUNK}u; k++) {
      ${inner.join('\n      ')}
    }
  }`;
}

/** Local-invocation prologue shared by all flash kernels. */
export const PROLOGUE_WGSL = /* wgsl */ `
  let tx = tid % 16u;
  let ty = tid / 16u;
  let lr = tid / 4u;
  let lc = tid % 4u;
  let odd = (tid & 1u) == 1u;
`;

/** Logit of row i, column j (query i, key j): scale·s + bias − slope·|i + off − j|. */
export function logit(s: string, i: string, j: string): string {
  return `(P.scale * ${s} + P.bias - slope * abs(f32(i32(${i}) + P.off - i32(${j}))))`;
}

/** Whether query i sees key j: j < kEnd (padding / Nk) and j ≤ i + coff (causal). */
export function visible(i: string, j: string, kEnd: string): string {
  return `((${j} < ${kEnd}) && (i32(${j}) <= i32(${i}) + P.coff))`;
}

/** Per-(b) key end: the batch element's key length (Nk when unpadded). Needs `b`. */
export const KEY_END = 'min(P.Nk, u32(aux[P.H + b]))';

/**
 * Header of the kernels that own one 64-query block (flash forward of both kinds, backward dQ):
 * head, batch and key/value head from the workgroup id, the block's rows, and the range of keys it
 * can see (padding, then causal). Defines h, b, hk, q0, nQ, qRow0, qBase, kvRow0, slope and kEnd.
 */
export function queryBlockWgsl(D: HeadDim): string {
  return `let h = wg.y;
  let b = wg.z;
  let hk = h / (P.H / P.Hkv);
  let q0 = wg.x * 64u;
  let nQ = min(64u, P.Nq - q0);
  let qRow0 = (b * P.H + h) * P.Nq + q0;
  let qBase = qRow0 * ${D / 4}u;
  let kvRow0 = (b * P.Hkv + hk) * P.Nk;
  let slope = aux[h];
  var kEnd = ${KEY_END};
  kEnd = u32(clamp(i32(q0 + nQ) + P.coff, 0, i32(kEnd)));`;
}

/** Write the thread's output rows (rows < nRows) of a [rows, D] tile: acc · factor(row). */
export function writeRows(o: { out: string; acc: string; rowBase: string; nRows: string; D: HeadDim; factor?: (r: number) => string }): string {
  const { vw, groups } = outVec(o.D);
  const perRow = o.D / vw;
  const lines: string[] = [];
  for (let r = 0; r < 4; r++) {
    const f = o.factor === undefined ? '' : ` * ${o.factor(r)}`;
    const writes = Array.from({ length: groups }, (_, g) =>
      `${o.out}[(${o.rowBase} + ty * 4u + ${r}u) * ${perRow}u + tx + ${16 * g}u] = ${o.acc}[${r * groups + g}]${f};`);
    lines.push(`if (ty * 4u + ${r}u < ${o.nRows}) { ${writes.join(' ')} }`);
  }
  return lines.join('\n  ');
}

/** Flat invocation index for the naive kernels' 2-D dispatch (see flatDispatch in the host). */
export const FLAT_MAIN_WGSL = /* wgsl */ `@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 256u;`;
