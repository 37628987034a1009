/// <reference types="@webgpu/types" />
/**
 * Counts what one training step costs on tfjs' webgpu backend, independent of the adapter: every
 * WebGPU API call the step makes (dispatches, bind groups, buffers, pipelines, submits, uploads,
 * read-backs) and every tfjs kernel it runs, each API call attributed to the kernel that made it.
 *
 * How: the methods of Dawn's GPUDevice, GPUQueue, GPUCommandEncoder, GPUComputePassEncoder,
 * GPUComputePipeline and GPUBuffer prototypes are wrapped (so tfjs' device and kernel-core's WGSL
 * host on the same device are both seen), and so is the tfjs engine's `runKernelFunc`, through which
 * every kernel runs. `tf.profile` is not used: it times each kernel through `backend.time()`, which on
 * webgpu ends the compute pass after every program and (where timestamp queries are missing) reads
 * every output back, i.e. it changes the very submits and read-backs counted here.
 *
 * Counts are what matter: on a CPU adapter (lavapipe) the milliseconds are not GPU times.
 */
import * as tf from '@tensorflow/tfjs';
import { trainStep, warmupCosine, type Batch, type Optimizer, type ZooModel } from '@sigattn/model-zoo';

/** The WebGPU calls counted. `mapAsync` is a read-back (tfjs uploads through mappedAtCreation buffers). */
export const API_CALLS = [
  'dispatchWorkgroups',
  'createBindGroup',
  'getBindGroupLayout',
  'createBuffer',
  'createBuffer(mapped)',
  'destroy',
  'writeBuffer',
  'copyBufferToBuffer',
  'beginComputePass',
  'createCommandEncoder',
  'submit',
  'mapAsync',
  'createShaderModule',
  'createComputePipeline',
  'createComputePipelineAsync',
] as const;
export type ApiCall = (typeof API_CALLS)[number];

export interface ApiTally {
  calls: number;
  /** createBuffer: bytes allocated; writeBuffer / copyBufferToBuffer: bytes moved; mapAsync: bytes mapped. */
  bytes: number;
  /** Host milliseconds inside the call; for mapAsync, from the call until its promise settles (the wait). */
  ms: number;
  /** dispatchWorkgroups only: workgroups launched (x·y·z summed). */
  workgroups: number;
}

export interface KernelTally {
  calls: number;
  /** Host milliseconds inside the kernel function, nested kernels excluded. */
  ms: number;
  /** API calls made while this kernel was the innermost one running. */
  api: Partial<Record<ApiCall, number>>;
  /** Their bytes, as ApiTally.bytes. */
  bytes: Partial<Record<ApiCall, number>>;
}

/** What a stage of the step (forward, optimizer, …) did: its kernels and their API calls. */
export interface StageTally {
  kernels: number;
  api: Partial<Record<ApiCall, number>>;
  bytes: Partial<Record<ApiCall, number>>;
}

/** What one interval (a training step) did. Kernel `OUTSIDE_KERNELS` holds calls made outside any kernel. */
export interface Tallies {
  api: Record<ApiCall, ApiTally>;
  kernels: Record<string, KernelTally>;
  stages: Record<string, StageTally>;
}

/** The stage calls belong to unless `inStage` says otherwise. */
export const DEFAULT_STAGE = 'other';

export const OUTSIDE_KERNELS = '(outside kernels)';

type Method = (...args: unknown[]) => unknown;
interface Patch { target: Record<string, unknown>; name: string; had: boolean; original: unknown }

interface EngineInternals {
  runKernelFunc: (params: { kernelName?: string }) => unknown;
  state: { activeScope: { name: string } | null };
}

function emptyApi(): Record<ApiCall, ApiTally> {
  return Object.fromEntries(API_CALLS.map((c) => [c, { calls: 0, bytes: 0, ms: 0, workgroups: 0 }])) as Record<ApiCall, ApiTally>;
}

function globalClass(name: string): { prototype: Record<string, unknown> } {
  const cls = (globalThis as Record<string, unknown>)[name] as { prototype: Record<string, unknown> } | undefined;
  if (cls === undefined) throw new Error(`${name} is not defined: initialise the webgpu backend (initBackend('webgpu')) before installing the counter`);
  return cls;
}

/**
 * Wraps the WebGPU prototypes and the tfjs engine until `uninstall()`. One at a time per process.
 * Read `tallies()` and `reset()` around the interval to measure.
 */
export class WebGPUCallCounter {
  private api = emptyApi();
  private kernels = new Map<string, KernelTally>();
  private stages = new Map<string, StageTally>();
  private stage = DEFAULT_STAGE;
  private readonly stack: { name: string; t0: number; childMs: number }[] = [];
  private readonly patches: Patch[] = [];
  private static installed = false;

  private constructor() {}

