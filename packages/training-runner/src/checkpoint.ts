/**
 * The one checkpoint format: a directory holding `state.json` (the zoo spec that rebuilds the model,
 * progress, metrics so far, the optimiser's step count and a table of tensors) and one binary file of
 * float32 tensors per epoch (parameters, then optimiser slots). The tensors file is written first
 * (temp file + rename), state.json last, and it names that file, so a crash at any point leaves the
 * previous epoch loadable. A probe or fine-tune reads the part it needs from the same format.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RunError, writeFileAtomic } from '@sigattn/common';
import { modelSpec, type Optimizer, type ZooModel } from '@sigattn/model-zoo';
import type { InitCheckpoint } from './tasks/task.js';

export const CHECKPOINT_FORMAT = 'sigattn-checkpoint/2';

export interface TensorEntry {
  name: string;
  shape: number[];
  /** Offset in float32 elements into the tensors file. */
  offset: number;
}

export interface CheckpointState {
  format: typeof CHECKPOINT_FORMAT;
  /** `{ name, ...resolved config }`: rebuilds the model with the zoo registry. */
  spec: { name: string } & Record<string, unknown>;
  /** Hash of the keys that change what is computed; a checkpoint from another config is never resumed. */
  configHash: string;
  epochsDone: number;
  /** The epoch budget of the run that wrote it (a run is finished when epochsDone reaches it). */
  epochsPlanned: number;
  steps: number;
  wallSeconds: number;
  /** One row per finished epoch (what metrics.csv holds for this unit). */
  metrics: Record<string, string | number>[];
  optimizerSteps: number;
  tensorsFile: string;
  params: TensorEntry[];
  optimizer: TensorEntry[];
}

export type CheckpointProgress = Pick<CheckpointState, 'configHash' | 'epochsDone' | 'epochsPlanned' | 'steps' | 'wallSeconds' | 'metrics'>;

async function pack(named: [string, tf.Variable][], entries: TensorEntry[], chunks: Float32Array[], offset: number): Promise<number> {
  for (const [name, v] of named) {
    const data = (await v.data()) as Float32Array;
    entries.push({ name, shape: v.shape, offset });
    chunks.push(Float32Array.from(data));
    offset += data.length;
  }
  return offset;
}

export async function saveCheckpoint(dir: string, model: ZooModel, optimizer: Optimizer, progress: CheckpointProgress): Promise<void> {
  const chunks: Float32Array[] = [];
  const params: TensorEntry[] = [];
  const slots: TensorEntry[] = [];
  let offset = await pack(model.params.entries(), params, chunks, 0);
  offset = await pack(optimizer.slotEntries(), slots, chunks, offset);
  const all = new Float32Array(offset);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  const tensorsFile = `tensors-epoch${progress.epochsDone}.bin`;
  writeFileAtomic(join(dir, tensorsFile), new Uint8Array(all.buffer));
  const state: CheckpointState = {
    format: CHECKPOINT_FORMAT,
    spec: modelSpec(model),
    ...progress,
    optimizerSteps: optimizer.stepCount,
    tensorsFile,
    params,
    optimizer: slots,
  };
  writeFileAtomic(join(dir, 'state.json'), JSON.stringify(state, null, 1));
  for (const f of readdirSync(dir)) if (f.startsWith('tensors-epoch') && f !== tensorsFile) rmSync(join(dir, f), { force: true });
}

/** The checkpoint state in `dir`, or null when there is none. */
export function readCheckpointState(dir: string): CheckpointState | null {
  const path = join(dir, 'state.json');
  if (!existsSync(path)) return null;
  let state: CheckpointState;
  try {
    state = JSON.parse(readFileSync(path, 'utf8')) as CheckpointState;
  } catch (err) {
    throw new RunError(`${path}: unreadable checkpoint state (${(err as Error).message.split('\n')[0]}); rerun this unit with --fresh`);
  }
  if (state.format !== CHECKPOINT_FORMAT) {
    throw new RunError(`${path}: expected checkpoint format ${CHECKPOINT_FORMAT}, found ${JSON.stringify(state.format ?? 'none')}; rerun this unit with --fresh`);
  }
  return state;
}

/** The tensors file as float32, checked against the sizes state.json promises. */
function readTensors(dir: string, state: CheckpointState): Float32Array {
  const file = join(dir, state.tensorsFile);
  if (!existsSync(file)) throw new RunError(`${file}: checkpoint tensors missing (state.json names them); rerun this unit with --fresh`);
  const entries = [...state.params, ...state.optimizer];
  const need = entries.reduce((n, e) => Math.max(n, e.offset + e.shape.reduce((a, b) => a * b, 1)), 0) * 4;
  const have = statSync(file).size;
  if (have !== need) {
    throw new RunError(`${file}: checkpoint tensors file is ${have} bytes, state.json needs ${need} (truncated or corrupt); rerun this unit with --fresh`);
  }
  const buf = readFileSync(file);
  return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
}

function assign(source: string, all: Float32Array, saved: readonly TensorEntry[], live: readonly (readonly [string, tf.Variable])[], what: string): void {
  const byName = new Map(saved.map((e) => [e.name, e]));
  for (const [name, v] of live) {
    const e = byName.get(name);
    if (e === undefined) throw new RunError(`${source}: ${what} tensor ${name} [${v.shape.join(', ')}] is not in the checkpoint; rerun with --fresh or check init.from`);
    if (e.shape.join(',') !== v.shape.join(',')) {
      throw new RunError(`${source}: ${what} tensor ${name} has shape [${e.shape.join(', ')}] in the checkpoint but [${v.shape.join(', ')}] in this model; the model configs differ`);
    }
  }
  for (const [name, v] of live) {
    const e = byName.get(name) as TensorEntry;
    tf.tidy(() => v.assign(tf.tensor(all.subarray(e.offset, e.offset + v.size), e.shape)));
  }
}

/** Restore a run to continue it: every parameter and optimiser slot must match by name and shape. */
export function restoreCheckpoint(dir: string, state: CheckpointState, model: ZooModel, optimizer: Optimizer): void {
  const all = readTensors(dir, state);
  const params = model.params.entries();
  if (params.length !== state.params.length) {
    throw new RunError(`${dir}: the checkpoint has ${state.params.length} parameter tensors, this model ${params.length}; rerun with --fresh`);
  }
  assign(dir, all, state.params, params, 'parameter');
  assign(dir, all, state.optimizer, optimizer.slotEntries(), 'optimizer');
  optimizer.stepCount = state.optimizerSteps;
}

/** A finished run's checkpoint opened for weight hand-off (`init.from`). */
export function openInitCheckpoint(dir: string, state: CheckpointState): InitCheckpoint {
  let all: Float32Array | null = null;
  return {
    dir,
    spec: state.spec,
    load(pairs) {
      all ??= readTensors(dir, state);
      assign(`init.from ${dir}`, all, state.params, pairs, 'backbone');
    },
  };
}
