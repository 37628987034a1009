/**
 * Resumable training state: model parameters, optimizer slots and progress, written after every
 * epoch. Tensors go to one binary file per epoch (written to a temp file, then renamed); state.json
 * is written last and names that file, so a crash at any point leaves the previous epoch loadable.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import type { EpochMetrics } from './metrics.js';

export interface TensorEntry {
  name: string;
  shape: number[];
  offset: number;
}

export interface CheckpointState {
  /** Hash of the resolved config; a checkpoint from another config is never resumed. */
  configHash: string;
  epochsDone: number;
  steps: number;
  wallSeconds: number;
  metrics: EpochMetrics[];
  tensorsFile: string;
  params: TensorEntry[];
  optimizer: TensorEntry[];
}

async function pack(named: { name: string; tensor: tf.Tensor }[], entries: TensorEntry[], chunks: Float32Array[], offset: number): Promise<number> {
  for (const { name, tensor } of named) {
    const data = (await tensor.data()) as Float32Array;
    entries.push({ name, shape: tensor.shape, offset });
    chunks.push(Float32Array.from(data));
    offset += data.length;
  }
  return offset;
}

export async function saveCheckpoint(
  dir: string,
  params: [string, tf.Variable][],
  optimizer: tf.Optimizer,
  progress: Omit<CheckpointState, 'tensorsFile' | 'params' | 'optimizer'>,
): Promise<void> {
  const chunks: Float32Array[] = [];
  const paramEntries: TensorEntry[] = [];
  const optEntries: TensorEntry[] = [];
  let offset = await pack(params.map(([name, tensor]) => ({ name, tensor })), paramEntries, chunks, 0);
  offset = await pack(await optimizer.getWeights(), optEntries, chunks, offset);
  const all = new Float32Array(offset);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  const tensorsFile = `tensors-epoch${progress.epochsDone}.bin`;
  writeFileAtomic(join(dir, tensorsFile), new Uint8Array(all.buffer));
  const state: CheckpointState = { ...progress, tensorsFile, params: paramEntries, optimizer: optEntries };
  writeFileAtomic(join(dir, 'state.json'), JSON.stringify(state, null, 1));
  for (const f of readdirSync(dir)) if (f.startsWith('tensors-epoch') && f !== tensorsFile) rmSync(join(dir, f), { force: true });
}

export function readCheckpointState(dir: string): CheckpointState | null {
  const path = join(dir, 'state.json');
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as CheckpointState;
  } catch (err) {
    throw new Error(`${path}: unreadable checkpoint state (${(err as Error).message}); delete ${dir} or rerun with --fresh`);
  }
}

/** Restore parameters and optimizer slots; names and shapes must match the model exactly. */
export async function restoreCheckpoint(dir: string, state: CheckpointState, params: [string, tf.Variable][], optimizer: tf.Optimizer): Promise<void> {
  const file = join(dir, state.tensorsFile);
  if (!existsSync(file)) throw new Error(`${file}: checkpoint tensors missing (state.json names it); rerun with --fresh`);
  const buf = readFileSync(file);
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const slice = (e: TensorEntry) => all.subarray(e.offset, e.offset + e.shape.reduce((a, b) => a * b, 1));
  if (state.params.length !== params.length) {
    throw new Error(`${file}: checkpoint has ${state.params.length} parameters, the model has ${params.length}; rerun with --fresh`);
  }
  state.params.forEach((e, i) => {
    const [name, v] = params[i];
    if (e.name !== name || e.shape.join(',') !== v.shape.join(',')) {
      throw new Error(`${file}: checkpoint tensor ${e.name} [${e.shape}] does not match model parameter ${name} [${v.shape}]; rerun with --fresh`);
    }
    v.assign(tf.tensor(slice(e), e.shape));
  });
  await optimizer.setWeights(state.optimizer.map((e) => ({ name: e.name, tensor: tf.tensor(slice(e), e.shape) })));
}