  static install(): WebGPUCallCounter {
    if (WebGPUCallCounter.installed) throw new Error('a WebGPUCallCounter is already installed; uninstall it first');
    const c = new WebGPUCallCounter();
    c.patchWebGPU();
    c.patchEngine();
    WebGPUCallCounter.installed = true;
    return c;
  }

  uninstall(): void {
    for (const p of this.patches.reverse()) {
      if (p.had) p.target[p.name] = p.original;
      else delete p.target[p.name];
    }
    this.patches.length = 0;
    WebGPUCallCounter.installed = false;
  }

  reset(): void {
    this.api = emptyApi();
    this.kernels = new Map();
    this.stages = new Map();
  }

  /** Runs `f` (synchronous) with its calls and kernels attributed to stage `name`. */
  inStage<T>(name: string, f: () => T): T {
    const outer = this.stage;
    this.stage = name;
    try {
      return f();
    } finally {
      this.stage = outer;
    }
  }

  /** A copy of the tallies since the last reset. */
  tallies(): Tallies {
    const kernels: Record<string, KernelTally> = {};
    for (const [name, k] of this.kernels) kernels[name] = { calls: k.calls, ms: k.ms, api: { ...k.api }, bytes: { ...k.bytes } };
    const stages: Record<string, StageTally> = {};
    for (const [name, t] of this.stages) stages[name] = { kernels: t.kernels, api: { ...t.api }, bytes: { ...t.bytes } };
    return { api: structuredClone(this.api), kernels, stages };
  }

  private stageTally(): StageTally {
    let t = this.stages.get(this.stage);
    if (t === undefined) {
      t = { kernels: 0, api: {}, bytes: {} };
      this.stages.set(this.stage, t);
    }
    return t;
  }

  private kernel(name: string): KernelTally {
    let k = this.kernels.get(name);
    if (k === undefined) {
      k = { calls: 0, ms: 0, api: {}, bytes: {} };
      this.kernels.set(name, k);
    }
    return k;
  }

  private count(call: ApiCall, ms: number, bytes = 0, workgroups = 0): void {
    const t = this.api[call];
    t.calls++;
    t.ms += ms;
    t.bytes += bytes;
    t.workgroups += workgroups;
    const owner = this.kernel(this.stack.length > 0 ? this.stack[this.stack.length - 1].name : OUTSIDE_KERNELS);
    const stage = this.stageTally();
    for (const tally of [owner, stage]) {
      tally.api[call] = (tally.api[call] ?? 0) + 1;
      if (bytes !== 0) tally.bytes[call] = (tally.bytes[call] ?? 0) + bytes;
    }
  }

  private wrap(target: Record<string, unknown>, name: string, onCall: (args: unknown[], ms: number, result: unknown, self: unknown) => void): void {
    const had = Object.prototype.hasOwnProperty.call(target, name);
    const original = target[name] as Method;
    if (typeof original !== 'function') throw new Error(`cannot wrap ${name}: not a method of its prototype in this Dawn build`);
    this.patches.push({ target, name, had, original });
    target[name] = function wrapped(this: unknown, ...args: unknown[]): unknown {
      const t0 = performance.now();
      const result = original.apply(this, args);
      onCall(args, performance.now() - t0, result, this);
      return result;
    };
  }

