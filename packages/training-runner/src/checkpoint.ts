/**
 * Resumable training state: model parameters, optimizer slots and progress, written after every
 * epoch. Tensors go to one binary file per epoch (written to a temp file, then renamed); state.json
 * is written last and names that file, so a crash at any point leaves the previous epoch loadable.
 */
import * as tf from '@tensorflow/tfjs';
import type { AdamW } from '@sigattn/model-zoo';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@sigattn/data';
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
  /** AdamW's update count (its bias correction depends on it). */
  optimizerSteps: number;
  tensorsFile: string;
  params: TensorEntry[];
  optimizer: TensorEntry[];
}

async function pack(named: [string, tf.Tensor][], entries: TensorEntry[], chunks: Float32Array[], offset: number): Promise<number> {
  for (const [name, tensor] of named) {
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
  optimizer: AdamW,
  progress: Omit<CheckpointState, 'tensorsFile' | 'params' | 'optimizer' | 'optimizerSteps'>,
): Promise<void> {
  const chunks: Float32Array[] = [];
  const paramEntries: TensorEntry[] = [];
  const optEntries: TensorEntry[] = [];
  let offset = await pack(params, paramEntries, chunks, 0);
  offset = await pack(optimizer.slotEntries(), optEntries, chunks, offset);
  const all = new Float32Array(offset);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  const tensorsFile = `tensors-epoch${progress.epochsDone}.bin`;
  writeFileAtomic(join(dir, tensorsFile), new Uint8Array(all.buffer));
  const state: CheckpointState = { ...progress, optimizerSteps: optimizer.stepCount, tensorsFile, params: paramEntries, optimizer: optEntries };
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
export function restoreCheckpoint(dir: string, state: CheckpointState, params: [string, tf.Variable][], optimizer: AdamW): void {
  const file = join(dir, state.tensorsFile);
  if (!existsSync(file)) throw new Error(`${file}: checkpoint tensors missing (state.json names it); rerun with --fresh`);
  const buf = readFileSync(file);
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const assignAll = (what: string, saved: TensorEntry[], live: [string, tf.Variable][]) => {
    if (saved.length !== live.length) {
      throw new Error(`${file}: checkpoint has ${saved.length} ${what} tensors, the run has ${live.length}; rerun with --fresh`);
    }
    saved.forEach((e, i) => {
      const [name, v] = live[i];
      if (e.name !== name || e.shape.join(',') !== v.shape.join(',')) {
        throw new Error(`${file}: checkpoint tensor ${e.name} [${e.shape}] does not match ${what} tensor ${name} [${v.shape}]; rerun with --fresh`);
      }
      const t = tf.tensor(all.subarray(e.offset, e.offset + v.size), e.shape);
      v.assign(t);
      t.dispose();
    });
  };
  assignAll('parameter', state.params, params);
  assignAll('optimizer', state.optimizer, optimizer.slotEntries());
  optimizer.stepCount = state.optimizerSteps;
}
