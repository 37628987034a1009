/**
 * nx inference plugin: every `configs/experiments/<name>.yaml` becomes targets of the one project
 * `experiments` (root `experiments/`), with no project.json edit:
 *
 *   <name>          train it: `tsx packages/training-runner/src/main.ts run configs/experiments/<name>.yaml`
 *                   (extra args such as `--set=train.epochs=1`, `--variant=x`, `--fresh` are forwarded).
 *                   Cached: inputs are the config, every file it extends, configs/models/** (the model
 *                   group files a config names with `model: <file>`), the packages' sources and the
 *                   lockfile; the output is the run's results folder `<output>/<name>` (`results/<name>`).
 *   config-<name>   print the resolved config (never cached).
 *
 * A file whose name is not a usable target name, whose `name:` key differs from the file name (the
 * runner writes to `<output>/<name>/`, which is what nx caches), or whose target names clash with a
 * target of experiments/project.json fails with one line naming the file and the fix.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import type { CreateNodesContext, CreateNodesResult, CreateNodesV2 } from 'nx/src/devkit-exports.js';
import { createNodesFromFiles } from 'nx/src/devkit-exports.js';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '@sigattn/common';

/** Where experiment configs live and which project gets their targets. */
export const EXPERIMENTS_GLOB = 'configs/experiments/*.yaml';
export const PROJECT_NAME = 'experiments';
export const PROJECT_ROOT = 'experiments';
/** Prefix of the target that prints an experiment's resolved config. */
export const CONFIG_TARGET_PREFIX = 'config-';

const RUNNER = 'tsx packages/training-runner/src/main.ts';
/** Lower-case words joined by dashes: valid as an nx target, a results folder and a shell word. */
const NAME_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** What the plugin needs from an experiment's config chain. */
export interface ExperimentConfigFacts {
  /** Workspace-relative paths of the config and every file it extends (depth-first, no repeats). */
  files: string[];
  /** The `name:` key after merging the chain (undefined if no file sets it). */
  name: string | undefined;
  /** The `output:` key after merging the chain (undefined if no file sets it). */
  output: string | undefined;
}

function fail(file: string, message: string): never {
  throw new ConfigError(`${file}: ${message}`);
}

