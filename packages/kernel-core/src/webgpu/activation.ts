/// <reference types="@webgpu/types" />
/**
 * ACTIVATION_FWD / ACTIVATION_BWD (GELU tanh approximation and SiLU, src/tfjs/activation-names.ts) on the
 * tfjs 'webgpu' backend: one elementwise dispatch each way, recorded into the backend's open compute
 * pass (tfjs-pass.ts), instead of 9 + 28 (GELU) or 2 + 8 (SiLU) composed tfjs programs.
 *
 * The WGSL follows the contract's step list line for line. What float32 WGSL cannot match bit for bit:
 * tanh and the sigmoid are computed in float32 here (the contract rounds them from double; WGSL has no
 * f64), the compiler may contract a multiply and an add into an fma, and division is 2.5 ulp. tanh is
 * sign(i)·(1 − e)/(1 + e) with e = exp(−2|i|), and the sigmoid 1/(1 + e) or e/(1 + e) with e = exp(−|x|),
 * so neither overflows; both are accurate to a few ulps of 1, which is the scale they enter the results
 * at (t is added to 1, s multiplies x). test/webgpu-activation.test.ts states the bound.
 *
 * When the element count is a multiple of 4, each invocation handles one vec4 (the same code: every
 * step is componentwise), else one element.
 */
import * as tf from '@tensorflow/tfjs';
import { ACTIVATION_BWD, ACTIVATION_FWD, ACTIVATION_KINDS, GELU_TANH_A, GELU_TANH_C, type ActivationAttrs, type ActivationKind } from '../tfjs/activation-names.js';
import { FLAT_MAIN_WGSL } from './common.wgsl.js';
import { flatDispatch } from './host.js';
import { compiledKernel, dispatchInPass, emptyOutput, tensorBuffer, type WebGPUBackendInternals } from './tfjs-pass.js';

/** The WGSL kernels, by name (the webgpu profile and the dispatch test see these labels). */
export const ACTIVATION_WEBGPU_KERNELS = {
  fwd: (kind: ActivationKind, vec4: boolean) => `${ACTIVATION_FWD}/${kind}${vec4 ? '/vec4' : ''}`,
  bwd: (kind: ActivationKind, vec4: boolean) => `${ACTIVATION_BWD}/${kind}${vec4 ? '/vec4' : ''}`,
};

/** The constants exactly as float32 (the composed ops round them the same way), printed so WGSL parses them back to the same value. */
const f32 = (v: number) => `${Math.fround(v).toPrecision(9)}`;

/** Math on T (f32 or vec4<f32>), each step of the contract as one line. */
const MATH_WGSL = /* wgsl */ `
const GELU_A = T(${f32(GELU_TANH_A)});
const GELU_C = T(${f32(GELU_TANH_C)});

fn tanhF(a : T) -> T {
  let e = exp(T(-2.0) * abs(a));
  return sign(a) * (T(1.0) - e) / (T(1.0) + e);
}

fn sigmoidF(x : T) -> T {
  let e = exp(-abs(x));
  return select(e / (T(1.0) + e), T(1.0) / (T(1.0) + e), x >= T(0.0));
}

fn geluFwd(x : T) -> T {
  let x2 = x * x;
  let x3 = x2 * x;
  let k = x3 * GELU_A;
  let d = x + k;
  let i = d * GELU_C;
  let t = tanhF(i);
  let e = t + T(1.0);
  let h = x * T(0.5);
  return h * e;
}

// tfjs autodiff of geluFwd: y = h·e gives dh = dy·e and dt = dy·h; tanh's gradient (1 − t²)·dt; the
// products' gradients; x's five contributions summed in the order the tape adds them.
fn geluBwd(x : T, dy : T) -> T {
  let x2 = x * x;
  let x3 = x2 * x;
  let k = x3 * GELU_A;
  let d = x + k;
  let i = d * GELU_C;
  let t = tanhF(i);
  let e = t + T(1.0);
  let h = x * T(0.5);
  let dh = dy * e;
  let dt = dy * h;
  let di = (T(1.0) - t * t) * dt;
  let dd = di * GELU_C;
  let d3 = dd * GELU_A;
  let d2 = d3 * x;
  let fromX2 = d2 * x;
  return (((dh * T(0.5) + dd) + d3 * x2) + fromX2) + fromX2;
}

fn siluFwd(x : T) -> T { return x * sigmoidF(x); }

// y = x·s: dx = dy·s directly plus (dy·x)·(s·(1 − s)) through the sigmoid.
fn siluBwd(x : T, dy : T) -> T {
  let s = sigmoidF(x);
  return dy * s + (dy * x) * (s * (T(1.0) - s));
}
`;

