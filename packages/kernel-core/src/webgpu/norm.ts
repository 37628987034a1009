/// <reference types="@webgpu/types" />
/**
 * NORM_FWD / NORM_BWD (the fused LayerNorm / RMSNorm over the last axis, src/tfjs/norm-names.ts) on the
 * tfjs 'webgpu' backend: one dispatch forward and two or three backward, recorded into the backend's open
 * compute pass (tfjs-pass.ts), instead of the ~55 (layernorm) or ~31 (rmsnorm) composed tfjs programs.
 *
 * Forward and backward dx: `lanes` invocations per row (a power of two, about C/4 of them, at most 256),
 * 256 / lanes rows per workgroup, so short rows (QK-norm over a head of 32) still fill a workgroup. Each
 * lane strides over its row's columns; the lanes' partial sums meet in a fixed-order tree in workgroup
 * memory, so results are deterministic. Mean and variance are two-pass (the variance is the mean of
 * squared deviations from the rounded mean, as tf.moments computes it).
 *
 * dgamma = Σ_rows dy·x̂ and dbeta = Σ_rows dy are column sums without float atomics: the columns kernel
 * gives each workgroup 32 columns × one chunk of rows (8 invocations per column, adding rows t, t + 8, …,
 * then those 8 partials in order); with more than one chunk a second kernel adds the chunks' partials in
 * chunk order. The chunking follows the cuda backend's: enough workgroups to fill a GPU, at least 64 rows
 * per chunk, at most 1024 chunks.
 *
 * Float32 throughout. WGSL lets the compiler contract a multiply and an add into an fma and gives 2.5 ulp
 * division and 2 ulp inverseSqrt, and the tree sums in another order than tfjs cpu (which sums in double),
 * so results agree with the composed ops to within a few ulps of the terms involved, not bit for bit
 * (test/webgpu-norm.test.ts states the bound).
 */
import * as tf from '@tensorflow/tfjs';
import { NORM_BWD, NORM_FWD, NORM_KINDS, type NormAttrs, type NormKind } from '../tfjs/norm-names.js';
import {
  compiledKernel, dispatchInPass, emptyOutput, spreadGroups, tensorBuffer, type WebGPUBackendInternals,
} from './tfjs-pass.js';

const WORKGROUP = 256;
/** Columns per workgroup of the columns kernel, and invocations (row lanes) per column. */
const COL_TILE = 32;
const COL_LANES = WORKGROUP / COL_TILE;
const TARGET_COL_WORKGROUPS = 528;
const MIN_ROWS_PER_CHUNK = 64;
const MAX_CHUNKS = 1024;

/** The WGSL kernels, by name (the webgpu profile and the dispatch test see these labels). */
export const NORM_WEBGPU_KERNELS = {
  fwd: (kind: NormKind) => `${NORM_FWD}/${kind}`,
  dx: (kind: NormKind) => `${NORM_BWD}/dx/${kind}`,
  columns: (kind: NormKind) => `${NORM_BWD}/columns/${kind}`,
  finish: (kind: NormKind) => `${NORM_BWD}/finish/${kind}`,
};

/** Invocations per row: a power of two, about one per 4 columns, at most a workgroup. */
export function normLanes(C: number): number {
  let lanes = 1;
  while (lanes < WORKGROUP && lanes * 4 < C) lanes *= 2;
  return lanes;
}

export interface NormColumnPlan { chunks: number; rowsPerChunk: number; colGroups: number }

/** How the column sums split the rows (one chunk: the columns kernel writes the outputs, no second pass). */
export function planNormColumns(rows: number, C: number): NormColumnPlan {
  const colGroups = Math.ceil(C / COL_TILE);
  const want = Math.min(Math.ceil(TARGET_COL_WORKGROUPS / colGroups), Math.ceil(rows / MIN_ROWS_PER_CHUNK), MAX_CHUNKS);
  const rowsPerChunk = Math.max(1, Math.ceil(rows / Math.max(1, want)));
  return { chunks: Math.max(1, Math.ceil(rows / rowsPerChunk)), rowsPerChunk, colGroups };
}

/** A sum over each row's lanes in a fixed tree order; every lane of the row gets the total. Call from uniform control flow. */
const ROW_SUM_WGSL = (type: string) => /* wgsl */ `
var<workgroup> red : array<${type}, ${WORKGROUP}>;

fn rowSum(v : ${type}, tid : u32, lane : u32) -> ${type} {
  red[tid] = v;
  for (var s = P.lanes / 2u; s > 0u; s = s / 2u) {
    workgroupBarrier();
    if (lane < s) { red[tid] = red[tid] + red[tid + s]; }
  }
  workgroupBarrier();
  let total = red[tid - lane];
  workgroupBarrier();
  return total;
}`;

