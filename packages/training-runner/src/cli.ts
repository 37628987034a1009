/**
 * The sigattn CLI (yargs):
 *   sigattn run <config.yaml> [--set key=value ...] [--variant v ...] [--seed k ...] [--jobs N] [--gpus 0,1] [--fresh]
 *   sigattn config <config.yaml> [--set ...] [--variant ...] [--seed ...]   print each unit's resolved config
 *   sigattn tasks                                                           list the tasks, their models and metrics
 */
import { stringify as toYaml } from 'yaml';
import { cli } from '@sigattn/common';
import { resolvedConfigs, runExperiment } from './experiment.js';
import { getTask, taskNames } from './tasks/registry.js';

const selection = {
  set: { type: 'string', array: true, default: [] as string[], describe: 'override a config key, e.g. --set train.epochs=1 (repeatable; value parsed as YAML)' },
  variant: { type: 'string', array: true, default: [] as string[], describe: 'only these variants (repeatable; default all)' },
  seed: { type: 'number', array: true, default: [] as number[], describe: 'only these seeds (repeatable; default all of seeds:)' },
} as const;

export async function main(argv: readonly string[], log: (line: string) => void = (l) => console.log(l)): Promise<number> {
  let code = 0;
  await cli('sigattn', argv)
    .usage('$0 <command>\n\nTrain and compare sigmoid vs softmax attention from one YAML experiment file.')
    .command(
      'run <config>',
      'train every unit (variant × seed) of an experiment, resuming finished epochs, then print the summary',
      (y) =>
        y
          .positional('config', { type: 'string', demandOption: true, describe: 'experiment YAML (e.g. configs/experiments/lm.yaml)' })
          .options(selection)
          .option('fresh', { type: 'boolean', default: false, describe: 'restart the selected units from scratch (deletes only their directories, after the config and data are checked)' })
          .option('jobs', { type: 'number', default: 1, describe: 'run up to N units at once, each in its own process' })
          .option('gpus', { type: 'string', describe: 'comma-separated GPU indices handed to units round-robin (sets CUDA_VISIBLE_DEVICES and SIGATTN_GPU per unit)' })
          .option('units-only', { type: 'boolean', default: false, hidden: true, describe: 'train the selected units without writing the summary (used by --jobs)' }),
      async (a) => {
        const gpus = a.gpus === undefined ? undefined : a.gpus.split(',').map((g) => {
          const n = Number(g);
          if (!Number.isInteger(n) || n < 0) throw new Error(`--gpus: expected comma-separated GPU indices like 0,1, found ${JSON.stringify(a.gpus)}`);
          return n;
        });
        await runExperiment(a.config, {
          overrides: a.set,
          variants: a.variant,
          seeds: a.seed,
          fresh: a.fresh,
          jobs: a.jobs,
          gpus,
          unitsOnly: a['units-only'],
          log,
        });
      },
    )
    .command(
      'config <config>',
      "print each unit's fully resolved config (groups, stage, variant and seed applied; every default filled in)",
      (y) => y.positional('config', { type: 'string', demandOption: true, describe: 'experiment YAML' }).options(selection),
      (a) => {
        log(toYaml(resolvedConfigs(a.config, { overrides: a.set, variants: a.variant, seeds: a.seed }), { aliasDuplicateObjects: false }).trimEnd());
      },
    )
    .command('tasks', 'list the tasks a config can name with task:', {}, () => {
      for (const name of taskNames()) {
        const t = getTask(name);
        log(`${name}: ${t.description}\n  models: ${t.models.join(', ')}\n  metrics: ${t.metrics.map((m) => m.name).join(', ')}`);
      }
    })
    .demandCommand(1, 'name a command: run, config or tasks')
    .parseAsync()
    .catch((err: unknown) => {
      code = -1;
      throw err;
    });
  return code === -1 ? 1 : 0;
}
