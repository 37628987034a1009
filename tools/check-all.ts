/**
 * `npm test`: runs every check of the repository — typecheck, lint and all vitest projects (every
 * packages/*, experiments/* and tools) — and prints one summary line `N passed, N failed, N skipped`.
 * Typecheck and lint count as one check each. Exits non-zero if anything failed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, makeTempDir, runMain } from '@sigattn/common';

interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: { status: string; assertionResults: unknown[] }[];
}

function run(title: string, cmd: string, args: string[]): boolean {
  console.log(`\n=== ${title}: ${cmd} ${args.join(' ')}`);
  return spawnSync(cmd, args, { stdio: 'inherit' }).status === 0;
}

runMain(async () => {
  await cli('check-all').usage('$0: typecheck, lint and every vitest project; ends with "N passed, N failed, N skipped"').parse();
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const [title, args] of [['typecheck', ['tsc', '-b']], ['lint', ['eslint', '--max-warnings', '0', '.']]] as const) {
    if (run(title, 'npx', [...args])) passed++;
    else {
      failed++;
      console.log(`check failed: ${title}`);
    }
  }

  const tmp = makeTempDir('sigattn-vitest-');
  try {
    const report = join(tmp.path, 'report.json');
    const ok = run('tests', 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`]);
    if (existsSync(report)) {
      const r = JSON.parse(readFileSync(report, 'utf8')) as VitestReport;
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
  } finally {
    tmp.remove();
  }
  console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
  return failed === 0 ? 0 : 1;
});
