/**
 * Writes RESULTS.md at the repository root from experiments/paper/<table>/ (CSVs + meta.yaml):
 * `npx nx run experiments:results`. With --check it writes nothing and exits 1 when RESULTS.md is stale.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { cli, runMain, writeFileAtomic } from '@sigattn/common';
import { loadTables, renderResults } from './results.js';

async function main(): Promise<number> {
  const args = await cli('results')
    .usage('$0 [--paper dir] [--out file] [--check]\n\nRESULTS.md from the committed tables under experiments/paper/.')
    .option('paper', { type: 'string', default: 'experiments/paper', describe: 'folder whose subfolders with a meta.yaml are the tables' })
    .option('out', { type: 'string', default: 'RESULTS.md', describe: 'the file to write' })
    .option('check', { type: 'boolean', default: false, describe: 'only check that --out is up to date (exit 1 if not)' })
    .parse();
  const tables = loadTables(args.paper);
  const text = renderResults(tables, resolve('.'));
  if (args.check) {
    const current = existsSync(args.out) ? readFileSync(args.out, 'utf8') : '';
    if (current === text) return 0;
    console.error(`${args.out} is out of date with ${args.paper}/*/ (CSV or meta.yaml changed); run npx nx run experiments:results`);
    return 1;
  }
  writeFileAtomic(args.out, text);
  console.log(`wrote ${args.out} (${tables.length} tables)`);
  return 0;
}

runMain(main);
