/**
 * A CUDA driver stand-in that does no GPU work: allocations return distinct fake addresses, launches and
 * copies only count, reads return zeros. Running the real backend on it measures what a training step
 * costs on the host alone (tfjs's engine, the kernels' JavaScript, argument packing), on any machine —
 * the number the GPU cannot hide when kernels are short. Values are meaningless; only timings and
 * counts are.
 */
import type { CudaDriver, CuPtr } from '@sigattn/kernel-core';

export interface NullDriverCounts {
  launches: number;
  uploads: number;
  downloads: number;
  allocs: number;
}

export function nullDriver(): { driver: CudaDriver; counts: NullDriverCounts } {
  const counts: NullDriverCounts = { launches: 0, uploads: 0, downloads: 0, allocs: 0 };
  let next = 0x10000n;
  let events = 1n;
  const driver = {
    info: { ordinal: 0, name: 'null driver (no GPU work)', computeCapability: [9, 0], smCount: 132, maxSharedPerBlockOptin: 232448, driverVersion: 0 },
    alloc(bytes: number): CuPtr {
      counts.allocs++;
      const p = next;
      next += BigInt(Math.ceil(Math.max(bytes, 1) / 256) * 256);
      return p;
    },
    free(): void {},
    loadModule: () => 1n,
    unloadModule(): void {},
    getFunction: () => 2n,
    setMaxDynamicShared(): void {},
    readGlobal: (_m: CuPtr, _n: string, bytes: number) => Buffer.alloc(bytes),
    launch(): void {
      counts.launches++;
    },
    launchFast(): void {
      counts.launches++;
    },
    copyHtoD(): void {
      counts.uploads++;
    },
    copyHtoDAsync(): void {
      counts.uploads++;
    },
    copyDtoDAsync(): void {},
    copyDtoH(dst: ArrayBufferView): void {
      counts.downloads++;
      new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).fill(0);
    },
    fill16(): void {},
    fill32(): void {},
    synchronize(): void {},
    syncStream(): void {},
    createStream: () => 0n,
    destroyStream(): void {},
    createEvent: () => events++,
    record(): void {},
    eventDone: () => true,
    elapsedMs: () => 0,
    destroyEvent(): void {},
    memInfo: () => ({ free: 1 << 30, total: 1 << 30 }),
  };
  return { driver: driver as unknown as CudaDriver, counts };
}
