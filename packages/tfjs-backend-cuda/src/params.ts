/**
 * Kernel arguments as the bytes of one C struct passed by value (cuLaunchKernel's kernelParams then holds
 * a single pointer). Each field is written at its natural alignment, so the TS writer and the struct in
 * the `.cu` file match field for field when declared in the same order:
 *
 *   struct UnaryParams { float* out; const float* x; long long n; float alpha; };      // .cu
 *   new KernelParams().ptr(out).ptr(x).i64(n).f32(alpha)                              // .ts
 *
 * Fixed-length arrays (`int shape[6]`) are written with `i32s(values, 6)` (padding with 0).
 */
import type { CuPtr } from '@sigattn/kernel-core';

/** CUDA's limit on the kernel parameter block for the architectures we build (sm_80/sm_90). */
const MAX_PARAM_BYTES = 4096;

export class KernelParams {
  // Most structs fit in 256 bytes; one is built per launch, so start small and grow on demand.
  private buf = new ArrayBuffer(256);
  private view = new DataView(this.buf);
  private offset = 0;
  private maxAlign = 1;

  private at(align: number, size: number): number {
    this.maxAlign = Math.max(this.maxAlign, align);
    const o = Math.ceil(this.offset / align) * align;
    if (o + size > MAX_PARAM_BYTES) throw new RangeError(`kernel parameters exceed ${MAX_PARAM_BYTES} bytes`);
    if (o + size > this.buf.byteLength) {
      const grown = new ArrayBuffer(Math.min(MAX_PARAM_BYTES, this.buf.byteLength * 4));
      new Uint8Array(grown).set(new Uint8Array(this.buf));
      this.buf = grown;
      this.view = new DataView(grown);
    }
    this.offset = o + size;
    return o;
  }

  ptr(p: CuPtr): this {
    const o = this.at(8, 8); // before reading this.view: at() may grow it
    this.view.setBigUint64(o, p, true);
    return this;
  }

  i64(x: number): this {
    const o = this.at(8, 8); // before reading this.view: at() may grow it
    this.view.setBigInt64(o, BigInt(x), true);
    return this;
  }

  i32(x: number): this {
    const o = this.at(4, 4); // before reading this.view: at() may grow it
    this.view.setInt32(o, x, true);
    return this;
  }

  f32(x: number): this {
    const o = this.at(4, 4); // before reading this.view: at() may grow it
    this.view.setFloat32(o, x, true);
    return this;
  }

  /** `int field[length]`, padded with `pad`. */
  i32s(values: readonly number[], length: number, pad = 0): this {
    if (values.length > length) throw new RangeError(`kernel parameters: ${values.length} values for an int[${length}] field`);
    for (let i = 0; i < length; i++) this.i32(i < values.length ? values[i] : pad);
    return this;
  }

  /** `long long field[length]`, padded with `pad`. */
  i64s(values: readonly number[], length: number, pad = 0): this {
    if (values.length > length) throw new RangeError(`kernel parameters: ${values.length} values for a long long[${length}] field`);
    for (let i = 0; i < length; i++) this.i64(i < values.length ? values[i] : pad);
    return this;
  }

  /** The struct's bytes, padded to its alignment as C pads sizeof(struct). */
  bytes(): Uint8Array {
    const size = Math.ceil(this.offset / this.maxAlign) * this.maxAlign;
    return new Uint8Array(this.buf, 0, Math.max(size, 1));
  }
}