/** Row and lane of this invocation; `n` is C for a real row and 0 past the last (those still join the barriers). */
const ROW_MAIN_WGSL = /* wgsl */ `@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>, @builtin(local_invocation_index) tid : u32) {
  let lane = tid % P.lanes;
  let row = (wg.x + wg.y * nwg.x) * (${WORKGROUP}u / P.lanes) + tid / P.lanes;
  let live = row < P.rows;
  let n = select(0u, P.C, live);
  let base = row * P.C;`;

function forwardWgsl(kind: NormKind): string {
  const layer = kind === 'layernorm';
  return /* wgsl */ `
struct Params { rows : u32, C : u32, lanes : u32, eps : f32 }
@group(0) @binding(0) var<storage, read> x : array<f32>;
@group(0) @binding(1) var<storage, read> gamma : array<f32>;
${layer ? '@group(0) @binding(2) var<storage, read> beta : array<f32>;' : ''}
@group(0) @binding(${layer ? 3 : 2}) var<storage, read_write> y : array<f32>;
@group(0) @binding(${layer ? 4 : 3}) var<storage, read_write> stats : array<f32>;
@group(0) @binding(${layer ? 5 : 4}) var<uniform> P : Params;
${ROW_SUM_WGSL('f32')}

${ROW_MAIN_WGSL}
  ${layer ? `var s = 0.0;
  for (var j = lane; j < n; j += P.lanes) { s += x[base + j]; }
  let mean = rowSum(s, tid, lane) / f32(P.C);` : 'let mean = 0.0;'}
  var ss = 0.0;
  for (var j = lane; j < n; j += P.lanes) {
    let d = x[base + j] - mean;
    ss += d * d;
  }
  let rstd = inverseSqrt(rowSum(ss, tid, lane) / f32(P.C) + P.eps);
  for (var j = lane; j < n; j += P.lanes) {
    y[base + j] = ((x[base + j] - mean) * rstd) * gamma[j]${layer ? ' + beta[j]' : ''};
  }
  if (live && lane == 0u) {
    stats[2u * row] = mean;
    stats[2u * row + 1u] = rstd;
  }
}
`;
}

/** dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·gamma (mean(g) = 0 for rmsnorm). */
function dxWgsl(kind: NormKind): string {
  const layer = kind === 'layernorm';
  return /* wgsl */ `
struct Params { rows : u32, C : u32, lanes : u32 }
@group(0) @binding(0) var<storage, read> x : array<f32>;
@group(0) @binding(1) var<storage, read> gamma : array<f32>;
@group(0) @binding(2) var<storage, read> stats : array<f32>;
@group(0) @binding(3) var<storage, read> dy : array<f32>;
@group(0) @binding(4) var<storage, read_write> dx : array<f32>;
@group(0) @binding(5) var<uniform> P : Params;
${ROW_SUM_WGSL('vec2<f32>')}

${ROW_MAIN_WGSL}
  let r = min(row, P.rows - 1u);
  let mean = stats[2u * r];
  let rstd = stats[2u * r + 1u];
  var acc = vec2<f32>(0.0);
  for (var j = lane; j < n; j += P.lanes) {
    let xh = (x[base + j] - mean) * rstd;
    let g = dy[base + j] * gamma[j];
    acc += vec2<f32>(g, g * xh);
  }
  let total = rowSum(acc, tid, lane);
  let mg = ${layer ? 'total.x / f32(P.C)' : '0.0'};
  let mgx = total.y / f32(P.C);
  for (var j = lane; j < n; j += P.lanes) {
    let xh = (x[base + j] - mean) * rstd;
    let g = dy[base + j] * gamma[j];
    dx[base + j] = rstd * ((g - mg) - xh * mgx);
  }
}
`;
}

