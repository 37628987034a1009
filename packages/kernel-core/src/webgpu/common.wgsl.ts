/**
 * WGSL building blocks shared by the flash kernels. Every kernel is generated per variant as a TS
 * template string; these helpers return WGSL text that is inlined (no WGSL function calls), and the
 * per-thread tiles are plain scalar/vec4 variables, so the compiler sees registers, not arrays.
 *
 * Tile scheme (all flash kernels): a workgroup owns a 64 × 64 score tile (rows × cols: queries ×
 * keys, or keys × queries in the transposed dK/dV kernel) and a 64 × D output tile. A tile plan
 * {TM, TN} gives each invocation TM rows × TN cols of the score tile, so the workgroup has
 * TY = 64/TM by TX = 64/TN invocations. Invocation (ty, tx) holds the rows of row groups
 * ty, ty + TY, … (a row group is 4 consecutive rows, read as one vec4) and the cols of col groups
 * tx, tx + TX, …; in the output tile it holds the same rows and the D/4 vec4 columns tx, tx + TX, ….
 * Consecutive tx read consecutive vec4s, so shared-memory reads are conflict-free.
 *
 * Bigger register tiles feed more FMAs per shared-memory load (TM or TN instead of 4) but need more
 * registers: on the H200, 4 × 8 beat 4 × 4 by a few percent and 8 × 8 ran at 60 % of either. The
 * defaults per kernel and head dim are in `defaultTilePlan` (host.ts).
 *
 * Summation order is chosen to match the naive kernels: every dot product over d runs sequentially
 * d = 0, 1, … (s += a·b), and every sum over keys or queries runs sequentially in index order. For
 * sigmoid this makes P, dS and the sums the same operations as the naive path, so the flash kernels'
 * error stays within the project's accuracy rule (package README) by construction, not by luck. The
 * softmax backward sums its row statistics in the same order for the same reason (softmax-bwd-pre).
 *
 * Workgroup memory (24 KB; Dawn's default limit is 16 KB, so devices are requested with the adapter's
 * maximum, 32 KB on lavapipe and NVIDIA):
 *   stage 512 vec4: a 16-wide chunk of d of both operands of a score tile, TRANSPOSED
 *         (A[d][row group], B[d][col group]: one vec4 load gives 4 rows or 4 cols at one d), or a
 *         chunk of 2048/D rows of the right operand of an accumulation (row-major), or the softmax
 *         row-reduction scratch.
 *   tP    64 × 16 vec4: the P (or dS) tile stored by column: tP[col][row group], the row group
 *         XOR-swizzled by the col group so the stores of one instruction hit different banks.
 */
import type { WebGPUKind } from './host.js';

export const TILE = 64;
export type HeadDim = 32 | 64 | 128;
export const HEAD_DIMS: readonly HeadDim[] = [32, 64, 128];

/** Rows × cols of the score tile that one invocation owns (multiples of 4: rows and cols go in vec4s). */
export interface TilePlan {
  TM: 4 | 8;
  TN: 4 | 8;
}

/**
 * Compile-time variant: the head dim and the tile plan (the kind picks the kernel file). Masks are
 * runtime data at no per-score cost beyond one compare: causal is `j ≤ i + coff` with coff = 2³⁰
 * when off (which also disables block skipping), ALiBi slopes are 0 and key lengths Nk when unused.
 * Every extra variant would cost lavapipe ~20 s of LLVM compile in CI.
 */
export interface FlashVariant {
  D: HeadDim;
  tile: TilePlan;
}

export function variantKey(name: string, v: FlashVariant): string {
  return `${name}/D${v.D}/t${v.tile.TM}x${v.tile.TN}`;
}

/** Derived workgroup geometry of a variant. */
export interface Geometry {
  D: HeadDim;
  TM: number;
  TN: number;
  /** Invocation rows and cols of the workgroup grid. */
  TY: number;
  TX: number;
  threads: number;
  /** vec4 groups of output columns per invocation and row: D / (4·TX). */
  OG: number;
  /** Rows of the right operand staged per accumulation chunk (fills the 512-vec4 stage). */
  KV: number;
}

export function geometry(v: FlashVariant): Geometry {
  const { D } = v;
  const { TM, TN } = v.tile;
  const TY = TILE / TM;
  const TX = TILE / TN;
  const OG = D / (4 * TX);
  if (!Number.isInteger(OG) || OG < 1) {
    throw new Error(`tile plan ${TM}x${TN} does not fit head dim ${D}: each invocation needs whole vec4s of output ` +
      `columns (D / (4·${TX}) = ${OG}); use TN = 8 for D = 32`);
  }
  return { D, TM, TN, TY, TX, threads: TY * TX, OG, KV: 2048 / D };
}

