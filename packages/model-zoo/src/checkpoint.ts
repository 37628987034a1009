/**
 * Checkpoints: every parameter plus the model spec that rebuilds the model, in one file.
 *
 * Layout: 8-byte magic "SIGATCK1", uint32 LE header length, UTF-8 JSON header
 * { spec, tensors: [{ name, shape }] }, zero padding to a 4-byte boundary, then each tensor's float32
 * values (little-endian) in header order. Written to a temp file and renamed, so a crash never leaves
 * a half-written checkpoint under the real name.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import type { ZooModel } from './model.js';
import { createModelFromSpec, modelSpec } from './registry.js';

const MAGIC = 'SIGATCK1';

export interface Checkpoint {
  spec: { name: string } & Record<string, unknown>;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

export async function saveCheckpoint(path: string, model: ZooModel): Promise<void> {
  const entries = model.params.entries();
  const header = Buffer.from(JSON.stringify({ spec: modelSpec(model), tensors: entries.map(([name, v]) => ({ name, shape: v.shape })) }), 'utf8');
  const headerEnd = 12 + header.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const total = entries.reduce((n, [, v]) => n + v.size, 0);
  const buf = Buffer.alloc(dataStart + 4 * total);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(header.length, 8);
  header.copy(buf, 12);
  let off = dataStart;
  for (const [, v] of entries) {
    const data = await v.data();
    Buffer.from(Float32Array.from(data).buffer).copy(buf, off);
    off += 4 * v.size;
  }
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, buf);
  renameSync(tmp, path);
}

export function readCheckpoint(path: string): Checkpoint {
  const buf = readFileSync(path);
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) {
    throw new Error(`checkpoint ${path}: expected a sigattn checkpoint (magic ${MAGIC}), found ${JSON.stringify(buf.toString('latin1', 0, 8))}; was it written by saveCheckpoint?`);
  }
  const len = buf.readUInt32LE(8);
  const header = JSON.parse(buf.toString('utf8', 12, 12 + len)) as { spec: Checkpoint['spec']; tensors: { name: string; shape: number[] }[] };
  let off = Math.ceil((12 + len) / 4) * 4;
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const { name, shape } of header.tensors) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (off + 4 * size > buf.length) throw new Error(`checkpoint ${path}: truncated inside tensor ${name} (file has ${buf.length} bytes); re-save it`);
    const data = new Float32Array(size);
    Buffer.from(data.buffer).set(buf.subarray(off, off + 4 * size));
    tensors.set(name, { shape, data });
    off += 4 * size;
  }
  return { spec: header.spec, tensors };
}

/** Config keys whose values differ between two specs, for error messages. */
function specDiff(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).map((k) => `${k}: checkpoint ${JSON.stringify(a[k])} vs model ${JSON.stringify(b[k])}`);
}

/**
 * Copy a checkpoint's tensors into `model`. Every model parameter must be present with the same
 * shape and every checkpoint tensor must be used; otherwise nothing is assigned and the error names
 * the first mismatched tensor and the config keys that differ.
 */
export function loadWeights(model: ZooModel, ckpt: Checkpoint, source = 'checkpoint'): void {
  const diff = specDiff(ckpt.spec, modelSpec(model));
  const hint = diff.length > 0 ? ` The configs differ in ${diff.join('; ')}; build the model from the checkpoint's spec (restoreModel).` : '';
  const params = model.params.entries();
  for (const [name, v] of params) {
    const t = ckpt.tensors.get(name);
    if (t === undefined) throw new Error(`${source}: tensor ${name} is missing (the model has it with shape [${v.shape.join(', ')}]).${hint}`);
    if (t.shape.length !== v.shape.length || t.shape.some((n, i) => n !== v.shape[i])) {
      throw new Error(`${source}: tensor ${name} has shape [${t.shape.join(', ')}] but the model expects [${v.shape.join(', ')}].${hint}`);
    }
  }
  const names = new Set(params.map(([n]) => n));
  for (const name of ckpt.tensors.keys()) {
    if (!names.has(name)) throw new Error(`${source}: tensor ${name} has no counterpart in the ${model.modelName} model.${hint}`);
  }
  for (const [name, v] of params) {
    const t = ckpt.tensors.get(name) as { shape: number[]; data: Float32Array };
    tf.tidy(() => v.assign(tf.tensor(t.data, t.shape)));
  }
}

/** Rebuild the model from the checkpoint's own spec and load its weights. */
export function restoreModel(path: string, seed = 0): ZooModel {
  const ckpt = readCheckpoint(path);
  const model = createModelFromSpec(ckpt.spec, seed, `checkpoint ${path} spec`);
  loadWeights(model, ckpt, `checkpoint ${path}`);
  return model;
}
