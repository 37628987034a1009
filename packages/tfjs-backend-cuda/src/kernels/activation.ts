/**
 * kernel-core's fused activation (SigattnActivation / SigattnActivationGrad, kernel-core
 * src/tfjs/activation-names.ts) on cuda: GELU (tanh approximation) and SiLU, one grid-stride launch
 * forward and one backward (cuda/activation.cu), 4 elements per step when the size and every pointer allow.
 */
import type * as tf from '@tensorflow/tfjs';
import { ACTIVATION_BWD, ACTIVATION_FWD, ACTIVATION_KINDS, GELU_TANH_A, GELU_TANH_C, type ActivationAttrs, type ActivationKind } from '@sigattn/kernel-core';
import type { CuPtr } from '@sigattn/kernel-core';
import { KernelParams } from '../params.js';
import { cuda, sizeOf, type Info } from './util.js';

const MODULE = 'activation';

/** The .cu kernel of one direction and kind, e.g. `activation_bwd_gelu_tanh_f32`. */
export function activationKernelName(direction: 'fwd' | 'bwd', kind: ActivationKind): string {
  if (!ACTIVATION_KINDS.includes(kind)) throw new Error(`cuda backend: SigattnActivation kind '${String(kind)}' is not one of ${ACTIVATION_KINDS.join(', ')}`);
  return `activation_${direction}_${kind}_f32`;
}

/** Whether the float4 path applies: whole groups of 4 and every pointer 16-byte aligned. */
export function activationVectorised(n: number, ptrs: readonly CuPtr[]): boolean {
  return n % 4 === 0 && ptrs.every((p) => p % 16n === 0n);
}

function checkFloat(op: string, inputs: Record<string, Info>): void {
  for (const [name, t] of Object.entries(inputs)) {
    if (t.dtype !== 'float32') throw new Error(`cuda backend: ${op} input ${name} has dtype ${t.dtype}, expected float32`);
  }
}

function launch(backend: unknown, direction: 'fwd' | 'bwd', kind: ActivationKind, x: Info, dy: Info | null): Info {
  const be = cuda(backend);
  const out = be.makeTensorInfo([...x.shape], 'float32');
  const n = sizeOf(x.shape);
  if (n === 0) return out;
  const ptrs = [be.ptr(out), be.ptr(x), dy === null ? 0n : be.ptr(dy)];
  const vec = activationVectorised(n, dy === null ? ptrs.slice(0, 2) : ptrs);
  const params = new KernelParams()
    .ptr(ptrs[0]).ptr(ptrs[1]).ptr(ptrs[2])
    .i64(n).f32(GELU_TANH_A).f32(GELU_TANH_C).i32(vec ? 1 : 0)
    .bytes();
  be.device.launch1d(MODULE, activationKernelName(direction, kind), vec ? n / 4 : n, params);
  return out;
}

const activationFwd: tf.KernelConfig = {
  kernelName: ACTIVATION_FWD,
  backendName: 'cuda',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x } = inputs as Record<'x', Info>;
    checkFloat(ACTIVATION_FWD, { x });
    return launch(backend, 'fwd', (attrs as unknown as ActivationAttrs).kind, x, null);
  },
};

const activationBwd: tf.KernelConfig = {
  kernelName: ACTIVATION_BWD,
  backendName: 'cuda',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as Record<'x' | 'dy', Info>;
    checkFloat(ACTIVATION_BWD, { x, dy });
    if (x.shape.join() !== dy.shape.join()) throw new Error(`cuda backend: ${ACTIVATION_BWD} dy has shape [${dy.shape.join(', ')}], expected x's [${x.shape.join(', ')}]`);
    return launch(backend, 'bwd', (attrs as unknown as ActivationAttrs).kind, x, dy);
  },
};

export const activationKernels: tf.KernelConfig[] = [activationFwd, activationBwd];
