#!/usr/bin/env node
// Runs every check of the repository — typecheck, lint and all vitest projects — and prints one
// summary line `N passed, N failed, N skipped`. Typecheck and lint count as one check each.
// Exits non-zero if anything failed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = (title, cmd, args, env = {}) => {
  console.log(`\n=== ${title}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status === 0;
};

let passed = 0;
let failed = 0;
let skipped = 0;
for (const [title, args] of [['typecheck', ['tsc', '-b']], ['lint', ['eslint', '--max-warnings', '0', '.']]]) {
  if (run(title, 'npx', args)) passed++;
  else { failed++; console.log(`check failed: ${title}`); }
}

const report = join(mkdtempSync(join(tmpdir(), 'sigattn-vitest-')), 'report.json');
const ok = run('tests', 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`]);
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
  // A test file that fails to load reports no tests; count it as a failure so it cannot hide.
  for (const f of r.testResults) if (f.status === 'failed' && f.assertionResults.length === 0) failed++;
} else {
  failed++;
  console.log('vitest wrote no report');
}
if (!ok && failed === 0) failed++;
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed === 0 ? 0 : 1);
