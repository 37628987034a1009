/**
 * Op cases of the movement and creation kernels (src/kernels/movement.ts): every kernel, ranks 1–5,
 * ragged sizes, int32/bool where they occur, empty tensors, and gradients for the differentiable ops so
 * their backward kernels (Transpose↔Transpose, Slice↔PadV2, Concat↔SplitV, Pack↔Unpack, Tile →
 * Slice/Add) run on the backend too.
 */
import * as tf from '@tensorflow/tfjs';
import type { OpCase } from '../op-check.js';

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

const views: OpCase[] = [
  { name: 'Reshape f32 [3,4,5]→[12,5]', kernels: ['Reshape'], inputs: [{ shape: [3, 4, 5] }], run: (x) => tf.reshape(x, [12, 5]), grad: true },
  { name: 'Reshape f32 [257]→[-1,1]', kernels: ['Reshape'], inputs: [{ shape: [257] }], run: (x) => tf.reshape(x, [-1, 1]), grad: true },
  { name: 'Reshape i32 [2,3,7]→[42]', kernels: ['Reshape'], inputs: [{ shape: [2, 3, 7], dtype: 'int32', range: [-50, 50] }], run: (x) => tf.reshape(x, [42]) },
  { name: 'ExpandDims f32 [5,7] axis 1', kernels: ['ExpandDims'], inputs: [{ shape: [5, 7] }], run: (x) => tf.expandDims(x, 1), grad: true },
  { name: 'ExpandDims f32 [33] axis -1', kernels: ['ExpandDims'], inputs: [{ shape: [33] }], run: (x) => tf.expandDims(x, -1), grad: true },
  { name: 'Identity f32 [1000]', kernels: ['Identity'], inputs: [{ shape: [1000] }], run: (x) => tf.clone(x), grad: true },
  { name: 'Identity i32 [7,3]', kernels: ['Identity'], inputs: [{ shape: [7, 3], dtype: 'int32', range: [-9, 9] }], run: (x) => tf.clone(x) },
  { name: 'Identity bool [33]', kernels: ['Identity'], inputs: [{ shape: [33], dtype: 'bool' }], run: (x) => tf.clone(x) },
];

const casts: OpCase[] = [
  { name: 'Cast f32→i32 [1037] (truncates toward zero)', kernels: ['Cast'], inputs: [{ shape: [1037], range: [-6, 6] }], run: (x) => tf.cast(x, 'int32') },
  { name: 'Cast f32→i32 large values', kernels: ['Cast'], inputs: [{ shape: [257], range: [-5e9, 5e9] }], run: (x) => tf.cast(x, 'int32') },
  { name: 'Cast i32→f32 [3,33]', kernels: ['Cast'], inputs: [{ shape: [3, 33], dtype: 'int32', range: [-100000, 100000] }], run: (x) => tf.cast(x, 'float32') },
  { name: 'Cast bool→f32 [257]', kernels: ['Cast'], inputs: [{ shape: [257], dtype: 'bool' }], run: (x) => tf.cast(x, 'float32') },
  { name: 'Cast bool→i32 [7,5]', kernels: ['Cast'], inputs: [{ shape: [7, 5], dtype: 'bool' }], run: (x) => tf.cast(x, 'int32') },
  // Only 0/1 values to bool: tfjs-wasm's Cast to bool converts numerically (0.3 → 0, 2 → 2, -1 → 255),
  // so the suite cannot hold other values (the kernels' x != 0 is in movement.cu).
  { name: 'Cast f32→bool [1000] of 0/1', kernels: ['Cast'], inputs: [{ shape: [1000] }], run: (x) => tf.cast(tf.step(x), 'bool') },
  { name: 'Cast i32→bool [33] of 0/1', kernels: ['Cast'], inputs: [{ shape: [33], dtype: 'int32', range: [0, 2] }], run: (x) => tf.cast(x, 'bool') },
  { name: 'Cast f32→f32 [5,7] (view)', kernels: ['Cast'], inputs: [{ shape: [5, 7] }], run: (x) => tf.cast(x, 'float32'), grad: true },
  { name: 'Cast i32→i32 [9]', kernels: ['Cast'], inputs: [{ shape: [9], dtype: 'int32', range: [-9, 9] }], run: (x) => tf.cast(x, 'int32') },
];

