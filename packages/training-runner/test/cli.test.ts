import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/index.js';

describe('cli arguments', () => {
  it('accepts --set k=v and --set=k=v (the form nx forwards)', () => {
    const a = parseArgs(['run', 'configs/quickstart.yaml', '--set', 'train.epochs=1', '--set=backend=cpu', '--fresh']);
    expect(a).toEqual({ command: 'run', config: 'configs/quickstart.yaml', overrides: ['train.epochs=1', 'backend=cpu'], variants: [], fresh: true });
  });

  it('rejects unknown flags and a missing config', () => {
    expect(() => parseArgs(['run', 'c.yaml', '--bogus'])).toThrow(/unknown argument --bogus/);
    expect(() => parseArgs(['run'])).toThrow(/missing config file/);
    expect(() => parseArgs(['train', 'c.yaml'])).toThrow(/unknown command train/);
  });
});
