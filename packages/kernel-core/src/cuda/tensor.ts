/** A device buffer with a dtype and a shape (row-major, contiguous). */
import type { CudaDriver, CuPtr } from './driver.js';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from './half.js';

export type CudaDtype = 'bf16' | 'fp16' | 'f32' | 'i32';

const BYTES: Record<CudaDtype, number> = { bf16: 2, fp16: 2, f32: 4, i32: 4 };

export class DeviceTensor {
  private freed = false;

  private constructor(
    readonly driver: CudaDriver,
    readonly ptr: CuPtr,
    readonly dtype: CudaDtype,
    readonly shape: readonly number[],
  ) {}

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  get bytes(): number {
    return this.size * BYTES[this.dtype];
  }

  static empty(driver: CudaDriver, dtype: CudaDtype, shape: readonly number[]): DeviceTensor {
    shape.forEach((n, i) => {
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`DeviceTensor: shape[${i}] must be a non-negative integer, got ${n}`);
    });
    const size = shape.reduce((a, b) => a * b, 1);
    return new DeviceTensor(driver, driver.alloc(size * BYTES[dtype]), dtype, [...shape]);
  }

  /** Upload host values, converting to `dtype` (16-bit types round to nearest even). */
  static fromHost(driver: CudaDriver, data: ArrayLike<number>, shape: readonly number[], dtype: CudaDtype): DeviceTensor {
    const t = DeviceTensor.empty(driver, dtype, shape);
    if (data.length !== t.size) {
      t.free();
      throw new RangeError(`DeviceTensor.fromHost: data has ${data.length} values but shape [${shape.join(', ')}] needs ${t.size}`);
    }
    driver.copyHtoD(t.ptr, encode(data, dtype));
    return t;
  }

  /** A tensor over memory another owner manages (the cuda backend's allocator): free() leaves it alone. */
  static wrap(driver: CudaDriver, ptr: CuPtr, dtype: CudaDtype, shape: readonly number[]): DeviceTensor {
    const t = new DeviceTensor(driver, ptr, dtype, [...shape]);
    t.freed = true;
    return t;
  }

  /** Same memory, another shape with the same element count (no copy; the view must not be freed). */
  view(shape: readonly number[]): DeviceTensor {
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== this.size) throw new RangeError(`DeviceTensor.view: [${shape.join(', ')}] has ${size} elements, tensor has ${this.size}`);
    const v = new DeviceTensor(this.driver, this.ptr, this.dtype, [...shape]);
    v.freed = true;
    return v;
  }

  /** Upload raw 16-bit patterns (already encoded) into a bf16/fp16 tensor. */
  static fromBits(driver: CudaDriver, bits: Uint16Array, shape: readonly number[], dtype: 'bf16' | 'fp16'): DeviceTensor {
    const t = DeviceTensor.empty(driver, dtype, shape);
    if (bits.length !== t.size) {
      t.free();
      throw new RangeError(`DeviceTensor.fromBits: ${bits.length} values for shape [${shape.join(', ')}] (${t.size})`);
    }
    driver.copyHtoD(t.ptr, bits);
    return t;
  }

  /** Fill with NaN (float types) or -1 (i32) so that unwritten outputs fail loudly. */
  poison(): this {
    if (this.dtype === 'bf16') this.driver.fill16(this.ptr, 0x7fc0, this.size);
    else if (this.dtype === 'fp16') this.driver.fill16(this.ptr, 0x7e00, this.size);
    else this.driver.fill32(this.ptr, this.dtype === 'f32' ? 0x7fc00000 : 0xffffffff, this.size);
    return this;
  }

  /** Synchronous download (waits for all preceding work on the context), widened to f32/i32. */
  toHost(): Float32Array | Int32Array {
    this.driver.synchronize();
    const raw = new Uint8Array(this.bytes);
    this.driver.copyDtoH(raw, this.ptr);
    return decode(raw, this.dtype);
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.driver.free(this.ptr);
  }
}

function encode(data: ArrayLike<number>, dtype: CudaDtype): ArrayBufferView {
  switch (dtype) {
    case 'f32':
      return Float32Array.from(data);
    case 'i32':
      return Int32Array.from(data);
    case 'bf16':
      return Uint16Array.from(data, f32ToBf16Bits);
    case 'fp16':
      return Uint16Array.from(data, f32ToF16Bits);
  }
}

function decode(raw: Uint8Array, dtype: CudaDtype): Float32Array | Int32Array {
  switch (dtype) {
    case 'f32':
      return new Float32Array(raw.buffer);
    case 'i32':
      return new Int32Array(raw.buffer);
    case 'bf16':
      return Float32Array.from(new Uint16Array(raw.buffer), bf16BitsToF32);
    case 'fp16':
      return Float32Array.from(new Uint16Array(raw.buffer), f16BitsToF32);
  }
}
