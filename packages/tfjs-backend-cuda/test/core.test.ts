/** The GPU-free parts of the backend's core: the kernel-parameter layout and the caching allocator. */
import { describe, expect, it } from 'vitest';
import { KernelParams } from '../src/params.js';
import { CachingAllocator, roundBlockSize } from '../src/allocator.js';

describe('KernelParams', () => {
  it('lays fields out at their natural alignment, as a C struct', () => {
    // struct { float* a; int n; long long m; float x; int s[3]; } → 8 + 4 (+4 pad) + 8 + 4 + 12 = 40 (+0) bytes
    const b = new KernelParams().ptr(0x1122334455667788n).i32(-3).i64(1 << 40).f32(0.5).i32s([7, 8], 3, -1).bytes();
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    expect(b.byteLength).toBe(40);
    expect(dv.getBigUint64(0, true)).toBe(0x1122334455667788n);
    expect(dv.getInt32(8, true)).toBe(-3);
    expect(dv.getBigInt64(16, true)).toBe(BigInt(1 << 40));
    expect(dv.getFloat32(24, true)).toBe(0.5);
    expect([dv.getInt32(28, true), dv.getInt32(32, true), dv.getInt32(36, true)]).toEqual([7, 8, -1]);
  });

  it('pads the struct to its alignment and refuses too many values', () => {
    expect(new KernelParams().ptr(1n).i32(2).bytes().byteLength).toBe(16);
    expect(new KernelParams().i32(1).bytes().byteLength).toBe(4);
    expect(() => new KernelParams().i32s([1, 2, 3], 2)).toThrow(/3 values for an int\[2\]/);
  });
});

describe('CachingAllocator', () => {
  function fakeMemory(limit = Infinity) {
    let next = 0x1000n;
    const live = new Map<bigint, number>();
    return {
      live,
      calls: { alloc: 0, free: 0 },
      alloc(bytes: number) {
        this.calls.alloc++;
        const used = [...live.values()].reduce((a, b) => a + b, 0);
        if (used + bytes > limit) throw new Error('out of memory');
        const p = next;
        next += BigInt(bytes);
        live.set(p, bytes);
        return p;
      },
      free(p: bigint) {
        this.calls.free++;
        if (!live.delete(p)) throw new Error('bad free');
      },
    };
  }

  it('rounds sizes to 512 B below 1 MiB and to 1 MiB above', () => {
    expect([1, 512, 513, 1 << 20, (1 << 20) + 1].map(roundBlockSize)).toEqual([512, 512, 1024, 1 << 20, 2 << 20]);
  });

  it('reuses a freed block of the same rounded size without calling the driver', () => {
    const mem = fakeMemory();
    const a = new CachingAllocator(mem);
    const p = a.alloc(1000);
    a.release(p);
    expect(a.alloc(700)).toBe(p); // both round to 1024
    expect(mem.calls).toEqual({ alloc: 1, free: 0 });
    const q = a.alloc(3000);
    expect(q).not.toBe(p);
    const s = a.snapshot();
    expect(s.bytesInUse).toBe(1024 + 3072);
    expect(s.cacheHits).toBe(1);
    expect(s.driverAllocs).toBe(2);
  });

  it('gives the cache back and retries when the driver is out of memory', () => {
    const mem = fakeMemory(4096);
    const a = new CachingAllocator(mem);
    a.release(a.alloc(3072));
    const p = a.alloc(2048); // 3072 cached + 2048 > 4096: the cache is freed, then the alloc succeeds
    expect(mem.live.get(p)).toBe(2048);
    expect(mem.calls.free).toBe(1);
    expect(a.snapshot().bytesReserved).toBe(2048);
  });

  it('tracks the peak and refuses a double free', () => {
    const a = new CachingAllocator(fakeMemory());
    const p = a.alloc(512);
    const q = a.alloc(512);
    a.release(p);
    a.resetPeak();
    expect(a.snapshot().peakBytesInUse).toBe(512);
    a.release(q);
    expect(() => a.release(q)).toThrow(/double free/);
    a.dispose();
    expect(a.snapshot().bytesReserved).toBe(0);
  });
});

describe('KernelParams growth', () => {
  it('keeps earlier fields when a large struct outgrows the first buffer', () => {
    const p = new KernelParams().ptr(42n);
    p.i64s(Array.from({ length: 60 }, (_, i) => i + 1), 60);
    const b = p.bytes();
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    expect(b.byteLength).toBe(8 + 480);
    expect(dv.getBigUint64(0, true)).toBe(42n);
    expect(dv.getBigInt64(8 + 59 * 8, true)).toBe(60n);
    expect(() => p.i64s(Array.from({ length: 600 }, () => 0), 600)).toThrow(/exceed 4096/);
  });
});

describe('CudaDevice GPU trace', () => {
  it('brackets each launch and span with events and sums their elapsed times by name', async () => {
    const { CudaDevice } = await import('../src/device.js');
    const { nullDriver } = await import('../src/testing/index.js');
    const { driver } = nullDriver();
    const recorded: bigint[] = [];
    const fake = Object.assign(Object.create(driver), {
      record: (e: bigint) => recorded.push(e),
      // every span lasts (end − start) "ms" in event ids: 1 per span here
      elapsedMs: (a: bigint, b: bigint) => Number(b - a),
    });
    const dev = new CudaDevice(fake, '/nonexistent');
    const fnCache = dev as unknown as { functions: Map<string, bigint> };
    fnCache.functions.set('elementwise/k1', 2n);
    dev.startTrace();
    dev.launch('elementwise', 'k1', [1], 32, new Uint8Array(4));
    dev.span('cublas_gemm', () => {});
    dev.launch('elementwise', 'k1', [1], 32, new Uint8Array(4));
    const t = dev.stopTrace();
    expect(recorded.length).toBe(6);
    expect([...t.byName]).toEqual([['k1', { calls: 2, ms: 2 }], ['cublas_gemm', { calls: 1, ms: 1 }]]);
    expect(t.busyMs).toBe(3);
    expect(t.spanMs).toBe(5); // first start to last end
    dev.launch('elementwise', 'k1', [1], 32, new Uint8Array(4)); // tracing off again: no events
    expect(recorded.length).toBe(6);
  });
});