const transposes: OpCase[] = [
  ...permutations(3).map((perm): OpCase => ({
    name: `Transpose f32 [3,5,7] perm [${perm.join(',')}]`, kernels: ['Transpose'], inputs: [{ shape: [3, 5, 7] }], run: (x) => tf.transpose(x, perm), grad: true,
  })),
  { name: 'Transpose f32 [33,257]', kernels: ['Transpose'], inputs: [{ shape: [33, 257] }], run: (x) => tf.transpose(x), grad: true },
  { name: 'Transpose f32 [1,7]', kernels: ['Transpose'], inputs: [{ shape: [1, 7] }], run: (x) => tf.transpose(x), grad: true },
  { name: 'Transpose f32 [2,3,4,5] perm [0,2,1,3]', kernels: ['Transpose'], inputs: [{ shape: [2, 3, 4, 5] }], run: (x) => tf.transpose(x, [0, 2, 1, 3]), grad: true },
  { name: 'Transpose f32 [2,3,4,5] perm [3,1,0,2]', kernels: ['Transpose'], inputs: [{ shape: [2, 3, 4, 5] }], run: (x) => tf.transpose(x, [3, 1, 0, 2]), grad: true },
  { name: 'Transpose f32 [4,1,6,3] perm [0,2,3,1]', kernels: ['Transpose'], inputs: [{ shape: [4, 1, 6, 3] }], run: (x) => tf.transpose(x, [0, 2, 3, 1]), grad: true },
  { name: 'Transpose f32 [2,3,2,5,3] perm [4,0,3,1,2]', kernels: ['Transpose'], inputs: [{ shape: [2, 3, 2, 5, 3] }], run: (x) => tf.transpose(x, [4, 0, 3, 1, 2]), grad: true },
  { name: 'Transpose f32 [2,3,2,5,3] perm [0,1,3,2,4]', kernels: ['Transpose'], inputs: [{ shape: [2, 3, 2, 5, 3] }], run: (x) => tf.transpose(x, [0, 1, 3, 2, 4]), grad: true },
  { name: 'Transpose i32 [5,6,7] perm [2,0,1]', kernels: ['Transpose'], inputs: [{ shape: [5, 6, 7], dtype: 'int32', range: [-1000, 1000] }], run: (x) => tf.transpose(x, [2, 0, 1]) },
  { name: 'Transpose f32 [0,3] (empty)', kernels: ['Transpose'], inputs: [{ shape: [0, 3] }], run: (x) => tf.transpose(x) },
];

const slices: OpCase[] = [
  { name: 'Slice f32 [1037] begin 5 size 1000', kernels: ['Slice'], inputs: [{ shape: [1037] }], run: (x) => tf.slice(x, [5], [1000]), grad: true },
  { name: 'Slice f32 [7,33] begin [1,3] size [5,-1]', kernels: ['Slice'], inputs: [{ shape: [7, 33] }], run: (x) => tf.slice(x, [1, 3], [5, -1]), grad: true },
  { name: 'Slice f32 [7,33] rows (contiguous)', kernels: ['Slice'], inputs: [{ shape: [7, 33] }], run: (x) => tf.slice(x, [2, 0], [3, 33]), grad: true },
  { name: 'Slice f32 [4,5,6] begin [1,2,3] size [2,3,3]', kernels: ['Slice'], inputs: [{ shape: [4, 5, 6] }], run: (x) => tf.slice(x, [1, 2, 3], [2, 3, 3]), grad: true },
  { name: 'Slice f32 [3,4,5,6] begin [0,1,0,5] size [3,2,5,1]', kernels: ['Slice'], inputs: [{ shape: [3, 4, 5, 6] }], run: (x) => tf.slice(x, [0, 1, 0, 5], [3, 2, 5, 1]), grad: true },
  { name: 'Slice f32 [2,3,4,5,6] begin [1,0,3,1,2] size [1,3,1,3,-1]', kernels: ['Slice'], inputs: [{ shape: [2, 3, 4, 5, 6] }], run: (x) => tf.slice(x, [1, 0, 3, 1, 2], [1, 3, 1, 3, -1]), grad: true },
  { name: 'Slice i32 [9,11] begin [4,7] size [5,3]', kernels: ['Slice'], inputs: [{ shape: [9, 11], dtype: 'int32', range: [-500, 500] }], run: (x) => tf.slice(x, [4, 7], [5, 3]) },
  { name: 'Slice f32 [5,7] size [0,7] (empty)', kernels: ['Slice'], inputs: [{ shape: [5, 7] }], run: (x) => tf.slice(x, [3, 0], [0, 7]) },
  { name: 'Slice f32 [0,4] (empty input)', kernels: ['Slice'], inputs: [{ shape: [0, 4] }], run: (x) => tf.slice(x, [0, 1], [0, 2]) },
];

