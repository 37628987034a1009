/**
 * sigattn CLI.
 *   sigattn run <config.yaml> [--set key=value ...] [--variant name ...] [--fresh]
 *   sigattn config <config.yaml> [--set key=value ...]     print the resolved config
 */
import { stringify as toYaml } from 'yaml';
import { DataError } from '@sigattn/data';
import { AttentionSpecError } from '@sigattn/kernel-core';
import { ConfigError } from './config/schema.js';
import { loadRunConfig } from './config/run-config.js';
import { runExperiment } from './experiment.js';

const USAGE = `usage:
  sigattn run <config.yaml> [--set key=value ...] [--variant name ...] [--fresh]
  sigattn config <config.yaml> [--set key=value ...]`;

export interface CliArgs {
  command: string;
  config: string;
  overrides: string[];
  variants: string[];
  fresh: boolean;
}

/** Accepts both `--set k=v` and `--set=k=v` (nx forwards options in the second form). */
export function parseArgs(argv: readonly string[]): CliArgs {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') throw new ConfigError(USAGE);
  const out: CliArgs = { command, config: '', overrides: [], variants: [], fresh: false };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? rest[++i];
      if (v === undefined) throw new ConfigError(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === '--set') out.overrides.push(value());
    else if (flag === '--variant') out.variants.push(value());
    else if (flag === '--fresh') out.fresh = true;
    else if (!flag.startsWith('-') && out.config === '') out.config = flag;
    else throw new ConfigError(`unknown argument ${arg}\n${USAGE}`);
  }
  if (out.config === '') throw new ConfigError(`missing config file\n${USAGE}`);
  if (command !== 'run' && command !== 'config') throw new ConfigError(`unknown command ${command}\n${USAGE}`);
  return out;
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    const args = parseArgs(argv);
    const run = loadRunConfig(args.config, args.overrides);
    if (args.command === 'config') {
      process.stdout.write(toYaml(run));
      return 0;
    }
    await runExperiment(run, { fresh: args.fresh, only: args.variants.length > 0 ? args.variants : undefined });
    return 0;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof DataError || err instanceof AttentionSpecError) {
      console.error(`error: ${err.message}`);
      return 2;
    }
    throw err;
  }
}
