/**
 * A caching allocator for device memory. cuMemFree synchronises the whole device and cuMemAlloc costs
 * tens of microseconds, so a training step that allocated and freed each tensor would stall the GPU
 * and the host thousands of times. Freed blocks go to a free list keyed by their rounded size and are
 * handed out again; the driver sees allocations only while the pool grows.
 *
 * Reuse is safe without events because every kernel and copy runs in order on one stream: work that
 * reads a block before it is freed is queued before any work that writes its next owner.
 */
export interface DeviceMemory {
  alloc(bytes: number): bigint;
  free(ptr: bigint): void;
}

export interface AllocatorStats {
  /** Bytes of blocks held by live tensors (rounded sizes). */
  bytesInUse: number;
  /** Bytes obtained from the driver and not returned (in use + cached). */
  bytesReserved: number;
  /** Largest bytesInUse seen since the last resetPeak(). */
  peakBytesInUse: number;
  driverAllocs: number;
  cacheHits: number;
}

const SMALL = 1 << 20;

/** Small blocks round to 512 B, larger ones to 1 MiB multiples above 1 MiB: bounded waste, few distinct sizes. */
export function roundBlockSize(bytes: number): number {
  if (bytes <= 0) return 512;
  if (bytes <= SMALL) return Math.ceil(bytes / 512) * 512;
  return Math.ceil(bytes / SMALL) * SMALL;
}

export class CachingAllocator {
  private readonly free = new Map<number, bigint[]>();
  private readonly sizes = new Map<bigint, number>();
  private readonly stats: AllocatorStats = { bytesInUse: 0, bytesReserved: 0, peakBytesInUse: 0, driverAllocs: 0, cacheHits: 0 };

  constructor(private readonly memory: DeviceMemory) {}

  alloc(bytes: number): bigint {
    const size = roundBlockSize(bytes);
    const cached = this.free.get(size)?.pop();
    let ptr: bigint;
    if (cached !== undefined) {
      ptr = cached;
      this.stats.cacheHits++;
    } else {
      ptr = this.fromDriver(size);
      this.stats.driverAllocs++;
      this.stats.bytesReserved += size;
    }
    this.sizes.set(ptr, size);
    this.stats.bytesInUse += size;
    this.stats.peakBytesInUse = Math.max(this.stats.peakBytesInUse, this.stats.bytesInUse);
    return ptr;
  }

  /** Out of memory with blocks cached: give the cache back to the driver and try once more. */
  private fromDriver(size: number): bigint {
    try {
      return this.memory.alloc(size);
    } catch (err) {
      if (this.cachedBytes() === 0) throw err;
      this.emptyCache();
      return this.memory.alloc(size);
    }
  }

  release(ptr: bigint): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) throw new Error(`CachingAllocator: 0x${ptr.toString(16)} was not allocated here (double free?)`);
    this.sizes.delete(ptr);
    this.stats.bytesInUse -= size;
    let list = this.free.get(size);
    if (list === undefined) {
      list = [];
      this.free.set(size, list);
    }
    list.push(ptr);
  }

  cachedBytes(): number {
    let total = 0;
    for (const [size, list] of this.free) total += size * list.length;
    return total;
  }

  /** Return every cached block to the driver (each cuMemFree synchronises the device). */
  emptyCache(): void {
    for (const [size, list] of this.free) {
      for (const ptr of list) {
        this.memory.free(ptr);
        this.stats.bytesReserved -= size;
      }
    }
    this.free.clear();
  }

  resetPeak(): void {
    this.stats.peakBytesInUse = this.stats.bytesInUse;
  }

  snapshot(): AllocatorStats {
    return { ...this.stats };
  }

  /** Free everything, live blocks included (backend disposal). */
  dispose(): void {
    this.emptyCache();
    for (const [ptr, size] of this.sizes) {
      this.memory.free(ptr);
      this.stats.bytesReserved -= size;
    }
    this.sizes.clear();
    this.stats.bytesInUse = 0;
  }
}