/**
 * Uniforms shared by every kernel. `off` = Nk − Nq aligns causal masking and ALiBi distances to
 * the bottom-right. `d4` = D/4 repeats the compile-time head dim as a uniform: loops that contain
 * barriers use it as their bound, so LLVM (lavapipe) cannot unroll them — unrolled barrier loops
 * made lavapipe's compile 5× slower, while GPU compilers gain nothing from unrolling them.
 * `aux` (storage, f32, always bound) holds ALiBi slopes [H] then key lengths [B].
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

export const STAGE_VEC4 = 512;
export const SHARED_WGSL = /* wgsl */ `
var<workgroup> stage : array<vec4<f32>, ${STAGE_VEC4}>;
var<workgroup> tP : array<vec4<f32>, ${TILE * 16}>;
`;
/** Workgroup memory the flash kernels declare. */
export const FLASH_WORKGROUP_BYTES = (STAGE_VEC4 + TILE * 16) * 16;

/** The same σ formula as the naive kernels, so the flash-vs-naive error comparison is fair. */
export const SIGMOID_WGSL = /* wgsl */ `
fn sigm(x : f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
`;

/**
 * Softmax probability from the row statistics, P = exp(s − m) / l, one formula for the naive rows kernel and
 * every flash kernel that recomputes P, so both paths round the same way.
 */
export const SOFTMAX_P_WGSL = /* wgsl */ `
fn softmaxP(s : f32, m : f32, l : f32) -> f32 { return exp(s - m) / l; }
`;

/**
 * Storage bindings of the flash backward kernels: the inputs, softmax's per-row (m, l, Drow) from
 * softmax-bwd-pre, then the kernel's outputs and aux.
 */
export function backwardBindings(kind: WebGPUKind, outputs: string[]): Array<[string, string, 'read' | 'read_write']> {
  return [
    ['q', 'vec4<f32>', 'read'], ['k', 'vec4<f32>', 'read'], ['v', 'vec4<f32>', 'read'], ['dO', 'vec4<f32>', 'read'],
    ...(kind === 'softmax' ? [['rowStats', 'vec4<f32>', 'read'] as [string, string, 'read']] : []),
    ...outputs.map((o) => [o, 'vec4<f32>', 'read_write'] as [string, string, 'read_write']),
    ['aux', 'f32', 'read'],
  ];
}

/** Declares the storage bindings in order, starting at binding 1; returns the WGSL and role names. */
export function storageBindings(list: Array<[name: string, type: string, access: 'read' | 'read_write']>): string {
  return list
    .map(([name, type, access], n) => `@group(0) @binding(${n + 1}) var<storage, ${access}> ${name} : array<${type}>;`)
    .join('\n');
}

const XYZW = 'xyzw';

/** Entry point and invocation coordinates of a flash kernel. */
export function mainWgsl(g: Geometry): string {
  return `@compute @workgroup_size(${g.threads})
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) tid : u32) {
  let tx = tid % ${g.TX}u;
  let ty = tid / ${g.TX}u;`;
}

/** Tile row (0…63) of the invocation's local row lr (0…TM−1), as WGSL. */
export function rowOf(g: Geometry, lr: number): string {
  return `(ty * 4u + ${Math.floor(lr / 4) * g.TY * 4 + (lr % 4)}u)`;
}

/** Tile col (0…63) of the invocation's local col lc (0…TN−1), as WGSL. */
export function colOf(g: Geometry, lc: number): string {
  return `(tx * 4u + ${Math.floor(lc / 4) * g.TX * 4 + (lc % 4)}u)`;
}

/** Name of the scalar register holding score (lr, lc) of tile `t`. */
export function cell(t: string, lr: number, lc: number): string {
  return `${t}_${lr}_${lc}`;
}

/** Every (lr, lc) of an invocation's score tile. */
export function cells(g: Geometry): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let lr = 0; lr < g.TM; lr++) for (let lc = 0; lc < g.TN; lc++) out.push([lr, lc]);
  return out;
}

/** Declare (var, 0-initialised) an output accumulator tile `acc`: TM rows × OG vec4. */
export function declareAcc(g: Geometry, acc: string): string {
  const lines: string[] = [];
  for (let lr = 0; lr < g.TM; lr++) for (let o = 0; o < g.OG; o++) lines.push(`var ${acc}_${lr}_${o} = vec4<f32>(0.0);`);
  return lines.join(' ');
}