function wgsl(kind: ActivationKind, backward: boolean, vec4: boolean): string {
  const T = vec4 ? 'vec4<f32>' : 'f32';
  const fn = kind === 'silu' ? 'silu' : 'gelu';
  return /* wgsl */ `
alias T = ${T};
struct Params { n : u32 }
@group(0) @binding(0) var<storage, read> x : array<T>;
${backward ? `@group(0) @binding(1) var<storage, read> dy : array<T>;
@group(0) @binding(2) var<storage, read_write> dx : array<T>;
@group(0) @binding(3) var<uniform> P : Params;` : `@group(0) @binding(1) var<storage, read_write> y : array<T>;
@group(0) @binding(2) var<uniform> P : Params;`}
${MATH_WGSL}
${FLAT_MAIN_WGSL}
  if (idx >= P.n) { return; }
  ${backward ? `dx[idx] = ${fn}Bwd(x[idx], dy[idx]);` : `y[idx] = ${fn}Fwd(x[idx]);`}
}
`;
}

function run(op: string, backward: boolean, { inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const be = backend as unknown as WebGPUBackendInternals;
  const { kind } = (attrs ?? {}) as unknown as ActivationAttrs;
  if (!ACTIVATION_KINDS.includes(kind)) throw new Error(`${op} (webgpu): kind '${String(kind)}' is not one of ${ACTIVATION_KINDS.join(', ')}`);
  const named: Record<string, tf.TensorInfo> = {};
  for (const name of backward ? ['x', 'dy'] : ['x']) {
    const t = inputs[name];
    if (t === undefined) throw new Error(`${op} (webgpu): input ${name} is missing`);
    if (t.dtype !== 'float32') throw new Error(`${op} (webgpu): ${name} has dtype ${t.dtype}, expected float32`);
    named[name] = t;
  }
  const shape = [...named.x.shape];
  if (backward && !tf.util.arraysEqual(named.dy.shape, shape)) {
    throw new Error(`${op} (webgpu): dy has shape [${named.dy.shape.join(', ')}] but x has [${shape.join(', ')}]`);
  }
  const n = tf.util.sizeFromShape(shape);
  if (n === 0) return emptyOutput(be, shape);
  const out = be.makeTensorInfo(shape, 'float32');
  named[backward ? 'dx' : 'y'] = out;
  const tensors = Object.entries(named).map(([name, info]) => ({ info, buffer: tensorBuffer(be, info, op, name) }));
  const vec4 = n % 4 === 0;
  const label = ACTIVATION_WEBGPU_KERNELS[backward ? 'bwd' : 'fwd'](kind, vec4);
  const items = vec4 ? n / 4 : n;
  dispatchInPass(be, compiledKernel(be.device, label, () => wgsl(kind, backward, vec4)), label, tensors,
    [{ type: 'uint32', data: [items] }], flatDispatch(items));
  return out;
}

export const activationFwdWebGPUConfig: tf.KernelConfig = {
  kernelName: ACTIVATION_FWD,
  backendName: 'webgpu',
  kernelFunc: (args) => run(ACTIVATION_FWD, false, args),
};

export const activationBwdWebGPUConfig: tf.KernelConfig = {
  kernelName: ACTIVATION_BWD,
  backendName: 'webgpu',
  kernelFunc: (args) => run(ACTIVATION_BWD, true, args),
};