const pads: OpCase[] = [
  { name: 'PadV2 f32 [257] [[3,5]]', kernels: ['PadV2'], inputs: [{ shape: [257] }], run: (x) => tf.pad(x, [[3, 5]]), grad: true },
  { name: 'PadV2 f32 [5,7] every side, constant 1.5', kernels: ['PadV2'], inputs: [{ shape: [5, 7] }], run: (x) => tf.pad(x, [[1, 2], [3, 1]], 1.5), grad: true },
  { name: 'PadV2 f32 [3,4,5] middle dim only', kernels: ['PadV2'], inputs: [{ shape: [3, 4, 5] }], run: (x) => tf.pad(x, [[0, 0], [2, 1], [0, 0]]), grad: true },
  { name: 'PadV2 f32 [2,3,4,5] before only / after only', kernels: ['PadV2'], inputs: [{ shape: [2, 3, 4, 5] }], run: (x) => tf.pad(x, [[1, 0], [0, 2], [0, 0], [3, 0]], -2), grad: true },
  { name: 'PadV2 f32 [2,1,3,2,3] all dims', kernels: ['PadV2'], inputs: [{ shape: [2, 1, 3, 2, 3] }], run: (x) => tf.pad(x, [[1, 1], [1, 0], [0, 1], [2, 2], [1, 1]], 0.25), grad: true },
  { name: 'PadV2 i32 [4,6]', kernels: ['PadV2'], inputs: [{ shape: [4, 6], dtype: 'int32', range: [-50, 50] }], run: (x) => tf.pad(x, [[2, 1], [0, 3]], 7) },
  { name: 'PadV2 f32 [0,3] (empty input)', kernels: ['PadV2'], inputs: [{ shape: [0, 3] }], run: (x) => tf.pad(x, [[1, 1], [0, 2]], 3) },
];

const tiles: OpCase[] = [
  { name: 'Tile f32 [33] reps [4]', kernels: ['Tile'], inputs: [{ shape: [33] }], run: (x) => tf.tile(x, [4]), grad: true },
  { name: 'Tile f32 [5,7] reps [2,3]', kernels: ['Tile'], inputs: [{ shape: [5, 7] }], run: (x) => tf.tile(x, [2, 3]), grad: true },
  { name: 'Tile f32 [1,7] reps [33,1] (broadcast rows)', kernels: ['Tile'], inputs: [{ shape: [1, 7] }], run: (x) => tf.tile(x, [33, 1]), grad: true },
  { name: 'Tile f32 [2,3,4] reps [2,1,3]', kernels: ['Tile'], inputs: [{ shape: [2, 3, 4] }], run: (x) => tf.tile(x, [2, 1, 3]), grad: true },
  { name: 'Tile f32 [2,1,3,2] reps [1,4,2,3]', kernels: ['Tile'], inputs: [{ shape: [2, 1, 3, 2] }], run: (x) => tf.tile(x, [1, 4, 2, 3]), grad: true },
  { name: 'Tile f32 [2,3,1,2,3] reps [2,2,3,2,2]', kernels: ['Tile'], inputs: [{ shape: [2, 3, 1, 2, 3] }], run: (x) => tf.tile(x, [2, 2, 3, 2, 2]) },
  { name: 'Tile i32 [3,5] reps [3,2]', kernels: ['Tile'], inputs: [{ shape: [3, 5], dtype: 'int32', range: [-20, 20] }], run: (x) => tf.tile(x, [3, 2]) },
  { name: 'Tile f32 [1,1,4] via broadcastTo [5,3,4]', kernels: ['Tile'], inputs: [{ shape: [1, 1, 4] }], run: (x) => tf.broadcastTo(x, [5, 3, 4]), grad: true },
];

