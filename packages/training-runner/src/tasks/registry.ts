/**
 * Every task by its `task:` key. Adding a task = one file under tasks/ implementing Task (task.ts)
 * plus one line here; packages/training-runner/README.md walks through it.
 */
import { ConfigError, closestName } from '@sigattn/common';
import type { Task } from './task.js';
import { classifyTask } from './classify.js';
import { asrTask } from './asr.js';
import { lmTask } from './lm.js';
import { syntheticTask } from './synthetic.js';
import { maeTask } from './mae.js';
import { simclrTask } from './simclr.js';
import { byolTask } from './byol.js';
import { probeTask } from './probe.js';
import { finetuneTask } from './finetune.js';

const TASKS: Record<string, Task<unknown>> = {
  classify: classifyTask as Task<unknown>,
  asr: asrTask as Task<unknown>,
  lm: lmTask as Task<unknown>,
  synthetic: syntheticTask as Task<unknown>,
  mae: maeTask as Task<unknown>,
  simclr: simclrTask as Task<unknown>,
  byol: byolTask as Task<unknown>,
  probe: probeTask as Task<unknown>,
  finetune: finetuneTask as Task<unknown>,
};

export function taskNames(): string[] {
  return Object.keys(TASKS);
}

export function getTask(name: string): Task<unknown> {
  const task = TASKS[name];
  if (task === undefined) {
    const hint = closestName(name, taskNames());
    throw new ConfigError(`config key task: expected one of ${taskNames().join(', ')}, found ${JSON.stringify(name)}${hint ? ` (did you mean ${hint}?)` : ''}`);
  }
  return task;
}
