/**
 * BatchMatMul without a GPU: the plan (shapes, leading dimensions, merged batch strides, folding), the
 * own kernel's launch emulated block by block and thread by thread from the packed parameter bytes
 * (cuda/matmul.cu's index math: tile loads with zero fill, wmma fragment layouts, epilogue), and the
 * cuBLAS argument mapping emulated as a column-major BLAS call. Each is compared with a float64
 * reference with numpy batch semantics (itself checked against tfjs's cpu kernel where that is right).
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ConfigError, Rng } from '@sigattn/common';
import {
  MATMUL_MAX_BATCH_RANK,
  chooseTile,
  matmulImpl,
  matmulSmemBytes,
  ownGemmLaunch,
  parseMatmulMode,
  planBatchMatMul,
  setMatmulMode,
  type GemmPlan,
  type MatmulTile,
} from '../src/kernels/matmul.js';
import { Cublas, cublasCandidates, cublasCanRun, cublasGemmArgs, type CublasGemmArgs } from '../src/cublas.js';
import { matmulCases, tf32Tol } from '../src/testing/cases/matmul.js';

type Shape = number[];
interface Mm {
  a: Shape;
  b: Shape;
  transA: boolean;
  transB: boolean;
}

/** The op cases' shapes (case names hold them: `BatchMatMul [a]T·[b]T (…)`). */
const CASES: (Mm & { name: string; grad: boolean; tol: number })[] = matmulCases.map((c) => {
  const m = /^BatchMatMul \[([\d,]*)\](T?)·\[([\d,]*)\](T?)/.exec(c.name);
  if (m === null) throw new Error(`unparsed case name ${c.name}`);
  const dims = (s: string) => (s === '' ? [] : s.split(',').map(Number));
  return { name: c.name, a: dims(m[1]), b: dims(m[3]), transA: m[2] === 'T', transB: m[4] === 'T', grad: c.grad ?? false, tol: c.tol ?? 1e-5 };
});

/** Broadcasts tfjs's cpu kernel gets wrong (so the op cases leave them out); numpy semantics expected. */
const MIXED: Mm[] = [
  { a: [2, 1, 5, 7], b: [1, 3, 7, 4], transA: false, transB: false },
  { a: [2, 3, 4, 6, 5], b: [3, 1, 2, 6], transA: true, transB: true },
  { a: [2, 1, 2, 1, 3, 4], b: [1, 3, 1, 2, 4, 5], transA: false, transB: false },
  { a: [1, 3, 4, 9], b: [2, 1, 9, 3], transA: false, transB: false },
];

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

function random(shape: Shape, rng: Rng): Float32Array {
  return Float32Array.from({ length: size(shape) }, () => rng.uniform(-2, 2));
}

/** float64 C = op(A)·op(B) with numpy batch broadcasting, written independently of the plan. */
function reference(mm: Mm, A: Float32Array, B: Float32Array): { shape: Shape; values: Float64Array } {
  const ra = mm.a.length, rb = mm.b.length;
  const M = mm.transA ? mm.a[ra - 1] : mm.a[ra - 2], K = mm.transA ? mm.a[ra - 2] : mm.a[ra - 1];
  const N = mm.transB ? mm.b[rb - 2] : mm.b[rb - 1];
  const ba = mm.a.slice(0, -2), bb = mm.b.slice(0, -2);
  const rank = Math.max(ba.length, bb.length);
  const pad = (s: Shape) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const pa = pad(ba), pb = pad(bb);
  const outBatch = pa.map((d, i) => Math.max(d, pb[i]));
  const values = new Float64Array(size(outBatch) * M * N);
  for (let z = 0; z < size(outBatch); z++) {
    let rem = z, ia = 0, ib = 0, sa = 1, sb = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const idx = rem % outBatch[d];
      rem = Math.floor(rem / outBatch[d]);
      ia += (pa[d] === 1 ? 0 : idx) * sa;
      ib += (pb[d] === 1 ? 0 : idx) * sb;
      sa *= pa[d];
      sb *= pb[d];
    }
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = A[ia * M * K + (mm.transA ? k * M + m : m * K + k)];
          const bv = B[ib * K * N + (mm.transB ? n * K + k : k * N + n)];
          s += av * bv;
        }
        values[(z * M + m) * N + n] = s;
      }
    }
  }
  return { shape: [...outBatch, M, N], values };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** cvt.rna.tf32.f32: round to 10 mantissa bits, ties away from zero. */
