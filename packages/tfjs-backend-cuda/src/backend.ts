/**
 * The tfjs `cuda` backend: tensors live in device memory from the caching allocator, kernels launch in
 * order on one stream and return at once, and the host waits only where JavaScript needs values
 * (`read`/`readSync`, i.e. `await t.data()` / `t.dataSync()`).
 *
 * Every dtype is held in 4 bytes per element on the device: float32 as float, int32 as int, bool as int
 * 0/1 (tfjs gives and expects a Uint8Array for bool on the host). string and complex64 tensors are not
 * supported and fail with a message that says so.
 */
import * as tf from '@tensorflow/tfjs';
import type { CuPtr } from '@sigattn/kernel-core';
import type { CudaDevice } from './device.js';

type DataId = object;
type BackendValues = Float32Array | Int32Array | Uint8Array | Uint8Array[];

export interface CudaTensorData {
  /** 0n for an empty tensor (no allocation). */
  ptr: CuPtr;
  dtype: tf.DataType;
  size: number;
  refCount: number;
}

export const BYTES_PER_ELEMENT = 4;

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function checkDtype(dtype: tf.DataType, what: string): void {
  if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool') {
    throw new Error(`cuda backend: ${what} has dtype ${dtype}; only float32, int32 and bool tensors live on the GPU (keep ${dtype} tensors on the cpu backend)`);
  }
}

/** Host values as the 4-byte array the device holds (bool → int32 0/1). */
function toDeviceArray(values: BackendValues, dtype: tf.DataType, size: number): Float32Array | Int32Array {
  if (values.length !== size) throw new Error(`cuda backend: ${values.length} values for a tensor of ${size} elements`);
  if (dtype === 'float32') return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  return values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>);
}

export class CudaBackend extends tf.KernelBackend {
  readonly data: tf.DataStorage<CudaTensorData>;
  private disposed = false;
  /**
   * Fill every new uninitialised tensor with NaN (int: -1) so a kernel that leaves part of its output
   * unwritten fails the op checks instead of passing on stale memory. Off for training ($SIGATTN_CUDA_POISON=1 turns it on).
   */
  poison = process.env.SIGATTN_CUDA_POISON === '1';

  constructor(readonly device: CudaDevice) {
    super();
    this.data = new tf.DataStorage(this, tf.engine() as unknown as tf.DataMover);
  }

  override numDataIds(): number {
    return this.data.numDataIds();
  }

  private allocate(dtype: tf.DataType, size: number, refCount: number): CudaTensorData {
    checkDtype(dtype, 'a tensor');
    return { ptr: size === 0 ? 0n : this.device.alloc(size * BYTES_PER_ELEMENT), dtype, size, refCount };
  }

  private store(values: BackendValues | null, shape: number[], dtype: tf.DataType, refCount: number): CudaTensorData {
    const size = sizeOf(shape);
    const d = this.allocate(dtype, size, refCount);
    if (values !== null && size > 0) this.device.upload(d.ptr, toDeviceArray(values, dtype, size));
    else if (this.poison && size > 0) this.device.driver.fill32(d.ptr, dtype === 'float32' ? 0x7fc00000 : 0xffffffff, size);
    return d;
  }

  override write(values: BackendValues | null, shape: number[], dtype: tf.DataType): DataId {
    const dataId = {};
    this.data.set(dataId, this.store(values, shape, dtype, 1));
    return dataId;
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    this.data.set(dataId, this.store(values, shape, dtype, refCount));
  }

  /** A new tensor: uploaded when `values` are given, else uninitialised device memory for a kernel to fill. */
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: BackendValues | null): tf.TensorInfo {
    return { dataId: this.write(values ?? null, shape, dtype), shape, dtype };
  }

  /** The device pointer of a tensor (moving it here first if another backend holds it). */
  ptr(t: tf.TensorInfo): CuPtr {
    return this.data.get(t.dataId).ptr;
  }

  /** The same data under another shape (Reshape, ExpandDims, Identity): no copy, one more reference. */
  view(t: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    this.incRef(t.dataId);
    return { dataId: t.dataId, shape, dtype: t.dtype };
  }

  override refCount(dataId: DataId): number {
    return this.data.has(dataId) ? this.data.get(dataId).refCount : 0;
  }

  override incRef(dataId: DataId): void {
    this.data.get(dataId).refCount++;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    if (!this.data.has(dataId)) return true;
    const d = this.data.get(dataId);
    if (!force) {
      d.refCount--;
      if (d.refCount > 0) return false;
    }
    if (d.ptr !== 0n && !this.disposed) this.device.release(d.ptr);
    this.data.delete(dataId);
    return true;
  }

  private download(dataId: DataId): Float32Array | Int32Array | Uint8Array {
    const d = this.data.get(dataId);
    const out = d.dtype === 'float32' ? new Float32Array(d.size) : new Int32Array(d.size);
    if (d.size > 0) this.device.driver.copyDtoH(out, d.ptr, d.size * BYTES_PER_ELEMENT);
    return d.dtype === 'bool' ? Uint8Array.from(out) : out;
  }

  override readSync(dataId: DataId): Float32Array | Int32Array | Uint8Array {
    this.device.synchronize();
    return this.download(dataId);
  }

  override async read(dataId: DataId): Promise<Float32Array | Int32Array | Uint8Array> {
    await this.device.idle();
    return this.download(dataId);
  }

  override timerAvailable(): boolean {
    return true;
  }

  override async time(f: () => void): Promise<tf.BackendTimingInfo> {
    return { kernelMs: this.device.timeMs(f) };
  }

  override memory(): { unreliable: boolean; numBytesInGPU: number; numBytesInGPUAllocated: number; peakBytesInGPU: number } {
    const s = this.device.allocator.snapshot();
    return { unreliable: false, numBytesInGPU: s.bytesInUse, numBytesInGPUAllocated: s.bytesReserved, peakBytesInGPU: s.peakBytesInUse };
  }

  override floatPrecision(): 32 {
    return 32;
  }

  override epsilon(): number {
    return 1e-7;
  }

  override dispose(): void {
    if (this.disposed) return;
    this.device.dispose();
    this.disposed = true;
  }
}
