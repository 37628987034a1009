/** Every op case, by kernel family (one file each, owned with its kernels). */
import type { OpCase } from '../op-check.js';
import { elementwiseCases } from './elementwise.js';
import { reduceCases } from './reduce.js';
import { movementCases } from './movement.js';
import { matmulCases } from './matmul.js';
import { attentionCases } from './attention.js';
import { optimizerCases } from './optimizer.js';
import { activationCases } from './activation.js';
import { normCases } from './norm.js';

export const OP_CASES: readonly OpCase[] = [...elementwiseCases, ...reduceCases, ...movementCases, ...matmulCases, ...attentionCases, ...optimizerCases, ...activationCases, ...normCases];
