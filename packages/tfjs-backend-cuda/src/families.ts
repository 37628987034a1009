/**
 * Kernel families for the README's inventory table: they group the kernels the way a CUDA backend
 * implements them (one template per elementwise family, one per reduction, cuBLAS-style matmul, …).
 * The lists name tfjs kernels beyond the current inventory so a new zoo op usually lands in the right
 * row; a kernel in none of them is counted as `other`.
 */
import { markdownTable } from '@sigattn/common';
import type { KernelInventory } from './inventory.js';

export const FAMILIES = ['elementwise', 'reductions', 'matmul', 'gathers/scatters', 'conv', 'data movement', 'creation', 'custom', 'other'] as const;
export type Family = (typeof FAMILIES)[number];

const MEMBERS: Record<Exclude<Family, 'custom' | 'other'>, readonly string[]> = {
  elementwise: [
    'Abs', 'Acos', 'Acosh', 'Add', 'AddN', 'Asin', 'Asinh', 'Atan', 'Atan2', 'Atanh', 'Ceil', 'ClipByValue', 'Cos', 'Cosh', 'Elu',
    'EluGrad', 'Equal', 'Erf', 'Exp', 'Expm1', 'Floor', 'FloorDiv', 'Greater', 'GreaterEqual', 'IsFinite', 'IsInf', 'IsNan',
    'LeakyRelu', 'Less', 'LessEqual', 'Log', 'Log1p', 'LogicalAnd', 'LogicalNot', 'LogicalOr', 'LogicalXor', 'Maximum', 'Minimum',
    'Mod', 'Multiply', 'Neg', 'NotEqual', 'Pow', 'Prelu', 'RealDiv', 'Reciprocal', 'Relu', 'Relu6', 'Round', 'Rsqrt', 'Select',
    'Selu', 'Sigmoid', 'Sign', 'Sin', 'Sinh', 'Softplus', 'Sqrt', 'Square', 'SquaredDifference', 'Step', 'Sub', 'Tan', 'Tanh',
  ],
  reductions: ['All', 'Any', 'ArgMax', 'ArgMin', 'Cumprod', 'Cumsum', 'Max', 'Mean', 'Min', 'Prod', 'Softmax', 'Sum', 'TopK'],
  matmul: ['BatchMatMul', 'Einsum', '_FusedMatMul'],
  'gathers/scatters': ['Bincount', 'DenseBincount', 'GatherNd', 'GatherV2', 'OneHot', 'ScatterNd', 'SparseToDense', 'TensorScatterUpdate', 'UnsortedSegmentSum'],
  conv: [
    'AvgPool', 'AvgPoolGrad', 'Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'Conv3D', 'Conv3DBackpropFilterV2',
    'Conv3DBackpropInputV2', 'DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput',
    'FusedConv2D', 'FusedDepthwiseConv2D', 'MaxPool', 'MaxPoolGrad',
  ],
  'data movement': [
    'BroadcastTo', 'Cast', 'Concat', 'ExpandDims', 'Identity', 'MirrorPad', 'Pack', 'PadV2', 'Reshape', 'Reverse', 'Slice', 'SplitV',
    'Squeeze', 'StridedSlice', 'Tile', 'Transpose', 'Unpack',
  ],
  creation: ['Fill', 'LinSpace', 'Multinomial', 'OnesLike', 'RandomNormal', 'RandomUniform', 'Range', 'ZerosLike'],
};

/** The family of a tfjs kernel; `custom` is decided by the inventory section, not by name. */
export function familyOf(kernelName: string): Exclude<Family, 'custom'> {
  for (const [family, names] of Object.entries(MEMBERS)) if (names.includes(kernelName)) return family as Exclude<Family, 'custom'>;
  return 'other';
}

/** The README's table: kernels per family, with their names; `other` only when non-empty. */
export function familyTable(inv: KernelInventory): string {
  const byFamily = new Map<Family, string[]>(FAMILIES.map((f) => [f, []]));
  for (const name of Object.keys(inv.kernels)) byFamily.get(familyOf(name))?.push(name);
  byFamily.set('custom', Object.keys(inv.custom));
  const rows = FAMILIES.filter((f) => f !== 'other' || (byFamily.get(f) ?? []).length > 0).map((f) => {
    const names = byFamily.get(f) ?? [];
    return [f, names.length, names.length === 0 ? '—' : names.map((n) => `\`${n}\``).join(', ')];
  });
  const total = Object.keys(inv.kernels).length + Object.keys(inv.custom).length;
  rows.push(['**total**', total, `over ${inv.variants.length} zoo variants`]);
  return markdownTable(['family', 'kernels', 'names'], rows, ['l', 'r', 'l']);
}