const concats: OpCase[] = [
  { name: 'Concat f32 [257]+[33]+[1]', kernels: ['Concat'], inputs: [{ shape: [257] }, { shape: [33] }, { shape: [1] }], run: (a, b, c) => tf.concat([a, b, c]), grad: true },
  { name: 'Concat f32 [3,5]+[4,5] axis 0 (contiguous)', kernels: ['Concat'], inputs: [{ shape: [3, 5] }, { shape: [4, 5] }], run: (a, b) => tf.concat([a, b], 0), grad: true },
  { name: 'Concat f32 [7,3]+[7,1]+[7,5] axis 1', kernels: ['Concat'], inputs: [{ shape: [7, 3] }, { shape: [7, 1] }, { shape: [7, 5] }], run: (a, b, c) => tf.concat([a, b, c], 1), grad: true },
  { name: 'Concat f32 [2,3,4]+[2,2,4] axis 1', kernels: ['Concat'], inputs: [{ shape: [2, 3, 4] }, { shape: [2, 2, 4] }], run: (a, b) => tf.concat([a, b], 1), grad: true },
  { name: 'Concat f32 [2,3,4]+[2,3,1] axis -1', kernels: ['Concat'], inputs: [{ shape: [2, 3, 4] }, { shape: [2, 3, 1] }], run: (a, b) => tf.concat([a, b], -1), grad: true },
  { name: 'Concat f32 [2,2,3,2]x3 axis 2', kernels: ['Concat'], inputs: [{ shape: [2, 2, 3, 2] }, { shape: [2, 2, 1, 2] }, { shape: [2, 2, 2, 2] }], run: (a, b, c) => tf.concat([a, b, c], 2), grad: true },
  { name: 'Concat f32 rank 5 axis 3', kernels: ['Concat'], inputs: [{ shape: [2, 1, 3, 2, 2] }, { shape: [2, 1, 3, 3, 2] }], run: (a, b) => tf.concat([a, b], 3), grad: true },
  { name: 'Concat f32 [4,0]+[4,3]+[4,0]+[4,2] axis 1 (empty inputs)', kernels: ['Concat'], inputs: [{ shape: [4, 0] }, { shape: [4, 3] }, { shape: [4, 0] }, { shape: [4, 2] }], run: (a, b, c, d) => tf.concat([a, b, c, d], 1), grad: true },
  { name: 'Concat f32 [0,3]+[5,3] axis 0 (one non-empty)', kernels: ['Concat'], inputs: [{ shape: [0, 3] }, { shape: [5, 3] }], run: (a, b) => tf.concat([a, b], 0) },
  { name: 'Concat f32 [2,0]+[2,0] (empty output)', kernels: ['Concat'], inputs: [{ shape: [2, 0] }, { shape: [2, 0] }], run: (a, b) => tf.concat([a, b], 1) },
  {
    name: 'Concat f32 20 inputs [3,k] axis 1 (several launches)', kernels: ['Concat'],
    inputs: Array.from({ length: 20 }, (_, k) => ({ shape: [3, 1 + (k % 4)] })), run: (...xs) => tf.concat(xs, 1), grad: true,
  },
  { name: 'Concat i32 [3,2]+[3,5] axis 1', kernels: ['Concat'], inputs: [{ shape: [3, 2], dtype: 'int32', range: [-9, 9] }, { shape: [3, 5], dtype: 'int32', range: [-9, 9] }], run: (a, b) => tf.concat([a, b], 1) },
  { name: 'Concat bool [4]+[3]', kernels: ['Concat'], inputs: [{ shape: [4], dtype: 'bool' }, { shape: [3], dtype: 'bool' }], run: (a, b) => tf.concat([a, b]) },
];

