import type { OpCase } from '../op-check.js';

export const attentionCases: OpCase[] = [];
