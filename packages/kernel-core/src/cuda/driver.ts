/**
 * CUDA driver API through koffi (no node-gyp, no toolkit at run time: only libcuda.so.1, which the
 * NVIDIA driver installs). Every CUresult != 0 becomes a CudaError naming the call that failed and
 * the driver's own name and description for the code.
 *
 * Handles (context, module, function, stream, event) are opaque pointers, which koffi 3 returns as
 * BigInt; device pointers (CUdeviceptr) are uint64 and also kept as BigInt.
 */
import koffi from 'koffi';

export class CudaError extends Error {
  override name = 'CudaError';
  constructor(
    message: string,
    readonly call: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** Thrown when libcuda.so.1 cannot be loaded or cuInit finds no usable device. */
/** No libcuda on this machine: the user's to fix, so CLIs print the one line and exit 2 (common's runMain). */
export class NoCudaDriverError extends CudaError {
  override name = 'NoCudaDriverError';
  readonly exitCode = 2;
}

export type CuPtr = bigint;

// CUfunction_attribute / CUdevice_attribute / CUevent_flags values from cuda.h.
export const CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
export const CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
export const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
export const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
export const CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
const CUDA_ERROR_NO_DEVICE = 100;
const CUDA_ERROR_NOT_READY = 600;

type Fn = (...args: unknown[]) => number;

const PROTOTYPES = {
  cuInit: 'int cuInit(unsigned int flags)',
  cuDriverGetVersion: 'int cuDriverGetVersion(_Out_ int *version)',
  cuGetErrorName: 'int cuGetErrorName(int error, _Out_ const char **str)',
  cuGetErrorString: 'int cuGetErrorString(int error, _Out_ const char **str)',
  cuDeviceGetCount: 'int cuDeviceGetCount(_Out_ int *count)',
  cuDeviceGet: 'int cuDeviceGet(_Out_ int *device, int ordinal)',
  cuDeviceGetName: 'int cuDeviceGetName(_Out_ uint8_t *name, int len, int device)',
  cuDeviceGetAttribute: 'int cuDeviceGetAttribute(_Out_ int *value, int attrib, int device)',
  cuDevicePrimaryCtxRetain: 'int cuDevicePrimaryCtxRetain(_Out_ void **ctx, int device)',
  cuDevicePrimaryCtxRelease: 'int cuDevicePrimaryCtxRelease_v2(int device)',
  cuCtxSetCurrent: 'int cuCtxSetCurrent(void *ctx)',
  cuCtxSynchronize: 'int cuCtxSynchronize()',
  cuModuleLoadData: 'int cuModuleLoadData(_Out_ void **module, const void *image)',
  cuModuleUnload: 'int cuModuleUnload(void *module)',
  cuModuleGetFunction: 'int cuModuleGetFunction(_Out_ void **fn, void *module, const char *name)',
  cuModuleGetGlobal: 'int cuModuleGetGlobal_v2(_Out_ uint64_t *dptr, _Out_ size_t *bytes, void *module, const char *name)',
  cuFuncSetAttribute: 'int cuFuncSetAttribute(void *fn, int attrib, int value)',
  cuMemAlloc: 'int cuMemAlloc_v2(_Out_ uint64_t *dptr, size_t bytes)',
  cuMemFree: 'int cuMemFree_v2(uint64_t dptr)',
  cuMemcpyHtoD: 'int cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t bytes)',
  cuMemcpyDtoH: 'int cuMemcpyDtoH_v2(_Out_ void *dst, uint64_t src, size_t bytes)',
  cuMemcpyHtoDAsync: 'int cuMemcpyHtoDAsync_v2(uint64_t dst, const void *src, size_t bytes, void *stream)',
  cuMemcpyDtoDAsync: 'int cuMemcpyDtoDAsync_v2(uint64_t dst, uint64_t src, size_t bytes, void *stream)',
  cuMemGetInfo: 'int cuMemGetInfo_v2(_Out_ size_t *free, _Out_ size_t *total)',
  cuMemsetD16: 'int cuMemsetD16_v2(uint64_t dst, uint16_t value, size_t count)',
  cuMemsetD32: 'int cuMemsetD32_v2(uint64_t dst, uint32_t value, size_t count)',
  cuLaunchKernel:
    'int cuLaunchKernel(void *fn, uint32_t gx, uint32_t gy, uint32_t gz, uint32_t bx, uint32_t by, uint32_t bz, ' +
    'uint32_t smem, void *stream, void **params, void **extra)',
  cuStreamCreate: 'int cuStreamCreate(_Out_ void **stream, unsigned int flags)',
  cuStreamSynchronize: 'int cuStreamSynchronize(void *stream)',
  cuStreamDestroy: 'int cuStreamDestroy_v2(void *stream)',
  cuEventCreate: 'int cuEventCreate(_Out_ void **event, unsigned int flags)',
  cuEventRecord: 'int cuEventRecord(void *event, void *stream)',
  cuEventSynchronize: 'int cuEventSynchronize(void *event)',
  cuEventQuery: 'int cuEventQuery(void *event)',
  cuEventElapsedTime: 'int cuEventElapsedTime(_Out_ float *ms, void *start, void *end)',
  cuEventDestroy: 'int cuEventDestroy_v2(void *event)',
  cuTensorMapEncodeTiled:
    'int cuTensorMapEncodeTiled(_Out_ uint8_t *map, int dtype, uint32_t rank, uint64_t address, const uint64_t *dims, ' +
    'const uint64_t *strides, const uint32_t *box, const uint32_t *elementStrides, int interleave, int swizzle, int l2, int oobFill)',
} as const;

// CUtensorMapDataType / CUtensorMapSwizzle / CUtensorMapL2promotion values from cuda.h.
const CU_TENSOR_MAP_DATA_TYPE_FLOAT16 = 6;
const CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 = 9;
const CU_TENSOR_MAP_SWIZZLE_128B = 3;
const CU_TENSOR_MAP_L2_PROMOTION_L2_128B = 2;

type Api = { [K in keyof typeof PROTOTYPES]: Fn };

export interface DeviceInfo {
  ordinal: number;
  name: string;
  computeCapability: [number, number];
  smCount: number;
  maxSharedPerBlockOptin: number;
  driverVersion: number;
}

/** One device's primary context plus the raw API, with every call checked. */
export class CudaDriver {
  readonly info: DeviceInfo;
  private readonly ctx: CuPtr;

  private constructor(
    private readonly api: Api,
    ordinal: number,
  ) {
    const dev = this.out('cuDeviceGet', 'int', ordinal);
    this.ctx = this.out('cuDevicePrimaryCtxRetain', 'void *', dev) as CuPtr;
    this.check('cuCtxSetCurrent', this.api.cuCtxSetCurrent(this.ctx));
    const nameBuf = Buffer.alloc(256);
    this.check('cuDeviceGetName', this.api.cuDeviceGetName(nameBuf, nameBuf.length, dev));
    const attr = (a: number) => this.out('cuDeviceGetAttribute', 'int', a, dev) as number;
    this.info = {
      ordinal,
      name: nameBuf.toString('utf8', 0, nameBuf.indexOf(0)),
      computeCapability: [attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR), attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)],
      smCount: attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT),
      maxSharedPerBlockOptin: attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN),
      driverVersion: this.out('cuDriverGetVersion', 'int') as number,
    };
  }

  /**
   * Load libcuda (default `libcuda.so.1`, or $SIGATTN_LIBCUDA), cuInit, and take device `ordinal`'s
   * primary context. Throws NoCudaDriverError("no CUDA driver found: …") when there is none.
   */
  static open(ordinal = 0, libPath = process.env.SIGATTN_LIBCUDA ?? 'libcuda.so.1'): CudaDriver {
    let api: Api;
    try {
      const lib = koffi.load(libPath);
      api = Object.fromEntries(Object.entries(PROTOTYPES).map(([k, proto]) => [k, lib.func(proto) as unknown as Fn])) as Api;
    } catch (err) {
      throw new NoCudaDriverError(
        `no CUDA driver found: could not load ${libPath} (${(err as Error).message.split('\n')[0]}); ` +
          'install the NVIDIA driver or set SIGATTN_LIBCUDA to libcuda.so.1’s path',
        'dlopen',
        -1,
      );
    }
    const rc = api.cuInit(0);
    if (rc !== 0) {
      const why = describe(api, rc);
      throw new NoCudaDriverError(
        `no CUDA driver found: cuInit failed with ${why}` + (rc === CUDA_ERROR_NO_DEVICE ? ' (the driver sees no GPU)' : ''),
        'cuInit',
        rc,
      );
    }
    const count = [0];
    api.cuDeviceGetCount(count);
    if (ordinal < 0 || ordinal >= count[0]) {
      throw new CudaError(`CUDA device ${ordinal} requested but the driver reports ${count[0]} device(s)`, 'cuDeviceGet', 101);
    }
    return new CudaDriver(api, ordinal);
  }

  /** Throw a CudaError naming `call` for a non-zero CUresult. */
  check(call: string, rc: number): void {
    if (rc !== 0) throw new CudaError(`${call} failed: ${describe(this.api, rc)}`, call, rc);
  }

  /** Call an API function whose first parameter is a single `_Out_` value and return that value. */
  private out(name: keyof Api, _type: string, ...args: unknown[]): number | bigint {
    const box: (number | bigint | null)[] = [null];
    this.check(name, this.api[name](box, ...args));
    return box[0] as number | bigint;
  }

  synchronize(): void {
    this.check('cuCtxSynchronize', this.api.cuCtxSynchronize());
  }

  loadModule(image: Uint8Array, what: string): CuPtr {
    const box: (bigint | null)[] = [null];
    const rc = this.api.cuModuleLoadData(box, image);
    if (rc !== 0) throw new CudaError(`cuModuleLoadData(${what}) failed: ${describe(this.api, rc)}`, 'cuModuleLoadData', rc);
    return box[0] as bigint;
  }

  unloadModule(mod: CuPtr): void {
    this.check('cuModuleUnload', this.api.cuModuleUnload(mod));
  }

  getFunction(mod: CuPtr, name: string): CuPtr {
    const box: (bigint | null)[] = [null];
    const rc = this.api.cuModuleGetFunction(box, mod, name);
    if (rc !== 0) throw new CudaError(`cuModuleGetFunction(${name}) failed: ${describe(this.api, rc)}`, 'cuModuleGetFunction', rc);
    return box[0] as bigint;
  }

  /** Read `bytes` bytes of a `__device__` global (e.g. a kernel's launch config table). */
  readGlobal(mod: CuPtr, name: string, bytes: number): Buffer {
    const ptr: (number | bigint | null)[] = [null];
    const size: (number | null)[] = [null];
    const rc = this.api.cuModuleGetGlobal(ptr, size, mod, name);
    if (rc !== 0) throw new CudaError(`cuModuleGetGlobal(${name}) failed: ${describe(this.api, rc)}`, 'cuModuleGetGlobal', rc);
    if (Number(size[0]) < bytes) {
      throw new CudaError(`cuModuleGetGlobal(${name}): global has ${size[0]} bytes, expected at least ${bytes}`, 'cuModuleGetGlobal', 0);
    }
    const host = Buffer.alloc(bytes);
    this.copyDtoH(host, BigInt(ptr[0] as number | bigint), bytes);
    return host;
  }

  setMaxDynamicShared(fn: CuPtr, bytes: number): void {
    this.check('cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)', this.api.cuFuncSetAttribute(fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes));
  }

  alloc(bytes: number): CuPtr {
    const box: (number | bigint | null)[] = [null];
    this.check(`cuMemAlloc(${bytes} bytes)`, this.api.cuMemAlloc(box, Math.max(bytes, 1)));
    return BigInt(box[0] as number | bigint);
  }

  free(ptr: CuPtr): void {
    this.check('cuMemFree', this.api.cuMemFree(ptr));
  }

  copyHtoD(dst: CuPtr, src: ArrayBufferView, bytes = src.byteLength): void {
    this.check('cuMemcpyHtoD', this.api.cuMemcpyHtoD(dst, src, bytes));
  }

  copyDtoH(dst: ArrayBufferView, src: CuPtr, bytes = dst.byteLength): void {
    this.check('cuMemcpyDtoH', this.api.cuMemcpyDtoH(dst, src, bytes));
  }

  /**
   * Stream-ordered upload. From pageable memory the driver stages `src` before returning, so the caller
   * may reuse it at once; no device-wide synchronisation happens (unlike cuMemcpyHtoD).
   */
  copyHtoDAsync(dst: CuPtr, src: ArrayBufferView, bytes: number, stream: CuPtr): void {
    this.check('cuMemcpyHtoDAsync', this.api.cuMemcpyHtoDAsync(dst, src, bytes, stream));
  }

  copyDtoDAsync(dst: CuPtr, src: CuPtr, bytes: number, stream: CuPtr): void {
    this.check('cuMemcpyDtoDAsync', this.api.cuMemcpyDtoDAsync(dst, src, bytes, stream));
  }

  /** Free and total device memory in bytes. */
  memInfo(): { free: number; total: number } {
    const free: (number | bigint | null)[] = [null];
    const total: (number | bigint | null)[] = [null];
    this.check('cuMemGetInfo', this.api.cuMemGetInfo(free, total));
    return { free: Number(free[0]), total: Number(total[0]) };
  }

  fill16(dst: CuPtr, value: number, count: number): void {
    this.check('cuMemsetD16', this.api.cuMemsetD16(dst, value, count));
  }

  fill32(dst: CuPtr, value: number, count: number): void {
    this.check('cuMemsetD32', this.api.cuMemsetD32(dst, value, count));
  }

  /**
   * Launch with each kernel argument given as the bytes of its value (kernelParams is an array of
   * pointers to the argument values). `stream` 0n is the legacy default stream.
   */
  /**
   * A CUtensorMap (128 bytes) for the bulk tensor copy engine over a 16-bit tensor [heads, rows, cols] at `address`
   * (row-major, cols contiguous): 3-D, boxes of {64 columns, boxRows rows, 1 head} in the 128-byte swizzle, elements
   * outside the tensor read as zeros. The kernel takes it by value (a __grid_constant__ parameter).
   */
  encodeTensorMap3d(address: CuPtr, dtype: 'bf16' | 'fp16', shape: [number, number, number], boxRows: number): Uint8Array {
    const [heads, rows, cols] = shape;
    const map = Buffer.alloc(128);
    const u64 = (xs: number[]) => Buffer.from(BigUint64Array.from(xs.map(BigInt)).buffer);
    const u32 = (xs: number[]) => Buffer.from(Uint32Array.from(xs).buffer);
    this.check(
      `cuTensorMapEncodeTiled([${shape.join(', ')}] ${dtype}, box ${boxRows}×64)`,
      this.api.cuTensorMapEncodeTiled(
        map, dtype === 'bf16' ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 3, address,
        u64([cols, rows, heads]), u64([cols * 2, rows * cols * 2]), u32([64, boxRows, 1]), u32([1, 1, 1]),
        0, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_128B, 0,
      ),
    );
    return new Uint8Array(map.buffer, map.byteOffset, 128);
  }

  launch(fn: CuPtr, name: string, grid: [number, number, number], block: number, smem: number, args: Uint8Array[], stream: CuPtr = 0n): void {
    this.check(
      `cuLaunchKernel(${name}, grid [${grid.join(', ')}], block ${block}, smem ${smem})`,
      this.api.cuLaunchKernel(fn, grid[0], grid[1], grid[2], block, 1, 1, smem, stream, args, null),
    );
  }

  /**
   * The launch of the hot path (a tfjs kernel per op): `params` holds one pointer per kernel argument's
   * bytes; the error message is built only on failure.
   */
  launchFast(fn: CuPtr, gx: number, gy: number, gz: number, block: number, smem: number, params: Uint8Array[], stream: CuPtr, name: string): void {
    const rc = this.api.cuLaunchKernel(fn, gx, gy, gz, block, 1, 1, smem, stream, params, null);
    if (rc !== 0) this.check(`cuLaunchKernel(${name}, grid [${gx}, ${gy}, ${gz}], block ${block}, smem ${smem})`, rc);
  }

  createStream(): CuPtr {
    const box: (bigint | null)[] = [null];
    this.check('cuStreamCreate', this.api.cuStreamCreate(box, 0));
    return box[0] as bigint;
  }

  syncStream(stream: CuPtr): void {
    this.check('cuStreamSynchronize', this.api.cuStreamSynchronize(stream));
  }

  destroyStream(stream: CuPtr): void {
    this.check('cuStreamDestroy', this.api.cuStreamDestroy(stream));
  }

  createEvent(): CuPtr {
    const box: (bigint | null)[] = [null];
    this.check('cuEventCreate', this.api.cuEventCreate(box, 0));
    return box[0] as bigint;
  }

  record(event: CuPtr, stream: CuPtr = 0n): void {
    this.check('cuEventRecord', this.api.cuEventRecord(event, stream));
  }

  /** Milliseconds between two recorded events (waits for `end`). */
  elapsedMs(start: CuPtr, end: CuPtr): number {
    this.check('cuEventSynchronize', this.api.cuEventSynchronize(end));
    const box: (number | null)[] = [null];
    this.check('cuEventElapsedTime', this.api.cuEventElapsedTime(box, start, end));
    return box[0] as number;
  }

  /** Whether all work captured by `event` has finished (cuEventQuery; never blocks). */
  eventDone(event: CuPtr): boolean {
    const rc = this.api.cuEventQuery(event);
    if (rc === CUDA_ERROR_NOT_READY) return false;
    this.check('cuEventQuery', rc);
    return true;
  }

  destroyEvent(event: CuPtr): void {
    this.check('cuEventDestroy', this.api.cuEventDestroy(event));
  }
}

function describe(api: Api, rc: number): string {
  const name: (string | null)[] = [null];
  const text: (string | null)[] = [null];
  api.cuGetErrorName(rc, name);
  api.cuGetErrorString(rc, text);
  return `${name[0] ?? `CUresult ${rc}`} (${text[0] ?? 'unknown error'})`;
}

let shared: CudaDriver | null = null;
let sharedError: Error | null = null;

/** Process-wide driver for device 0, opened on first use; the failure is remembered too. */
export function cudaDriver(): CudaDriver {
  if (shared) return shared;
  if (sharedError) throw sharedError;
  try {
    shared = CudaDriver.open();
    return shared;
  } catch (err) {
    sharedError = err as Error;
    throw err;
  }
}

/** null when a GPU is usable, else the reason (for `describe.skipIf` titles). */
export function cudaUnavailableReason(): string | null {
  try {
    cudaDriver();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}