/** Column partials of one chunk of rows: dgamma Σ dy·x̂ (and dbeta Σ dy for layernorm). */
function columnsWgsl(kind: NormKind): string {
  const layer = kind === 'layernorm';
  return /* wgsl */ `
struct Params { rows : u32, C : u32, rowsPerChunk : u32 }
@group(0) @binding(0) var<storage, read> x : array<f32>;
@group(0) @binding(1) var<storage, read> stats : array<f32>;
@group(0) @binding(2) var<storage, read> dy : array<f32>;
@group(0) @binding(3) var<storage, read_write> partGamma : array<f32>;
${layer ? '@group(0) @binding(4) var<storage, read_write> partBeta : array<f32>;' : ''}
@group(0) @binding(${layer ? 5 : 4}) var<uniform> P : Params;
var<workgroup> sumGamma : array<f32, ${WORKGROUP}>;
${layer ? `var<workgroup> sumBeta : array<f32, ${WORKGROUP}>;` : ''}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) tid : u32) {
  let lane = tid % ${COL_TILE}u;
  let t = tid / ${COL_TILE}u;
  let c = wg.x * ${COL_TILE}u + lane;
  let chunk = wg.y;
  let r0 = chunk * P.rowsPerChunk;
  let r1 = min(P.rows, r0 + P.rowsPerChunk);
  var ag = 0.0;
  var ab = 0.0;
  if (c < P.C) {
    for (var r = r0 + t; r < r1; r += ${COL_LANES}u) {
      let xh = (x[r * P.C + c] - stats[2u * r]) * stats[2u * r + 1u];
      let d = dy[r * P.C + c];
      ag += d * xh;
      ab += d;
    }
  }
  sumGamma[tid] = ag;
  ${layer ? 'sumBeta[tid] = ab;' : ''}
  workgroupBarrier();
  if (t == 0u && c < P.C) {
    var g = 0.0;
    var b = 0.0;
    for (var i = 0u; i < ${COL_LANES}u; i++) {
      g += sumGamma[i * ${COL_TILE}u + lane];
      ${layer ? `b += sumBeta[i * ${COL_TILE}u + lane];` : ''}
    }
    partGamma[chunk * P.C + c] = g;
    ${layer ? 'partBeta[chunk * P.C + c] = b;' : ''}
  }
}
`;
}

/** The chunks' partials of each column, added in chunk order. */
function finishWgsl(kind: NormKind): string {
  const layer = kind === 'layernorm';
  return /* wgsl */ `
struct Params { C : u32, chunks : u32 }
@group(0) @binding(0) var<storage, read> partGamma : array<f32>;
${layer ? '@group(0) @binding(1) var<storage, read> partBeta : array<f32>;' : ''}
@group(0) @binding(${layer ? 2 : 1}) var<storage, read_write> dgamma : array<f32>;
${layer ? '@group(0) @binding(3) var<storage, read_write> dbeta : array<f32>;' : ''}
@group(0) @binding(${layer ? 4 : 2}) var<uniform> P : Params;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  let c = gid.x + gid.y * nwg.x * ${WORKGROUP}u;
  if (c >= P.C) { return; }
  var g = 0.0;
  var b = 0.0;
  for (var k = 0u; k < P.chunks; k++) {
    g += partGamma[k * P.C + c];
    ${layer ? 'b += partBeta[k * P.C + c];' : ''}
  }
  dgamma[c] = g;
  ${layer ? 'dbeta[c] = b;' : ''}
}
`;
}

const SOURCES = { fwd: forwardWgsl, dx: dxWgsl, columns: columnsWgsl, finish: finishWgsl };

function kernel(be: WebGPUBackendInternals, name: keyof typeof SOURCES, kind: NormKind) {
  return compiledKernel(be.device, NORM_WEBGPU_KERNELS[name](kind), () => SOURCES[name](kind));
}

function attrsOf(op: string, attrs: tf.NamedAttrMap | undefined): NormAttrs {
  const a = (attrs ?? {}) as unknown as NormAttrs;
  if (!NORM_KINDS.includes(a.kind)) throw new Error(`${op} (webgpu): kind '${String(a.kind)}' is not one of ${NORM_KINDS.join(', ')}`);
  return a;
}