const splits: OpCase[] = [
  { name: 'SplitV f32 [1037] sizes [1000,37]', kernels: ['SplitV'], inputs: [{ shape: [1037] }], run: (x) => tf.split(x, [1000, 37]), grad: true },
  { name: 'SplitV f32 [6,9] 3 ways axis 1', kernels: ['SplitV'], inputs: [{ shape: [6, 9] }], run: (x) => tf.split(x, 3, 1), grad: true },
  { name: 'SplitV f32 [4,5,6] sizes [1,-1,2] axis 1', kernels: ['SplitV'], inputs: [{ shape: [4, 5, 6] }], run: (x) => tf.split(x, [1, -1, 2], 1), grad: true },
  { name: 'SplitV f32 [2,3,4,5] sizes [3,2] axis -1', kernels: ['SplitV'], inputs: [{ shape: [2, 3, 4, 5] }], run: (x) => tf.split(x, [3, 2], -1), grad: true },
  { name: 'SplitV f32 [2,3,2,4,3] sizes [1,3] axis 3', kernels: ['SplitV'], inputs: [{ shape: [2, 3, 2, 4, 3] }], run: (x) => tf.split(x, [1, 3], 3), grad: true },
  { name: 'SplitV f32 [5,4] sizes [0,2,2] axis 1 (empty output)', kernels: ['SplitV'], inputs: [{ shape: [5, 4] }], run: (x) => tf.split(x, [0, 2, 2], 1) },
];

const stacks: OpCase[] = [
  { name: 'Pack f32 3×[5,7] axis 0', kernels: ['Pack'], inputs: [{ shape: [5, 7] }, { shape: [5, 7] }, { shape: [5, 7] }], run: (a, b, c) => tf.stack([a, b, c]), grad: true },
  { name: 'Pack f32 2×[3,4] axis 2', kernels: ['Pack'], inputs: [{ shape: [3, 4] }, { shape: [3, 4] }], run: (a, b) => tf.stack([a, b], 2), grad: true },
  { name: 'Pack i32 2×[33] axis 1', kernels: ['Pack'], inputs: [{ shape: [33], dtype: 'int32', range: [-9, 9] }, { shape: [33], dtype: 'int32', range: [-9, 9] }], run: (a, b) => tf.stack([a, b], 1) },
  { name: 'Unpack f32 [4,5,3] axis 1', kernels: ['Unpack'], inputs: [{ shape: [4, 5, 3] }], run: (x) => tf.unstack(x, 1), grad: true },
  { name: 'Unpack f32 [3,7] axis 0', kernels: ['Unpack'], inputs: [{ shape: [3, 7] }], run: (x) => tf.unstack(x), grad: true },
];

const stridedSlices: OpCase[] = [
  { name: 'StridedSlice f32 [4,5,6] steps [2,2,3]', kernels: ['StridedSlice'], inputs: [{ shape: [4, 5, 6] }], run: (x) => tf.stridedSlice(x, [0, 1, 0], [4, 5, 6], [2, 2, 3]) },
  { name: 'StridedSlice f32 [4,5,6] reversed', kernels: ['StridedSlice'], inputs: [{ shape: [4, 5, 6] }], run: (x) => tf.stridedSlice(x, [-1, -1, -1], [-5, -6, -7], [-1, -1, -1]) },
  { name: 'StridedSlice f32 [4,5,6] negative begins', kernels: ['StridedSlice'], inputs: [{ shape: [4, 5, 6] }], run: (x) => tf.stridedSlice(x, [-3, 1, -2], [4, -1, 6], [1, 2, 1]) },
  { name: 'StridedSlice f32 [4,5,6] shrink axis 0', kernels: ['StridedSlice'], inputs: [{ shape: [4, 5, 6] }], run: (x) => tf.stridedSlice(x, [2, 0, 0], [3, 5, 6], [1, 1, 1], 0, 0, 0, 0, 1) },
  { name: 'StridedSlice i32 [7,9] rows 1..5', kernels: ['StridedSlice'], inputs: [{ shape: [7, 9], dtype: 'int32', range: [-99, 99] }], run: (x) => tf.stridedSlice(x, [1, 0], [5, 9], [1, 1]) },
];

