/**
 * What the sequence tasks (asr, lm, synthetic) share: the `eval.bias` policy for evaluating at a length
 * other than the training length, the position-encoding rule that follows from it, length-range config
 * keys, step caps and the progress lines of an on-demand corpus build. docs/tasks-sequence.md explains
 * the rules.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DataError } from '@sigattn/common';
import { mismatch, type Schema } from '../config/schema.js';
import type { RunConfig } from '../config/run-config.js';

/**
 * The sigmoid bias length for an evaluation at `nEval` positions: undefined keeps the model's own
 * training length (`eval.bias: train-length`, b = −log n_train, the paper's rule); `eval-length`
 * recomputes b = −log n_eval. Softmax ignores it.
 */
export function evalBiasLength(cfg: RunConfig, nEval: number): number | undefined {
  return cfg.eval.bias === 'eval-length' ? nEval : undefined;
}

/**
 * Every sequence task evaluates beyond its training length, which a learned position table cannot
 * reach: refuse such a model before anything is trained.
 */
export function requireExtrapolatingPositions(cfg: RunConfig, task: string, trainLength: number, longest: number): void {
  if (cfg.model.positions === 'learned' && longest > trainLength) {
    throw new ConfigError(
      `config key model.positions: the ${task} task evaluates at ${longest} positions, but a learned position table ends at the training length ${trainLength}; use alibi, rope, sincos or none`,
    );
  }
}

/** Optimiser steps of one epoch: a full pass (`full` batches), or train.stepsPerEpoch when that is smaller and not 0. */
export function cappedSteps(full: number, cfg: RunConfig): number {
  const cap = cfg.train.stepsPerEpoch;
  return cap > 0 ? Math.min(full, cap) : full;
}

/** A directory; '' (the default) means the task's default cache directory for the other data keys. */
export function cachePath(): Schema<string> {
  const expected = "a directory path ('' = the default cache directory)";
  return { expected, fallback: '', parse: (v, key) => (typeof v === 'string' ? v : mismatch(key, expected, v)) };
}

/** A `[min, max]` pair of integers with 1 ≤ min ≤ max (a range of sequence lengths or seconds). */
export function lengthRange(): Schema<[number, number]> {
  const expected = 'a pair [min, max] of integers with 1 ≤ min ≤ max';
  return {
    expected,
    parse(v, key) {
      if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => Number.isInteger(x) && x >= 1) || v[0] > v[1]) return mismatch(key, expected, v);
      return [v[0], v[1]];
    },
  };
}

/** A non-empty list of distinct positive integers, kept in increasing order. */
export function lengthList(): Schema<number[]> {
  const expected = 'a non-empty list of distinct positive integers';
  return {
    expected,
    parse(v, key) {
      if (!Array.isArray(v) || v.length === 0 || !v.every((x) => Number.isInteger(x) && x >= 1) || new Set(v).size !== v.length) {
        return mismatch(key, expected, v);
      }
      return [...(v as number[])].sort((a, b) => a - b);
    },
  };
}

/**
 * The cheap presence check of a generated corpus cache (asr, lm): true when `dir/manifest.json` exists
 * (a complete build), false when it is missing and `build` asks for it to be made on the first run,
 * else a DataError with `command`, the exact command that builds it.
 */
export function corpusPresent(what: string, dir: string, build: boolean, command: string): boolean {
  if (existsSync(join(dir, 'manifest.json'))) return true;
  if (build) return false;
  throw new DataError(`data.path: no ${what} at ${dir} (no manifest.json); build it with \`${command}\`, or set data.build: true to build it on the first run`);
}

/**
 * Progress lines for an on-demand corpus build: one every few seconds (and the last), with the share
 * done and a time estimate, through the task's logger (a terminal and a CI log both show them).
 */
export function buildProgress(log: (line: string) => void, what: string, everyMs = 3000): (done: number, total: number, detail?: string) => void {
  const t0 = performance.now();
  // The first line after everyMs too: an estimate from the first item alone is noise.
  let last = t0;
  return (done, total, detail) => {
    const now = performance.now();
    if (now - last < everyMs && done < total) return;
    last = now;
    const seconds = (now - t0) / 1000;
    const left = done > 0 ? (seconds / done) * (total - done) : NaN;
    const eta = Number.isFinite(left) ? `, ~${left.toFixed(0)} s left` : '';
    log(`${what}: ${done}/${total} (${((100 * done) / total).toFixed(0)}%)${detail ? ` ${detail}` : ''}, ${seconds.toFixed(0)} s${eta}`);
  };
}
