/**
 * Writes RESULTS.md at the repository root from experiments/paper/<table>/ (CSVs + meta.yaml):
 * `npx nx run experiments:results`. With --check it writes nothing and exits 1 when RESULTS.md is stale.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { cli, runMain, writeFileAtomic } from '@sigattn/common';
import { loadTables, renderPlots, renderResults } from './results.js';

async function main(): Promise<number> {
  const args = await cli('results')
    .usage('$0 [--paper dir] [--out file] [--check]\n\nRESULTS.md from the committed tables under experiments/paper/.')
    .option('paper', { type: 'string', default: 'experiments/paper', describe: 'folder whose subfolders with a meta.yaml are the tables' })
    .option('out', { type: 'string', default: 'RESULTS.md', describe: 'the file to write' })
    .option('check', { type: 'boolean', default: false, describe: 'only check that --out is up to date (exit 1 if not)' })
    .parse();
  const tables = loadTables(args.paper);
  const text = renderResults(tables, resolve('.'));
  const plots = renderPlots(tables);
  if (args.check) {
    const stale = [{ path: args.out, svg: text }, ...plots].filter((f) => (existsSync(f.path) ? readFileSync(f.path, 'utf8') : '') !== f.svg).map((f) => f.path);
    if (stale.length === 0) return 0;
    console.error(`${stale.join(', ')} out of date with ${args.paper}/*/ (CSV or meta.yaml changed); run npx nx run experiments:results`);
    return 1;
  }
  for (const plot of plots) writeFileAtomic(plot.path, plot.svg);
  writeFileAtomic(args.out, text);
  console.log(`wrote ${args.out} (${tables.length} tables) and ${plots.length} plots`);
  return 0;
}

runMain(main);
