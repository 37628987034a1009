/**
 * Writing the one archive: a tar stream through xz (-9e: the node binary and tfjs text dominate and shrink
 * about 4x and 10x). System tar and xz, because Node has no xz encoder and the launcher unpacks with them.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, renameSync, rmSync } from 'node:fs';
import { tempPathFor, UserError } from '@sigattn/common';

/** Packs `top` (a folder inside `parent`) into `outFile` as .tar.xz; writes to a temp name, then renames. */
export function writeTarXz(parent: string, top: string, outFile: string, level = '-9e'): void {
  for (const tool of ['tar', 'xz']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) {
      throw new UserError(`gpu-bundle: '${tool}' is not installed; it is needed to write the archive (Debian: apt-get install tar xz-utils)`);
    }
  }
  const tmp = tempPathFor(outFile);
  const fd = openSync(tmp, 'w');
  try {
    // Sorted names and fixed owners so two builds of the same files differ only in mtimes.
    const tar = spawnSync('bash', ['-o', 'pipefail', '-c', 'tar --sort=name --owner=0 --group=0 --numeric-owner -C "$1" -cf - "$2" | xz -T0 ' + level + ' -c',
      'bash', parent, top], { stdio: ['ignore', fd, 'inherit'] });
    if (tar.status !== 0) throw new Error(`gpu-bundle: tar | xz failed with status ${tar.status} while writing ${outFile}`);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, outFile);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
