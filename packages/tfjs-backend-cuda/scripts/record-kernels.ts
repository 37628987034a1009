/**
 * `npx nx run tfjs-backend-cuda:record-kernels`: records which kernels every zoo variant dispatches on
 * tfjs's cpu backend (src/zoo-variants.ts) and rewrites kernels.json and the README's family table.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cli, runMain, writeFileAtomic } from '@sigattn/common';
import { recordKernelInventory, type KernelInventory } from '../src/index.js';
import { familyTable } from '../src/families.js';
import { formatInventory, parseInventory, withReadmeTable } from '../src/inventory-file.js';

const KERNELS_JSON = fileURLToPath(new URL('../kernels.json', import.meta.url));
const README = fileURLToPath(new URL('../README.md', import.meta.url));

runMain(async () => {
  await cli('record-kernels')
    .usage('$0: record the kernels one training step of every zoo variant dispatches on tfjs cpu; rewrites kernels.json and the README table')
    .parse();
  // Read both files before recording: a README without its table markers fails before anything is written.
  const readme = readFileSync(README, 'utf8');
  const previous = existsSync(KERNELS_JSON) ? parseInventory(readFileSync(KERNELS_JSON, 'utf8'), KERNELS_JSON) : null;
  const recorded = await recordKernelInventory();
  const newReadme = withReadmeTable(readme, familyTable(recorded), README);
  writeFileAtomic(KERNELS_JSON, formatInventory(recorded));
  writeFileAtomic(README, newReadme);
  if (previous !== null) {
    const names = (inv: KernelInventory) => new Set([...Object.keys(inv.kernels), ...Object.keys(inv.custom)]);
    const [before, after] = [names(previous), names(recorded)];
    for (const name of after) if (!before.has(name)) console.log(`added: ${name}`);
    for (const name of before) if (!after.has(name)) console.log(`removed: ${name}`);
  }
  const count = Object.keys(recorded.kernels).length;
  console.log(`${KERNELS_JSON}: ${count} tfjs kernels + ${Object.keys(recorded.custom).length} custom over ${recorded.variants.length} zoo variants`);
  return 0;
});
