/**
 * The GPU side of the backend: kernel-core's CudaDriver (the driver API through koffi), this package's
 * cubins (one module per `cuda/*.cu` file, loaded on first use), the caching allocator and the one
 * stream every kernel and copy runs on.
 *
 * The stream is the legacy default stream (0): kernel-core's flash kernels and the driver's plain
 * memset/memcpy calls then order themselves with our launches without events.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cudaDriver, type CudaDriver, type CuPtr } from '@sigattn/kernel-core';
import { CachingAllocator } from './allocator.js';

/** The `.cu` files of this package, one module each (build order; see build-main.ts). */
export const BACKEND_CUDA_SOURCES = ['elementwise.cu', 'reduce.cu', 'movement.cu', 'matmul.cu', 'attention_glue.cu', 'optimizer.cu', 'norm.cu', 'activation.cu'] as const;
export type ModuleName = (typeof BACKEND_CUDA_SOURCES)[number] extends `${infer M}.cu` ? M : never;

export const BACKEND_CUDA_SOURCE_DIR = fileURLToPath(new URL('../cuda/', import.meta.url));

/**
 * Where build-cuda writes this package's kernels: $SIGATTN_CUDA_BACKEND_BUILD if set, else the offline
 * bundle's asset copy, else the source tree's cuda/build.
 */
export function backendBuildDir(): string {
  if (process.env.SIGATTN_CUDA_BACKEND_BUILD) return process.env.SIGATTN_CUDA_BACKEND_BUILD;
  if (process.env.SIGATTN_ASSETS) return path.join(process.env.SIGATTN_ASSETS, 'packages/tfjs-backend-cuda/cuda/build');
  return path.join(BACKEND_CUDA_SOURCE_DIR, 'build');
}

/** Threads per block of the package's 1-D kernels (elementwise, copies): a multiple of the warp. */
export const BLOCK = 256;
/** Grid cap for grid-stride loops: enough blocks to fill any current GPU several times over. */
const MAX_BLOCKS = 65535;

export class CudaDevice {
  readonly stream: CuPtr = 0n;
  readonly allocator: CachingAllocator;
  private readonly modules = new Map<string, CuPtr>();
  private readonly functions = new Map<string, CuPtr>();
  /** Kernel launches since the device opened (the step profile reports them). */
  launches = 0;
  /** While tracing (startTrace … stopTrace): CUDA events around each launch or span, read after the work ends. */
  private traceEvents: { name: string; start: CuPtr; end: CuPtr }[] | null = null;

  constructor(
    readonly driver: CudaDriver = cudaDriver(),
    readonly buildDir: string = backendBuildDir(),
  ) {
    this.allocator = new CachingAllocator({ alloc: (n) => driver.alloc(n), free: (p) => driver.free(p) });
  }

  private module(name: ModuleName): CuPtr {
    const cached = this.modules.get(name);
    if (cached !== undefined) return cached;
    const [major] = this.driver.info.computeCapability;
    const file = major === 9 ? path.join(this.buildDir, 'sm_90', `${name}.cubin`)
      : major === 8 ? path.join(this.buildDir, 'sm_80', `${name}.cubin`)
      : path.join(this.buildDir, 'ptx', `${name}.ptx`);
    if (!existsSync(file)) {
      throw new Error(`cuda backend kernels not built: ${file} is missing; run \`npx nx run tfjs-backend-cuda:build-cuda\` (or set SIGATTN_CUDA_BACKEND_BUILD)`);
    }
    let image: Uint8Array = readFileSync(file);
    if (file.endsWith('.ptx')) image = Buffer.concat([image, Buffer.from([0])]);
    const mod = this.driver.loadModule(image, file);
    this.modules.set(name, mod);
    return mod;
  }

  /** The CUfunction `kernel` of module `mod` (cached). */
  fn(mod: ModuleName, kernel: string): CuPtr {
    const key = `${mod}/${kernel}`;
    let f = this.functions.get(key);
    if (f === undefined) {
      f = this.driver.getFunction(this.module(mod), kernel);
      this.functions.set(key, f);
    }
    return f;
  }

  /** Opt a kernel into more than 48 KiB of dynamic shared memory. */
  setMaxDynamicShared(mod: ModuleName, kernel: string, bytes: number): void {
    this.driver.setMaxDynamicShared(this.fn(mod, kernel), bytes);
  }

