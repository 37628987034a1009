import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@sigattn/common';
import { cliMain } from '../src/index.js';
import { REPO_CONFIGS } from './fixtures.js';

const quickstart = join(REPO_CONFIGS, 'quickstart.yaml');

describe('sigattn CLI', () => {
  it('config prints each unit resolved, with --set in either form (nx forwards --set=k=v)', async () => {
    const lines: string[] = [];
    expect(await cliMain(['config', quickstart, '--set', 'seeds=[0, 3]', '--set=train.epochs=5', '--variant', 'sigmoid'], (l) => lines.push(l))).toBe(0);
    const text = lines.join('\n');
    expect(text).toMatch(/^sigmoid\/seed-0:/m);
    expect(text).toMatch(/^sigmoid\/seed-3:/m);
    expect(text).not.toMatch(/^softmax/m);
    expect(text).toMatch(/epochs: 5/);
    expect(text).toMatch(/kind: sigmoid/);
  });

  it('tasks lists every task with its models and metrics', async () => {
    const lines: string[] = [];
    await cliMain(['tasks'], (l) => lines.push(l));
    expect(lines.join('\n')).toMatch(/^classify: .*\n {2}models: vit\n {2}metrics: test_accuracy, test_loss/m);
  });

  it('an unknown option or a missing command is a one-line ConfigError', async () => {
    await expect(cliMain(['run', quickstart, '--bogus'], () => {})).rejects.toThrow(ConfigError);
    await expect(cliMain([], () => {})).rejects.toThrow(/name a command/);
  });
});
