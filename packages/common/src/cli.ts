/**
 * yargs with the project's conventions: `--help` exits 0 and lists every option, a bad option is one
 * line (`error: …`, exit 2) instead of a usage dump with a stack trace, and nx's `--key=value` form works.
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError } from './errors.js';

/** A yargs parser for `argv` (default: process.argv) that reports mistakes as ConfigError. */
export function cli(scriptName: string, argv: readonly string[] = hideBin(process.argv)): Argv {
  return yargs([...argv])
    .scriptName(scriptName)
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((msg, err) => {
      // Errors thrown by coerce or .check go up as they are; yargs' own (YError) and a string that
      // a .check returned become the one-line ConfigError.
      if (err instanceof Error && err.name !== 'YError') throw err;
      throw new ConfigError(`${scriptName}: ${msg.replace(/:?\n\s*/g, ': ')} (run with --help for the options)`);
    });
}