function input(op: string, inputs: tf.NamedTensorInfoMap, name: string, shape?: readonly number[]): tf.TensorInfo {
  const t = inputs[name];
  if (t === undefined) throw new Error(`${op} (webgpu): input ${name} is missing`);
  if (t.dtype !== 'float32') throw new Error(`${op} (webgpu): ${name} has dtype ${t.dtype}, expected float32`);
  if (shape !== undefined && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
    throw new Error(`${op} (webgpu): ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return t;
}

/** Rows and columns of x; the row count as the kernels index it (u32, so the tensor must stay below 2³² elements, as any WebGPU buffer of f32 does). */
function rowsOf(op: string, x: tf.TensorInfo): { rows: number; C: number } {
  if (x.shape.length < 1) throw new Error(`${op} (webgpu): x is a scalar; it needs at least one axis to normalise over`);
  const C = x.shape[x.shape.length - 1];
  const rows = tf.util.sizeFromShape(x.shape.slice(0, -1));
  if (C === 0 && rows > 0) throw new Error(`${op} (webgpu): x has shape [${x.shape.join(', ')}]; the normalised (last) axis must not be empty`);
  return { rows, C };
}

const bind = (be: WebGPUBackendInternals, op: string, named: Record<string, tf.TensorInfo>) =>
  Object.entries(named).map(([name, info]) => ({ info, buffer: tensorBuffer(be, info, op, name) }));

export const normFwdWebGPUConfig: tf.KernelConfig = {
  kernelName: NORM_FWD,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const be = backend as unknown as WebGPUBackendInternals;
    const { kind, eps } = attrsOf(NORM_FWD, attrs);
    const x = input(NORM_FWD, inputs, 'x');
    const { rows, C } = rowsOf(NORM_FWD, x);
    const gamma = input(NORM_FWD, inputs, 'gamma', [C]);
    const beta = kind === 'layernorm' ? input(NORM_FWD, inputs, 'beta', [C]) : null;
    if (rows === 0) return [emptyOutput(be, [...x.shape]), emptyOutput(be, [0, 2])];
    const y = be.makeTensorInfo([...x.shape], 'float32');
    const stats = be.makeTensorInfo([rows, 2], 'float32');
    const lanes = normLanes(C);
    const tensors = bind(be, NORM_FWD, beta === null ? { x, gamma, y, stats } : { x, gamma, beta, y, stats });
    dispatchInPass(be, kernel(be, 'fwd', kind), NORM_FWD, tensors, [
      { type: 'uint32', data: [rows] }, { type: 'uint32', data: [C] }, { type: 'uint32', data: [lanes] }, { type: 'float32', data: [eps] },
    ], spreadGroups(Math.ceil(rows / (WORKGROUP / lanes))));
    return [y, stats];
  },
};

export const normBwdWebGPUConfig: tf.KernelConfig = {
  kernelName: NORM_BWD,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const be = backend as unknown as WebGPUBackendInternals;
    const { kind } = attrsOf(NORM_BWD, attrs);
    const layer = kind === 'layernorm';
    const x = input(NORM_BWD, inputs, 'x');
    const { rows, C } = rowsOf(NORM_BWD, x);
    const gamma = input(NORM_BWD, inputs, 'gamma', [C]);
    const stats = input(NORM_BWD, inputs, 'stats', [rows, 2]);
    const dy = input(NORM_BWD, inputs, 'dy', x.shape);
    if (rows === 0) {
      // No rows: dx is empty and the column sums are zeros (CPU values; uploaded when first used).
      const zeros = () => {
        const t = be.makeTensorInfo([C], 'float32');
        be.tensorMap.get(t.dataId).values = new Float32Array(C);
        return t;
      };
      return [emptyOutput(be, [...x.shape]), zeros(), ...(layer ? [zeros()] : [])];
    }
    const plan = planNormColumns(rows, C);
    if (plan.colGroups > 65535) throw new Error(`${NORM_BWD} (webgpu): the last dimension ${C} exceeds ${65535 * COL_TILE}, the most the columns kernel can cover`);
    const dx = be.makeTensorInfo([...x.shape], 'float32');
    const dgamma = be.makeTensorInfo([C], 'float32');
    const dbeta = layer ? be.makeTensorInfo([C], 'float32') : null;
    const direct = plan.chunks === 1;
    const partGamma = direct ? dgamma : be.makeTensorInfo([plan.chunks, C], 'float32');
    const partBeta = direct ? dbeta : layer ? be.makeTensorInfo([plan.chunks, C], 'float32') : null;

    // Every buffer first: an upload ends the open pass, and the dispatches below should share one.
    const rowTensors = bind(be, NORM_BWD, { x, gamma, stats, dy, dx });
    const colTensors = bind(be, NORM_BWD, partBeta === null ? { x, stats, dy, partGamma } : { x, stats, dy, partGamma, partBeta });
    const finishTensors = direct ? [] : bind(be, NORM_BWD, dbeta === null ? { partGamma, dgamma } : { partGamma, partBeta: partBeta!, dgamma, dbeta });

    const lanes = normLanes(C);
    dispatchInPass(be, kernel(be, 'dx', kind), NORM_BWD, rowTensors, [
      { type: 'uint32', data: [rows] }, { type: 'uint32', data: [C] }, { type: 'uint32', data: [lanes] },
    ], spreadGroups(Math.ceil(rows / (WORKGROUP / lanes))));
    dispatchInPass(be, kernel(be, 'columns', kind), NORM_BWD, colTensors, [
      { type: 'uint32', data: [rows] }, { type: 'uint32', data: [C] }, { type: 'uint32', data: [plan.rowsPerChunk] },
    ], [plan.colGroups, plan.chunks]);
    if (!direct) {
      dispatchInPass(be, kernel(be, 'finish', kind), NORM_BWD, finishTensors, [
        { type: 'uint32', data: [C] }, { type: 'uint32', data: [plan.chunks] },
      ], spreadGroups(Math.ceil(C / WORKGROUP)));
      // Released once the commands that use them are submitted (commandQueueOwnedIds).
      be.disposeData(partGamma.dataId);
      if (partBeta !== null) be.disposeData(partBeta.dataId);
    }
    return [dx, dgamma, ...(dbeta === null ? [] : [dbeta])];
  },
};