function tf32(x: number): number {
  f32[0] = x;
  u32[0] = (u32[0] + 0x1000) & 0xffffe000;
  return f32[0];
}

/** MatmulParams of cuda/matmul.cu, decoded at the C struct's offsets. */
function decodeParams(bytes: Uint8Array) {
  expect(bytes.byteLength).toBe(160);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const i64 = (o: number) => Number(v.getBigInt64(o, true));
  const arr = (o: number, n: number, f: (o: number) => number, w: number) => Array.from({ length: n }, (_, i) => f(o + i * w));
  return {
    a: v.getBigUint64(0, true),
    b: v.getBigUint64(8, true),
    c: v.getBigUint64(16, true),
    lda: i64(24),
    ldb: i64(32),
    ldc: i64(40),
    strideC: i64(48),
    batchStrideA: arr(56, 4, i64, 8),
    batchStrideB: arr(88, 4, i64, 8),
    batchShape: arr(120, 4, (o) => v.getInt32(o, true), 4),
    M: v.getInt32(136, true),
    N: v.getInt32(140, true),
    K: v.getInt32(144, true),
    batch: v.getInt32(148, true),
    vecA: v.getInt32(152, true),
    vecB: v.getInt32(156, true),
  };
}

const BK = 32, PAD = 4;

/**
 * Run the own kernel's launch on the host as cuda/matmul.cu does: every block of the grid (with the y/z
 * loops), every thread's tile copies (shared memory starts NaN, so a missed element poisons results),
 * the fragment reads in their layouts, and the bounds-checked epilogue. `aBase`/`bBase` are the device
 * addresses the arrays stand for (the 16-byte copies must be aligned there). Returns C (NaN where unwritten).
 */