/**
 * t_lr_lc = Σ_d A[row lr][d] · B[col lc][d] for the 64 × 64 tile, reading rows of two row-major
 * [·, D] matrices (vec4) in 16-wide chunks of d, staged transposed. Rows ≥ nA / nB load as 0.
 * aBase/bBase are vec4 indices of the tile's row 0. Declares the tile registers.
 */
export function scoreTile(g: Geometry, o: { out: string; a: string; aBase: string; nA: string; b: string; bBase: string; nB: string }): string {
  const d4 = g.D / 4;
  const decl = cells(g).map(([lr, lc]) => `var ${cell(o.out, lr, lc)} = 0.0;`).join(' ');
  const loads: string[] = [];
  for (let rg = 0; rg < g.TM / 4; rg++) loads.push(`let a${rg} = stage[d * 16u + ${rg * g.TY}u + ty];`);
  for (let cg = 0; cg < g.TN / 4; cg++) loads.push(`let b${cg} = stage[256u + d * 16u + ${cg * g.TX}u + tx];`);
  const fmas = cells(g).map(([lr, lc]) =>
    `${cell(o.out, lr, lc)} += a${Math.floor(lr / 4)}.${XYZW[lr % 4]} * b${Math.floor(lc / 4)}.${XYZW[lc % 4]};`);
  // Staging: 128 blocks of 4 rows × 4 d (64 of A, then 64 of B); each invocation loads a block's 4
  // row vec4s and stores them transposed as 4 vec4s (one per d), i.e. stage[d][row group].
  const stageOne = (m: string, base: string, n: string, at: string) => `
      let rg = blk % 16u;
      let c4 = blk / 16u;
      var x0 = vec4<f32>(0.0); var x1 = vec4<f32>(0.0); var x2 = vec4<f32>(0.0); var x3 = vec4<f32>(0.0);
      let src = ${base} + rg * ${4 * d4}u + d0 + c4;
      if (rg * 4u < ${n}) { x0 = ${m}[src]; }
      if (rg * 4u + 1u < ${n}) { x1 = ${m}[src + ${d4}u]; }
      if (rg * 4u + 2u < ${n}) { x2 = ${m}[src + ${2 * d4}u]; }
      if (rg * 4u + 3u < ${n}) { x3 = ${m}[src + ${3 * d4}u]; }
      let dst = ${at} + c4 * 64u + rg;
      stage[dst] = vec4<f32>(x0.x, x1.x, x2.x, x3.x);
      stage[dst + 16u] = vec4<f32>(x0.y, x1.y, x2.y, x3.y);
      stage[dst + 32u] = vec4<f32>(x0.z, x1.z, x2.z, x3.z);
      stage[dst + 48u] = vec4<f32>(x0.w, x1.w, x2.w, x3.w);`;
  return `
  ${decl}
  for (var d0 = 0u; d0 < P.d4; d0 += 4u) {
    workgroupBarrier();
    for (var e = tid; e < 128u; e += ${g.threads}u) {
      if (e < 64u) {
        let blk = e;${stageOne(o.a, o.aBase, o.nA, '0u')}
      } else {
        let blk = e - 64u;${stageOne(o.b, o.bBase, o.nB, '256u')}
      }
    }
    workgroupBarrier();
    for (var d = 0u; d < 16u; d++) {
      ${loads.join('\n      ')}
      ${fmas.join('\n      ')}
    }
  }`;
}

/**
 * Store tile `t` (values given per cell by `value`) into tP[col][row group] as vec4s of 4 rows.
 * Callers must have passed a barrier since the last read of tP (scoreTile's barriers do that).
 */
export function storeTile(g: Geometry, value: (lr: number, lc: number) => string): string {
  const lines: string[] = [];
  for (let lc = 0; lc < g.TN; lc++) {
    for (let rg = 0; rg < g.TM / 4; rg++) {
      const comps = [0, 1, 2, 3].map((r) => value(rg * 4 + r, lc)).join(', ');
      const colGroup = `(${Math.floor(lc / 4) * g.TX}u + tx)`;
      lines.push(`tP[${colOf(g, lc)} * 16u + ((${rg * g.TY}u + ty) ^ ${colGroup})] = vec4<f32>(${comps});`);
    }
  }
  return lines.join('\n    ');
}

/**
 * acc_lr_o += Σ_k tP[k][row lr] · X[k][cols of (tx, o)] over the first nX rows k of the tile held in
 * tP, sequentially in k, staging X (row-major [·, D] vec4, row 0 at vec4 index xBase) in chunks of
 * KV rows. Rows ≥ nX load as 0 (their P is 0 too).
 */