  private patchWebGPU(): void {
    const device = globalClass('GPUDevice').prototype;
    const queue = globalClass('GPUQueue').prototype;
    const encoder = globalClass('GPUCommandEncoder').prototype;
    const pass = globalClass('GPUComputePassEncoder').prototype;
    const pipeline = globalClass('GPUComputePipeline').prototype;
    const buffer = globalClass('GPUBuffer').prototype;
    const simple = (target: Record<string, unknown>, name: ApiCall): void => this.wrap(target, name, (_a, ms) => this.count(name, ms));
    this.wrap(device, 'createBuffer', (args, ms) => {
      const d = args[0] as GPUBufferDescriptor;
      this.count(d.mappedAtCreation === true ? 'createBuffer(mapped)' : 'createBuffer', ms, d.size);
    });
    simple(device, 'createBindGroup');
    simple(device, 'createShaderModule');
    simple(device, 'createComputePipeline');
    simple(device, 'createComputePipelineAsync');
    simple(device, 'createCommandEncoder');
    simple(pipeline, 'getBindGroupLayout');
    simple(queue, 'submit');
    this.wrap(queue, 'writeBuffer', (args, ms) => {
      const [, , data, , size] = args as [GPUBuffer, number, ArrayBufferView | ArrayBuffer, number | undefined, number | undefined];
      const elementBytes = ArrayBuffer.isView(data) && 'BYTES_PER_ELEMENT' in data ? (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT : 1;
      this.count('writeBuffer', ms, size !== undefined ? size * elementBytes : data.byteLength);
    });
    simple(encoder, 'beginComputePass');
    this.wrap(encoder, 'copyBufferToBuffer', (args, ms) => {
      // (src, srcOffset, dst, dstOffset, size) or the newer (src, dst, size?) form.
      const size = args.length >= 5 ? (args[4] as number) : typeof args[2] === 'number' ? (args[2] as number) : (args[0] as GPUBuffer).size;
      this.count('copyBufferToBuffer', ms, size);
    });
    this.wrap(pass, 'dispatchWorkgroups', (args, ms) => {
      const [x, y, z] = args as [number, number | undefined, number | undefined];
      this.count('dispatchWorkgroups', ms, 0, x * (y ?? 1) * (z ?? 1));
    });
    simple(buffer, 'destroy');
    // mapAsync: counted when called, timed until it settles (the host waits for the GPU there).
    const original = buffer.mapAsync as (this: GPUBuffer, ...a: unknown[]) => Promise<void>;
    this.patches.push({ target: buffer, name: 'mapAsync', had: Object.prototype.hasOwnProperty.call(buffer, 'mapAsync'), original });
    const started = (size: number): ApiTally => {
      this.count('mapAsync', 0, size);
      return this.api.mapAsync;
    };
    // reset() may have replaced the tallies meanwhile; add the wait to the live ones only.
    const settled = (tally: ApiTally, ms: number): void => {
      if (this.api.mapAsync === tally) tally.ms += ms;
    };
    buffer.mapAsync = function mapAsync(this: GPUBuffer, ...args: unknown[]): Promise<void> {
      const t0 = performance.now();
      const tally = started(this.size);
      return original.apply(this, args).finally(() => settled(tally, performance.now() - t0));
    };
  }

  private patchEngine(): void {
    const engine = tf.engine() as unknown as EngineInternals & Record<string, unknown>;
    const had = Object.prototype.hasOwnProperty.call(engine, 'runKernelFunc');
    const original = engine.runKernelFunc;
    this.patches.push({ target: engine, name: 'runKernelFunc', had, original });
    const enter = (name: string): { name: string; t0: number; childMs: number } => {
      const frame = { name, t0: performance.now(), childMs: 0 };
      this.stack.push(frame);
      return frame;
    };
    const leave = (frame: { name: string; t0: number; childMs: number }): void => {
      this.stack.pop();
      const total = performance.now() - frame.t0;
      const k = this.kernel(frame.name);
      k.calls++;
      this.stageTally().kernels++;
      k.ms += total - frame.childMs;
      if (this.stack.length > 0) this.stack[this.stack.length - 1].childMs += total;
    };
    engine.runKernelFunc = function runKernelFunc(this: EngineInternals, params: { kernelName?: string }): unknown {
      // A registered kernel carries its name; a custom-gradient op runs under its scope's name.
      const frame = enter(params.kernelName ?? this.state.activeScope?.name ?? '(custom op)');
      try {
        return original.call(this, params);
      } finally {
        leave(frame);
      }
    };
  }
}

/** The webgpu backend's own state, read between steps (fields of tfjs-backend-webgpu 4.22's WebGPUBackend). */
export interface BackendState {
  /** Compiled tfjs programs (pipelineCache keys). */
  programCache: number;
  numBytesInGPU: number;
  numBytesAllocatedInGPU: number;
  usedBuffers: number;
  freeBuffers: number;
}

interface WebGPUBackendInternals {
  pipelineCache: Record<string, unknown>;
  bufferManager: { getNumUsedBuffers(): number; getNumFreeBuffers(): number };
  memory(): { numBytesInGPU: number; numBytesAllocatedInGPU: number };
}

export function webgpuBackendState(): BackendState {
  if (tf.getBackend() !== 'webgpu') throw new Error(`the active tfjs backend is ${tf.getBackend()}, not webgpu`);
  const be = tf.backend() as unknown as WebGPUBackendInternals;
  const mem = be.memory();
  return {
    programCache: Object.keys(be.pipelineCache).length,
    numBytesInGPU: mem.numBytesInGPU,
    numBytesAllocatedInGPU: mem.numBytesAllocatedInGPU,
    usedBuffers: be.bufferManager.getNumUsedBuffers(),
    freeBuffers: be.bufferManager.getNumFreeBuffers(),
  };
}

/** Every WEBGPU_* tfjs flag registered (tfjs-backend-webgpu's flags_webgpu.ts) with its value now. */
export function webgpuFlags(): Record<string, number | boolean | string> {
  const env = tf.env() as unknown as { getFlags(): Record<string, unknown>; flagRegistry: Record<string, unknown> };
  const names = Object.keys(env.flagRegistry).filter((n) => n.startsWith('WEBGPU_')).sort();
  return Object.fromEntries(names.map((n) => [n, tf.env().get(n)]));
}

export interface StepRecord {
  /** 'warmup' steps compile programs and fill the buffer pool; 'profiled' steps are the steady state. */
  phase: 'warmup' | 'profiled';
  wallMs: number;
  loss: number;
  tallies: Tallies;
  backend: BackendState;
  /** tf.memory().numTensors after the step (growth = a leak). */
  numTensors: number;
}

export interface ProfileOptions {
  warmup: number;
  steps: number;
  /** Peak lr of the runner's schedule (linear warm-up over the first steps, then cosine). */
  lr?: number;
  clip?: number;
}

/**
 * Runs `warmup + steps` training steps the way the runner's loop does (a fresh batch per step, the
 * zoo's trainStep with the scheduled lr, the batch disposed after the step) and records each one.
 */
export async function profileTrainingSteps(
  counter: WebGPUCallCounter,
  model: ZooModel,
  optimizer: Optimizer,
  makeBatch: (step: number) => Batch,
  o: ProfileOptions,
): Promise<StepRecord[]> {
  const total = o.warmup + o.steps;
  const schedule = { peak: o.lr ?? 0.003, warmupSteps: Math.max(1, Math.floor(total / 2)), totalSteps: total, finalFraction: 0.1 };
  const records: StepRecord[] = [];
  // Attribute the forward pass (the model's batchLoss) and the update (the optimiser's step); the rest of
  // trainStep is the backward pass, the loss read-back and disposal.
  const restore = [
    inStageWhileCalled(counter, model as unknown as Record<string, unknown>, 'batchLoss', STAGES.forward),
    inStageWhileCalled(counter, optimizer as unknown as Record<string, unknown>, 'step', STAGES.optimizer),
  ];
  try {
    for (let step = 0; step < total; step++) {
      counter.reset();
      const t0 = performance.now();
      const batch = makeBatch(step);
      let loss: number;
      try {
        loss = await trainStep(model, batch, optimizer, { step, totalSteps: total, lr: warmupCosine(schedule, step), clip: o.clip });
      } finally {
        tf.dispose(batch as tf.TensorContainer);
      }
      const wallMs = performance.now() - t0;
      records.push({
        phase: step < o.warmup ? 'warmup' : 'profiled',
        wallMs,
        loss,
        tallies: counter.tallies(),
        backend: webgpuBackendState(),
        numTensors: tf.memory().numTensors,
      });
    }
  } finally {
    restore.forEach((undo) => undo());
  }
  return records;
}

/** Make `obj[method]` (synchronous) run in `stage`; returns the undo. */
function inStageWhileCalled(counter: WebGPUCallCounter, obj: Record<string, unknown>, method: string, stage: string): () => void {
  const own = Object.getOwnPropertyDescriptor(obj, method);
  const original = obj[method] as Method;
  obj[method] = (...args: unknown[]) => counter.inStage(stage, () => original.apply(obj, args));
  return () => {
    if (own !== undefined) Object.defineProperty(obj, method, own);
    else delete obj[method];
  };
}

/** The stages profileTrainingSteps attributes; everything else in a step lands in DEFAULT_STAGE. */
export const STAGES = { forward: 'forward (batchLoss)', optimizer: 'optimizer step' } as const;

/** GPU time of one tfjs kernel name over a `tf.profile`d step. */
export interface KernelTime {
  name: string;
  calls: number;
  /** Summed GPU ms of the kernel's programs (timestamp queries); 0 where the device has none. */
  ms: number;
  /** The single costliest call: its ms and input shapes. */
  maxMs: number;
  maxShapes: string;
}

/**
 * Runs `run` under `tf.profile` and sums the per-kernel GPU times tfjs-backend-webgpu measures with
 * timestamp queries (one compute pass and one query read-back per program, so the profiled step is
 * slower than a normal one: compare kernels with each other, not with the wall time). Kernels that
 * record outside tfjs' program runner, such as kernel-core's WGSL attention, get no time here.
 */
export async function profileKernelTimes(run: () => Promise<number>): Promise<{ timestampQuery: boolean; kernels: KernelTime[] }> {
  const timestampQuery = (tf.backend() as unknown as { supportTimestampQuery?: boolean }).supportTimestampQuery === true;
  const info = await tf.profile(run);
  const byName = new Map<string, KernelTime>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const t = byName.get(k.name) ?? { name: k.name, calls: 0, ms: 0, maxMs: -1, maxShapes: '' };
    t.calls++;
    t.ms += ms;
    if (ms > t.maxMs) {
      t.maxMs = ms;
      t.maxShapes = k.inputShapes.map((s) => (s === null ? '-' : `[${s.join(',')}]`)).join(' ');
    }
    byName.set(k.name, t);
  }
  return { timestampQuery, kernels: [...byName.values()].sort((a, b) => b.ms - a.ms || b.calls - a.calls) };
}