function emulateOwn(launch: ReturnType<typeof ownGemmLaunch>, A: Float32Array, B: Float32Array, aBase: bigint, bBase: bigint, round: (x: number) => number): Float32Array {
  const p = decodeParams(launch.params);
  const [, tileStr, layout] = launch.kernel.split('_').slice(1);
  const tile = Number(tileStr) as MatmulTile;
  const TA = layout[0] === 't', TB = layout[1] === 't';
  const BM = tile, BN = tile;
  const [WM, WN] = tile === 128 ? [64, 32] : [32, 32];
  const THREADS = (BM / WM) * (BN / WN) * 32;
  expect(launch.block).toBe(THREADS);
  const WARPS_N = BN / WN;
  const aRows = TA ? BK : BM, aCols = TA ? BM : BK, bRows = TB ? BN : BK, bCols = TB ? BK : BN;
  expect(launch.smem).toBe(2 * (aRows * (aCols + PAD) + bRows * (bCols + PAD)) * 4);
  const C = new Float32Array(p.batch * p.strideC).fill(NaN);
  const written = new Uint8Array(C.length);
  const mTiles = Math.ceil(p.M / BM), kTiles = Math.ceil(p.K / BK);
  const [gx, gy, gz] = launch.grid;

  const loadTile = (ROWS: number, COLS: number, src: Float32Array, base: bigint, off: number, ld: number, r0: number, c0: number, rows: number, cols: number, vec: boolean): Float32Array => {
    const PITCH = COLS + PAD;
    const dst = new Float32Array(ROWS * PITCH).fill(NaN);
    for (let tid = 0; tid < THREADS; tid++) {
      if (vec) {
        const V = COLS / 4;
        for (let i = 0; i < (ROWS * V) / THREADS; i++) {
          const idx = tid + i * THREADS;
          const r = Math.floor(idx / V), c = (idx % V) * 4;
          const gr = r0 + r, gc = c0 + c;
          const n = gr < rows && gc < cols ? Math.min(cols - gc, 4) : 0;
          if (n > 0) expect((base + BigInt((off + gr * ld + gc) * 4)) % 16n, 'cp.async 16 source alignment').toBe(0n);
          for (let e = 0; e < 4; e++) dst[r * PITCH + c + e] = e < n ? src[off + gr * ld + gc + e] : 0;
        }
      } else {
        for (let i = 0; i < (ROWS * COLS) / THREADS; i++) {
          const idx = tid + i * THREADS;
          const r = Math.floor(idx / COLS), c = idx % COLS;
          const gr = r0 + r, gc = c0 + c;
          dst[r * PITCH + c] = gr < rows && gc < cols ? src[off + gr * ld + gc] : 0;
        }
      }
    }
    return dst;
  };

  for (let bz = 0; bz < gz; bz++) {
    for (let by = 0; by < gy; by++) {
      for (let bx = 0; bx < gx; bx++) {
        const n0 = bx * BN;
        for (let z = bz; z < p.batch; z += gz) {
          let offA = 0, offB = 0, rem = z;
          for (let d = MATMUL_MAX_BATCH_RANK - 1; d >= 0; d--) {
            const idx = rem % p.batchShape[d];
            rem = Math.floor(rem / p.batchShape[d]);
            offA += idx * p.batchStrideA[d];
            offB += idx * p.batchStrideB[d];
          }
          for (let mt = by; mt < mTiles; mt += gy) {
            const m0 = mt * BM;
            const acc = new Float32Array(BM * BN); // per-warp fragments, laid out by tile position
            for (let kt = 0; kt < kTiles; kt++) {
              const k0 = kt * BK;
              const as = TA ? loadTile(BK, BM, A, aBase, offA, p.lda, k0, m0, p.K, p.M, p.vecA === 1) : loadTile(BM, BK, A, aBase, offA, p.lda, m0, k0, p.M, p.K, p.vecA === 1);
              const bs = TB ? loadTile(BN, BK, B, bBase, offB, p.ldb, n0, k0, p.N, p.K, p.vecB === 1) : loadTile(BK, BN, B, bBase, offB, p.ldb, k0, n0, p.K, p.N, p.vecB === 1);
              for (let warp = 0; warp < THREADS / 32; warp++) {
                const warpM = Math.floor(warp / WARPS_N), warpN = warp % WARPS_N;
                for (let kk = 0; kk < BK; kk += 8) {
                  for (let i = 0; i < WM / 16; i++) {
                    for (let j = 0; j < WN / 16; j++) {
                      const mm = warpM * WM + i * 16, nn = warpN * WN + j * 16;
                      for (let m = 0; m < 16; m++) {
                        for (let n = 0; n < 16; n++) {
                          let s = acc[(mm + m) * BN + nn + n];
                          for (let k = 0; k < 8; k++) {
                            const av = TA ? as[(kk + k) * (BM + PAD) + mm + m] : as[(mm + m) * (BK + PAD) + kk + k];
                            const bv = TB ? bs[(nn + n) * (BK + PAD) + kk + k] : bs[(kk + k) * (BN + PAD) + nn + n];
                            s = Math.fround(s + Math.fround(round(av) * round(bv)));
                          }
                          acc[(mm + m) * BN + nn + n] = s;
                        }
                      }
                    }
                  }
                }
              }
            }
            for (let warp = 0; warp < THREADS / 32; warp++) {
              const warpM = Math.floor(warp / WARPS_N), warpN = warp % WARPS_N;
              for (let i = 0; i < WM / 16; i++) {
                for (let j = 0; j < WN / 16; j++) {
                  const rowBase = m0 + warpM * WM + i * 16, colBase = n0 + warpN * WN + j * 16;
                  for (let idx = 0; idx < 256; idx++) {
                    const r = rowBase + Math.floor(idx / 16), c = colBase + (idx % 16);
                    if (r < p.M && c < p.N) {
                      const at = z * p.strideC + r * p.ldc + c;
                      written[at]++;
                      C[at] = acc[(r - m0) * BN + (c - n0)];
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  expect(written.every((w) => w === 1), 'every element of C written exactly once').toBe(true);
  return C;
}

/** cublasGemmStridedBatchedEx as the BLAS reference defines it (column-major, beta 0), in float64. */
function emulateCublas(g: CublasGemmArgs, A: Float32Array, B: Float32Array, outLength: number): Float64Array {
  expect(g.lda).toBeGreaterThanOrEqual(Math.max(1, g.transa === 0 ? g.m : g.k));
  expect(g.ldb).toBeGreaterThanOrEqual(Math.max(1, g.transb === 0 ? g.k : g.n));
  expect(g.ldc).toBeGreaterThanOrEqual(Math.max(1, g.m));
  const C = new Float64Array(outLength).fill(NaN);
  for (let p = 0; p < g.batchCount; p++) {
    for (let j = 0; j < g.n; j++) {
      for (let i = 0; i < g.m; i++) {
        let s = 0;
        for (let l = 0; l < g.k; l++) {
          const av = A[p * g.strideA + (g.transa === 0 ? i + l * g.lda : l + i * g.lda)];
          const bv = B[p * g.strideB + (g.transb === 0 ? l + j * g.ldb : j + l * g.ldb)];
          s += av * bv;
        }
        C[p * g.strideC + i + j * g.ldc] = s;
      }
    }
  }
  return C;
}

/** max |got − want| / (1 + |want|), the op check's measure; NaN in got counts as infinite. */
function maxErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let e = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i]));
    e = Number.isNaN(d) ? Infinity : Math.max(e, d);
  }
  return e;
}

/** The device addresses the host arrays stand for: 256-aligned like cuMemAlloc, or off by one float. */
const ALIGNED = 0x7f0000000000n, MISALIGNED = ALIGNED + 4n;

function ownResult(mm: Mm, A: Float32Array, B: Float32Array, tile: MatmulTile, aBase: bigint, round: (x: number) => number): Float32Array {
  const plan = planBatchMatMul(mm.a, mm.b, mm.transA, mm.transB);
  if (plan.batch === 0) return new Float32Array(0);
  return emulateOwn(ownGemmLaunch(plan, aBase, ALIGNED, 0x100n, tile), A, B, aBase, ALIGNED, round);
}

describe('planBatchMatMul', () => {
  it('gives tfjs cpu’s output shape, and the float64 reference matches tfjs cpu, for every op case', async () => {
    await tf.setBackend('cpu');
    const rng = new Rng(11);
    for (const c of CASES) {
      const A = random(c.a, rng), B = random(c.b, rng);
      const want = tf.tidy(() => tf.matMul(tf.tensor(A, c.a), tf.tensor(B, c.b), c.transA, c.transB));
      expect(planBatchMatMul(c.a, c.b, c.transA, c.transB).outShape, c.name).toEqual(want.shape);
      const ref = reference(c, A, B);
      expect(ref.shape, c.name).toEqual(want.shape);
      expect(maxErr(want.dataSync(), ref.values), c.name).toBeLessThan(1e-5);
      want.dispose();
    }
  });

  it('merges batch dimensions, folds a shared B into M and keeps strides of broadcast operands at 0', () => {
    const same = planBatchMatMul([2, 3, 5, 7], [2, 3, 7, 4], false, false);
    expect([same.batchShape, same.batchStrideA, same.batchStrideB, same.M]).toEqual([[6], [35], [28], 5]);
    const folded = planBatchMatMul([2, 3, 5, 7], [7, 4], false, false);
    expect([folded.batch, folded.batchShape, folded.M, folded.outShape]).toEqual([1, [], 30, [2, 3, 5, 4]]);
    const transposedA = planBatchMatMul([2, 3, 7, 5], [7, 4], true, false);
    expect([transposedA.batchShape, transposedA.batchStrideA, transposedA.batchStrideB, transposedA.lda]).toEqual([[6], [35], [0], 5]);
    const suffix = planBatchMatMul([2, 3, 5, 8], [3, 8, 4], false, false);
    expect([suffix.batchShape, suffix.batchStrideA, suffix.batchStrideB]).toEqual([[2, 3], [120, 40], [0, 32]]);
    const aBroadcast = planBatchMatMul([1, 17, 9], [4, 5, 9], false, true);
    expect([aBroadcast.batchShape, aBroadcast.batchStrideA, aBroadcast.batchStrideB, aBroadcast.ldb, aBroadcast.N]).toEqual([[4], [0], [45], 9, 5]);
    expect(planBatchMatMul([3, 0], [0, 5], false, false)).toMatchObject({ K: 0, batch: 1, outShape: [3, 5] });
    expect(planBatchMatMul([0, 3, 4], [4, 5], false, false)).toMatchObject({ batch: 0, outShape: [0, 3, 5] });
  });

  it('rejects mismatched inner dimensions and more than 4 unmergeable batch dimensions', () => {
    expect(() => planBatchMatMul([3, 4], [5, 6], false, false)).toThrow(/inner shapes \(4\) and \(5\)/);
    expect(() => planBatchMatMul([2, 1, 2, 1, 2, 3, 4], [1, 2, 1, 2, 1, 4, 5], false, false)).toThrow(/5 batch dimensions that do not merge/);
    expect(() => planBatchMatMul([4], [4, 5], false, false)).toThrow(/rank ≥ 2/);
  });
});

describe('the own kernel, emulated from its launch', () => {
  const rng = new Rng(12);
  for (const mm of [...CASES, ...MIXED]) {
    const label = 'name' in mm ? (mm as { name: string }).name : `mixed [${mm.a}]·[${mm.b}]`;
    it(`${label}: exact in float32 arithmetic, both tiles, 16- and 4-byte copies`, () => {
      const A = random(mm.a, rng), B = random(mm.b, rng);
      const want = reference(mm, A, B).values;
      const K = planBatchMatMul(mm.a, mm.b, mm.transA, mm.transB).K;
      for (const tile of [64, 128] as const) {
        for (const base of [ALIGNED, MISALIGNED]) {
          expect(maxErr(ownResult(mm, A, B, tile, base, (x) => x), want), `tile ${tile}`).toBeLessThan(2e-6 * Math.sqrt(Math.max(K, 1)) + 1e-6);
        }
      }
    });
  }
});

/** The BatchMatMul calls of tfjs's gradient (BatchMatMul_grad) for dA and dB given dy. */
function gradCalls(c: Mm, dyShape: Shape): [Mm, Mm] {
  const { a, b, transA, transB } = c;
  const mm = (x: Shape, y: Shape, tx: boolean, ty: boolean): Mm => ({ a: x, b: y, transA: tx, transB: ty });
  if (!transA && !transB) return [mm(dyShape, b, false, true), mm(a, dyShape, true, false)];
  if (!transA && transB) return [mm(dyShape, b, false, false), mm(dyShape, a, true, false)];
  if (transA && !transB) return [mm(b, dyShape, false, true), mm(a, dyShape, false, false)];
  return [mm(b, dyShape, true, true), mm(dyShape, a, true, true)];
}

describe('TF32 tolerance of the op cases', () => {
  it('is at least 2× the worst TF32 error of the emulated kernel, forward and gradients', () => {
    const rng = new Rng(13);
    const worst: string[] = [];
    for (const c of CASES) {
      const A = random(c.a, rng), B = random(c.b, rng);
      const check = (mm: Mm, x: Float32Array, y: Float32Array, what: string) => {
        const plan = planBatchMatMul(mm.a, mm.b, mm.transA, mm.transB);
        const tile = chooseTile(plan, 132);
        const err = maxErr(ownResult(mm, x, y, tile, ALIGNED, tf32), reference(mm, x, y).values);
        worst.push(`${c.name} ${what}: ${err.toExponential(2)} (tol ${c.tol.toExponential(2)})`);
        expect(err, `${c.name} ${what}`).toBeLessThanOrEqual(c.tol / 2);
      };
      check(c, A, B, 'out');
      if (c.grad) {
        const outShape = planBatchMatMul(c.a, c.b, c.transA, c.transB).outShape;
        const dy = Float32Array.from({ length: size(outShape) }, () => rng.uniform(-1, 1));
        const [da, db] = gradCalls(c, outShape);
        check(da, da.a === outShape ? dy : B, da.a === outShape ? B : dy, 'dA');
        check(db, db.a === outShape ? dy : A, db.a === outShape ? A : dy, 'dB');
      }
    }
    if (process.env.MM_DEBUG) console.log(worst.join('\n'));
    expect(worst.length).toBeGreaterThan(CASES.length);
  });

  it('is loose enough for TF32 yet far below an indexing error', () => {
    expect(tf32Tol(1)).toBeCloseTo(4e-3);
    expect(tf32Tol(300)).toBeLessThan(0.1);
  });
});

describe('cuBLAS argument mapping (row-major via column-major Cᵀ = Bᵀ·Aᵀ)', () => {
  const rng = new Rng(14);
  for (const mm of [...CASES, ...MIXED]) {
    const plan = planBatchMatMul(mm.a, mm.b, mm.transA, mm.transB);
    if (plan.batch === 0 || !cublasCanRun(plan)) continue;
    it(`[${mm.a}]${mm.transA ? 'T' : ''}·[${mm.b}]${mm.transB ? 'T' : ''}`, () => {
      const A = random(mm.a, rng), B = random(mm.b, rng);
      const want = reference(mm, A, B).values;
      const g = cublasGemmArgs(plan, 1n, 2n, 3n);
      expect([g.A, g.B, g.C]).toEqual([2n, 1n, 3n]);
      expect(maxErr(emulateCublas(g, B, A, want.length), want)).toBeLessThan(1e-12);
    });
  }

  it('leaves unmergeable batches and K = 0 to the own kernel', () => {
    expect(cublasCanRun(planBatchMatMul([2, 3, 5, 8], [3, 8, 4], false, false))).toBe(false);
    expect(cublasCanRun(planBatchMatMul([3, 0], [0, 5], false, false))).toBe(false);
    expect(() => cublasGemmArgs(planBatchMatMul([3, 0], [0, 5], false, false), 1n, 2n, 3n)).toThrow(/cuBLAS cannot run/);
  });
});

describe('launch shape', () => {
  const plan = (a: Shape, b: Shape, ta = false, tb = false): GemmPlan => planBatchMatMul(a, b, ta, tb);

  it('packs MatmulParams at the C struct’s offsets and loops y/z past the grid limits', () => {
    const p = plan([70000, 3, 4], [70000, 4, 5]);
    const l = ownGemmLaunch(p, 0x1000n, 0x2000n, 0x3000n, 64);
    const d = decodeParams(l.params);
    expect(l.grid).toEqual([1, 1, 65535]);
    expect(d).toMatchObject({ a: 0x1000n, b: 0x2000n, c: 0x3000n, lda: 4, ldb: 5, ldc: 5, strideC: 15, M: 3, N: 5, K: 4, batch: 70000, vecA: 1, vecB: 0 });
    expect(d.batchShape).toEqual([70000, 1, 1, 1]);
    expect(d.batchStrideA).toEqual([12, 0, 0, 0]);
    expect(ownGemmLaunch(plan([9_000_000, 8], [8, 8]), 0n, 0n, 0n, 128).grid).toEqual([1, 65535, 1]);
  });

  it('picks 128×128 tiles only for GEMMs that fill the GPU with well-used tiles', () => {
    expect(chooseTile(plan([12800, 128], [128, 384]), 132)).toBe(128);
    expect(chooseTile(plan([8192, 512], [512, 1536]), 132)).toBe(128);
    expect(chooseTile(plan([1024, 50, 32], [1024, 32, 50]), 132)).toBe(64);
    expect(chooseTile(plan([3, 17], [17, 33]), 132)).toBe(64);
  });

  it('shared memory: 128 tiles need the opt-in above 48 KiB (within sm_80’s 163 KiB), 64 tiles do not', () => {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        expect(matmulSmemBytes(128, ta, tb)).toBeGreaterThan(48 * 1024);
        expect(matmulSmemBytes(128, ta, tb)).toBeLessThanOrEqual(163 * 1024);
        expect(matmulSmemBytes(64, ta, tb)).toBeLessThanOrEqual(48 * 1024);
      }
    }
    expect(matmulSmemBytes(128, false, false)).toBe(2 * (128 * 36 + 32 * 132) * 4);
  });
});

describe('matmul mode and cuBLAS loading', () => {
  it('parses $SIGATTN_CUDA_MATMUL with a one-line error for a typo', () => {
    expect(parseMatmulMode(undefined)).toBe('auto');
    expect(parseMatmulMode('own')).toBe('own');
    expect(() => parseMatmulMode('cublass')).toThrow(ConfigError);
    expect(() => parseMatmulMode('cublass')).toThrow(/SIGATTN_CUDA_MATMUL=cublass: expected auto .* \(did you mean cublas\?\)/);
  });

  it('reports the own kernel in mode own without touching a driver', () => {
    setMatmulMode('own');
    expect(matmulImpl()).toMatchObject({ mode: 'own', impl: 'own' });
  });

  it('looks for $SIGATTN_LIBCUBLAS alone, else the CUDA 13 and 12 sonames', () => {
    expect(cublasCandidates({ SIGATTN_LIBCUBLAS: '/x/libcublas.so.12' })).toEqual(['/x/libcublas.so.12']);
    expect(cublasCandidates({})).toEqual(['libcublas.so.13', 'libcublas.so.12', 'libcublas.so']);
  });

  it('says which paths it tried when cuBLAS is missing', () => {
    expect(() => Cublas.open(['/nonexistent/libcublas.so.12'])).toThrow(/cuBLAS not found \(\/nonexistent\/libcublas\.so\.12: .*\); set SIGATTN_LIBCUBLAS/);
  });
});