const creation: OpCase[] = [
  { name: 'Fill f32 [33,7] 2.5', kernels: ['Fill'], inputs: [], run: () => tf.fill([33, 7], 2.5) },
  { name: 'Fill i32 [1000] -3', kernels: ['Fill'], inputs: [], run: () => tf.fill([1000], -3, 'int32') },
  { name: 'Fill f32 [1] (scalar-like)', kernels: ['Fill'], inputs: [], run: () => tf.fill([1], -0.125) },
  { name: 'OnesLike f32 [257]', kernels: ['OnesLike'], inputs: [{ shape: [257] }], run: (x) => tf.onesLike(x) },
  { name: 'OnesLike i32 [3,5]', kernels: ['OnesLike'], inputs: [{ shape: [3, 5], dtype: 'int32' }], run: (x) => tf.onesLike(x) },
  { name: 'OnesLike bool [7]', kernels: ['OnesLike'], inputs: [{ shape: [7], dtype: 'bool' }], run: (x) => tf.onesLike(x) },
  { name: 'ZerosLike f32 [2,3,4,5,6]', kernels: ['ZerosLike'], inputs: [{ shape: [2, 3, 4, 5, 6] }], run: (x) => tf.zerosLike(x) },
  { name: 'ZerosLike i32 [33]', kernels: ['ZerosLike'], inputs: [{ shape: [33], dtype: 'int32' }], run: (x) => tf.zerosLike(x) },
  { name: 'ZerosLike bool [9]', kernels: ['ZerosLike'], inputs: [{ shape: [9], dtype: 'bool' }], run: (x) => tf.zerosLike(x) },
  { name: 'Range i32 0..1037', kernels: ['Range'], inputs: [], run: () => tf.range(0, 1037, 1, 'int32') },
  { name: 'Range i32 50..-7 step -3', kernels: ['Range'], inputs: [], run: () => tf.range(50, -7, -3, 'int32') },
  { name: 'Range i32 0..10 step 1.5 (truncating recurrence)', kernels: ['Range'], inputs: [], run: () => tf.range(0, 10, 1.5, 'int32') },
  { name: 'Range f32 -2.5..7 step 0.25 (closed form)', kernels: ['Range'], inputs: [], run: () => tf.range(-2.5, 7, 0.25) },
  { name: 'Range f32 0..300 step 0.1 (recurrence)', kernels: ['Range'], inputs: [], run: () => tf.range(0, 300, 0.1) },
  { name: 'Range f32 5..5 (empty)', kernels: ['Range'], inputs: [], run: () => tf.range(5, 5) },
];

const indexing: OpCase[] = [
  // tfjs-wasm writes int32 on/off values into a float32 OneHot output, so the cases make int32 one-hots
  // (the float32 output differs only in the on/off bit patterns, test/movement-plan.test.ts).
  { name: 'OneHot i32 [33] depth 10 (out-of-range rows off)', kernels: ['OneHot'], inputs: [{ shape: [33], dtype: 'int32', range: [-2, 12] }], run: (i) => tf.oneHot(i, 10) },
  { name: 'OneHot i32 [4,7] depth 257 on 5 off -2', kernels: ['OneHot'], inputs: [{ shape: [4, 7], dtype: 'int32', range: [0, 257] }], run: (i) => tf.oneHot(i, 257, 5, -2) },
  { name: 'OneHot i32 [9] depth 5 → f32 via Cast', kernels: ['OneHot', 'Cast'], inputs: [{ shape: [9], dtype: 'int32', range: [0, 5] }], run: (i) => tf.cast(tf.oneHot(i, 5), 'float32') },
  { name: 'GatherV2 f32 [5,7,3] axis 1', kernels: ['GatherV2'], inputs: [{ shape: [5, 7, 3] }, { shape: [4], dtype: 'int32', range: [0, 7] }], run: (x, i) => tf.gather(x, i, 1) },
  { name: 'GatherV2 f32 [257,6] axis 0 (embedding rows)', kernels: ['GatherV2'], inputs: [{ shape: [257, 6] }, { shape: [3, 11], dtype: 'int32', range: [0, 257] }], run: (x, i) => tf.gather(x, i) },
  { name: 'GatherV2 i32 [4,9] axis -1', kernels: ['GatherV2'], inputs: [{ shape: [4, 9], dtype: 'int32', range: [-50, 50] }, { shape: [5], dtype: 'int32', range: [0, 9] }], run: (x, i) => tf.gather(x, i, -1) },
];

export const movementCases: OpCase[] = [
  ...views, ...casts, ...transposes, ...slices, ...pads, ...tiles, ...concats, ...splits, ...stacks, ...stridedSlices, ...creation, ...indexing,
];