function readMapping(absPath: string, shown: string): Record<string, unknown> {
  if (!existsSync(absPath)) fail(shown, 'file not found');
  let data: unknown;
  try {
    data = parseYaml(readFileSync(absPath, 'utf8'));
  } catch (err) {
    fail(shown, `invalid YAML: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) fail(shown, 'expected a YAML mapping at the top level');
  return data as Record<string, unknown>;
}

/**
 * Follow `extends` (a path or list of paths relative to the file, as the runner does) and collect the
 * files plus the merged top-level `name` and `output` (later files win, the config itself last).
 */
export function readConfigChain(workspaceRoot: string, configFile: string): ExperimentConfigFacts {
  const files: string[] = [];
  let name: string | undefined;
  let output: string | undefined;
  const visit = (absPath: string, stack: string[]): void => {
    const shown = relative(workspaceRoot, absPath).split(sep).join('/');
    if (stack.includes(absPath)) fail(configFile, `extends cycle: ${[...stack, absPath].map((p) => relative(workspaceRoot, p)).join(' → ')}`);
    if (shown.startsWith('..') || isAbsolute(shown)) fail(configFile, `extends ${absPath}, which is outside the workspace (nx can only hash workspace files)`);
    const tree = readMapping(absPath, shown);
    const parents = tree.extends === undefined ? [] : Array.isArray(tree.extends) ? tree.extends : [tree.extends];
    for (const parent of parents) {
      if (typeof parent !== 'string') fail(shown, `key extends: expected a file path or a list of paths, found ${JSON.stringify(parent)}`);
      visit(resolve(dirname(absPath), parent), [...stack, absPath]);
    }
    if (!files.includes(shown)) files.push(shown);
    if (typeof tree.name === 'string') name = tree.name;
    if (typeof tree.output === 'string') output = tree.output;
  };
  visit(resolve(workspaceRoot, configFile), []);
  // The config itself first, then what it extends.
  return { files: [configFile, ...files.filter((f) => f !== configFile)], name, output };
}

/** Target names already declared in experiments/project.json (an inferred target of that name would be overridden). */
function declaredTargets(workspaceRoot: string): string[] {
  const path = join(workspaceRoot, PROJECT_ROOT, 'project.json');
  if (!existsSync(path)) return [];
  const json = JSON.parse(readFileSync(path, 'utf8')) as { targets?: Record<string, unknown> };
  return Object.keys(json.targets ?? {});
}

/** The `experiments` project's targets for one config file (workspace-relative, e.g. configs/experiments/lm.yaml). */
export function experimentNodes(configFile: string, workspaceRoot: string): CreateNodesResult {
  const name = basename(configFile, '.yaml');
  if (!NAME_PATTERN.test(name)) {
    fail(configFile, `"${name}" cannot be an experiment name: use lower-case letters, digits and single dashes (e.g. mae-probe.yaml), since it becomes the target experiments:<name> and the folder results/<name>; rename the file`);
  }
  if (name.startsWith(CONFIG_TARGET_PREFIX)) {
    fail(configFile, `experiment names may not start with "${CONFIG_TARGET_PREFIX}" (config-<name> is the target that prints <name>'s resolved config); rename the file`);
  }
  const taken = declaredTargets(workspaceRoot);
  for (const target of [name, `${CONFIG_TARGET_PREFIX}${name}`]) {
    if (taken.includes(target)) fail(configFile, `target "${target}" is already declared in ${PROJECT_ROOT}/project.json; rename the config file`);
  }
  const chain = readConfigChain(workspaceRoot, configFile);
  if (chain.name !== name) {
    fail(configFile, `name is ${chain.name === undefined ? 'not set' : `"${chain.name}"`} but the file is ${name}.yaml; add \`name: ${name}\` (runs write to <output>/<name>/, the folder nx caches for experiments:${name})`);
  }
  const output = normalize(chain.output ?? 'results').split(sep).join('/').replace(/\/$/, '');
  if (isAbsolute(output) || output.startsWith('..')) {
    fail(configFile, `output is "${chain.output}"; experiments run through nx must write inside the workspace (e.g. output: results) so nx can cache the folder`);
  }
  const fileInput = (path: string) => `{workspaceRoot}/${path}`;
  const runTarget = {
    executor: 'nx:run-commands',
    options: { command: `${RUNNER} run ${configFile}`, cwd: '{workspaceRoot}' },
    cache: true,
    // Training uses every core; two experiments at once would only slow each other down.
    parallelism: false,
    inputs: [
      ...chain.files.map(fileInput),
      fileInput('configs/models/**/*'),
      fileInput('packages/*/src/**/*'),
      fileInput('packages/*/package.json'),
      fileInput('package-lock.json'),
    ],
    outputs: [fileInput(`${output}/${name}`)],
    metadata: { description: `Train ${configFile} (args such as --set=key=value, --variant=name, --fresh are passed on); writes ${output}/${name}/` },
  };
  const configTarget = {
    executor: 'nx:run-commands',
    options: { command: `${RUNNER} config ${configFile}`, cwd: '{workspaceRoot}' },
    cache: false,
    metadata: { description: `Print the resolved config of ${configFile} (--set=key=value overrides apply)` },
  };
  return {
    projects: {
      [PROJECT_ROOT]: {
        name: PROJECT_NAME,
        targets: { [name]: runTarget, [`${CONFIG_TARGET_PREFIX}${name}`]: configTarget },
      },
    },
  };
}

export const createNodesV2: CreateNodesV2 = [
  EXPERIMENTS_GLOB,
  (configFiles, _options, context: CreateNodesContext) =>
    createNodesFromFiles((file, _opts, ctx) => experimentNodes(file, ctx.workspaceRoot), configFiles, _options, context),
];