export function accumulate(g: Geometry, o: { acc: string; x: string; xBase: string; nX: string }): string {
  const d4 = g.D / 4;
  const lines: string[] = ['let kk = k0 + k;', 'let sw = kk / 4u;'];
  for (let rg = 0; rg < g.TM / 4; rg++) lines.push(`let p${rg} = tP[kk * 16u + ((${rg * g.TY}u + ty) ^ sw)];`);
  for (let og = 0; og < g.OG; og++) lines.push(`let x${og} = stage[k * ${d4}u + ${og * g.TX}u + tx];`);
  for (let lr = 0; lr < g.TM; lr++) {
    for (let og = 0; og < g.OG; og++) lines.push(`${o.acc}_${lr}_${og} += p${Math.floor(lr / 4)}.${XYZW[lr % 4]} * x${og};`);
  }
  return `
  for (var k0 = 0u; k0 < ${o.nX}; k0 += ${g.KV}u) {
    workgroupBarrier();
    for (var e = tid; e < ${STAGE_VEC4}u; e += ${g.threads}u) {
      var xv = vec4<f32>(0.0);
      if (k0 + e / ${d4}u < ${o.nX}) { xv = ${o.x}[${o.xBase} + k0 * ${d4}u + e]; }
      stage[e] = xv;
    }
    workgroupBarrier();
    for (var k = 0u; k < ${g.KV}u; k++) {
      ${lines.join('\n      ')}
    }
  }`;
}

/** The invocation's partial over its TN columns for the 4 rows of its row group rg, as a vec4. */
export function rowPartial(g: Geometry, value: (lr: number, lc: number) => string, rg: number, op: 'max' | 'add'): string {
  const rows = [0, 1, 2, 3].map((r) => {
    const terms = Array.from({ length: g.TN }, (_, lc) => value(rg * 4 + r, lc));
    return terms.reduce((a, b) => (op === 'max' ? `max(${a}, ${b})` : `${a} + ${b}`));
  });
  return `vec4<f32>(${rows.join(', ')})`;
}

/**
 * Combine per-invocation row partials across the TX invocations that share each row: `partial(rg)`
 * is the invocation's vec4 (4 rows) for its row group rg; declares `${name}${rg}` = the combined vec4
 * (op 'max' or 'add', taken over tx in order) in every invocation of the row. Uses `stage`, so it
 * starts with a barrier (callers may come straight from a tile loop).
 */
export function reduceRows(g: Geometry, name: string, partial: (rg: number) => string, op: 'max' | 'add'): string {
  const groups = Array.from({ length: g.TM / 4 }, (_, rg) => rg);
  const slot = (rg: number, t: string) => `stage[(${rg * g.TY}u + ty) * ${g.TX}u + ${t}]`;
  const combine = (a: string, b: string) => (op === 'max' ? `max(${a}, ${b})` : `${a} + ${b}`);
  return `
    workgroupBarrier();
    ${groups.map((rg) => `${slot(rg, 'tx')} = ${partial(rg)};`).join('\n    ')}
    workgroupBarrier();
    ${groups.map((rg) => `var ${name}${rg} = ${slot(rg, '0u')};`).join('\n    ')}
    for (var t = 1u; t < ${g.TX}u; t++) {
      ${groups.map((rg) => `${name}${rg} = ${combine(`${name}${rg}`, slot(rg, 't'))};`).join('\n      ')}
    }`;
}

/** Write the invocation's output rows (rows < nRows) of a [rows, D] tile: acc (optionally transformed). */
export function writeRows(g: Geometry, o: { out: string; acc: string; rowBase: string; nRows: string; value?: (acc: string, lr: number) => string }): string {
  const d4 = g.D / 4;
  const lines: string[] = [];
  for (let lr = 0; lr < g.TM; lr++) {
    const writes = Array.from({ length: g.OG }, (_, og) => {
      const a = `${o.acc}_${lr}_${og}`;
      return `${o.out}[(${o.rowBase} + ${rowOf(g, lr)}) * ${d4}u + ${og * g.TX}u + tx] = ${o.value === undefined ? a : o.value(a, lr)};`;
    });
    lines.push(`if (${rowOf(g, lr)} < ${o.nRows}) { ${writes.join(' ')} }`);
  }
  return lines.join('\n  ');
}

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

/** Flat invocation index for the naive kernels' 2-D dispatch (see flatDispatch in the host). */
export const FLAT_MAIN_WGSL = /* wgsl */ `@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 256u;`;