  /** Launch `kernel` with one by-value struct argument (KernelParams.bytes()). */
  launch(mod: ModuleName, kernel: string, grid: readonly [number, number?, number?], block: number, params: Uint8Array, smem = 0): void {
    this.launches++;
    const fn = this.fn(mod, kernel);
    this.span(kernel, () => this.driver.launchFast(fn, grid[0], grid[1] ?? 1, grid[2] ?? 1, block, smem, [params], this.stream, kernel));
  }

  /**
   * Run `f` (which queues GPU work on the stream) as one named span of the trace, if a trace is on.
   * Work queued outside `launch` (cuBLAS, kernel-core's flash kernels) is traced through this.
   */
  span(name: string, f: () => void): void {
    if (this.traceEvents === null) {
      f();
      return;
    }
    const start = this.driver.createEvent();
    const end = this.driver.createEvent();
    this.driver.record(start, this.stream);
    f();
    this.driver.record(end, this.stream);
    this.traceEvents.push({ name, start, end });
  }

  /** Start recording a GPU-time trace of every launch and span (events add ~2 µs of host time each). */
  startTrace(): void {
    this.traceEvents = [];
  }

  /**
   * Wait for the traced work, then return GPU milliseconds per span name (calls, total), plus the wall
   * span from the first start to the last end and the sum of all spans (their difference is GPU idle time).
   */
  stopTrace(): { byName: Map<string, { calls: number; ms: number }>; busyMs: number; spanMs: number } {
    const events = this.traceEvents ?? [];
    this.traceEvents = null;
    this.synchronize();
    const byName = new Map<string, { calls: number; ms: number }>();
    let busyMs = 0;
    for (const e of events) {
      const ms = this.driver.elapsedMs(e.start, e.end);
      busyMs += ms;
      const agg = byName.get(e.name) ?? { calls: 0, ms: 0 };
      byName.set(e.name, { calls: agg.calls + 1, ms: agg.ms + ms });
    }
    const spanMs = events.length ? this.driver.elapsedMs(events[0].start, events[events.length - 1].end) : 0;
    for (const e of events) {
      this.driver.destroyEvent(e.start);
      this.driver.destroyEvent(e.end);
    }
    return { byName, busyMs, spanMs };
  }

  /** Launch a grid-stride 1-D kernel over `n` elements (BLOCK threads per block). */
  launch1d(mod: ModuleName, kernel: string, n: number, params: Uint8Array): void {
    if (n === 0) return;
    this.launch(mod, kernel, [Math.min(Math.ceil(n / BLOCK), MAX_BLOCKS)], BLOCK, params);
  }

  alloc(bytes: number): CuPtr {
    return this.allocator.alloc(bytes);
  }

  release(ptr: CuPtr): void {
    this.allocator.release(ptr);
  }

  upload(dst: CuPtr, src: ArrayBufferView): void {
    if (src.byteLength > 0) this.driver.copyHtoDAsync(dst, src, src.byteLength, this.stream);
  }

  copy(dst: CuPtr, src: CuPtr, bytes: number): void {
    if (bytes > 0) this.driver.copyDtoDAsync(dst, src, bytes, this.stream);
  }

  /** Block the host until the stream is idle. */
  synchronize(): void {
    this.driver.syncStream(this.stream);
  }

  /** Resolve once the stream has finished the work queued so far, without blocking the event loop. */
  async idle(): Promise<void> {
    const event = this.driver.createEvent();
    try {
      this.driver.record(event, this.stream);
      // Poll: the context is current on this thread only, so a worker thread could not wait on it.
      let spins = 0;
      while (!this.driver.eventDone(event)) {
        await new Promise<void>((resolve) => (spins++ < 100 ? setImmediate(resolve) : setTimeout(resolve, 1)));
      }
    } finally {
      this.driver.destroyEvent(event);
    }
  }

  /** GPU milliseconds spent by the work `f` queues (events around it; waits for it to finish). */
  timeMs(f: () => void): number {
    const start = this.driver.createEvent();
    const end = this.driver.createEvent();
    try {
      this.driver.record(start, this.stream);
      f();
      this.driver.record(end, this.stream);
      return this.driver.elapsedMs(start, end);
    } finally {
      this.driver.destroyEvent(start);
      this.driver.destroyEvent(end);
    }
  }

  dispose(): void {
    this.synchronize();
    this.allocator.dispose();
    for (const mod of this.modules.values()) this.driver.unloadModule(mod);
    this.modules.clear();
    this.functions.clear();
  }
}
