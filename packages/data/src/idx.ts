/**
 * Reader for the IDX format of MNIST and Fashion-MNIST (optionally gzipped).
 * Header: two zero bytes, a type code (0x08 = uint8), the rank, then `rank` big-endian uint32 dims.
 */
import { gunzipSync } from 'node:zlib';
import { readFileSync, existsSync } from 'node:fs';
import { DataError } from '@sigattn/common';

export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

/** Parse an IDX buffer (already decompressed). `source` names the file in error messages. */
export function parseIdx(buf: Uint8Array, source: string): IdxArray {
  if (buf.length < 4) {
    throw new DataError(`${source}: truncated IDX file: expected a 4-byte header, found ${buf.length} bytes`);
  }
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new DataError(`${source}: not an IDX file: expected magic bytes 00 00, found ${buf[0].toString(16)} ${buf[1].toString(16)}`);
  }
  if (buf[2] !== 0x08) {
    throw new DataError(`${source}: unsupported IDX element type 0x${buf[2].toString(16)}: expected 0x08 (uint8)`);
  }
  const rank = buf[3];
  const headerBytes = 4 + 4 * rank;
  if (rank < 1 || buf.length < headerBytes) {
    throw new DataError(`${source}: truncated IDX header: rank ${rank} needs ${headerBytes} bytes, found ${buf.length}`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  if (buf.length - headerBytes !== count) {
    throw new DataError(
      `${source}: IDX payload has ${buf.length - headerBytes} bytes but the header's shape [${shape.join(', ')}] needs ${count}` +
        ` (the file is truncated or corrupt; reinstall it)`,
    );
  }
  return { shape, data: buf.subarray(headerBytes) };
}

/** Read an IDX file from disk; gzip is detected from the magic bytes 1f 8b. */
export function readIdxFile(path: string, setupHint = 'run tools/setup.sh'): IdxArray {
  if (!existsSync(path)) throw new DataError(`${path}: file not found (${setupHint})`);
  let buf: Uint8Array = readFileSync(path);
  if (buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (err) {
      throw new DataError(`${path}: corrupt gzip stream (${(err as Error).message}); reinstall the file (${setupHint})`);
    }
  }
  return parseIdx(buf, path);
}

/** Encode an IDX uint8 array (used by tests to make fixtures, and by users to export subsets). */
export function encodeIdx(shape: readonly number[], data: Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + 4 * shape.length);
  header[2] = 0x08;
  header[3] = shape.length;
  const view = new DataView(header.buffer);
  shape.forEach((n, i) => view.setUint32(4 + 4 * i, n, false));
  const out = new Uint8Array(header.length + data.length);
  out.set(header, 0);
  out.set(data, header.length);
  return out;
}
