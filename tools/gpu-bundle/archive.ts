/**
 * Writing the one archive: a tar stream through xz (-9e: the node binary and tfjs text dominate and shrink
 * about 4x and 10x). System tar and xz, because Node has no xz encoder and the launcher unpacks with them.
 */
import { spawnSync } from 'node:child_process';
import { UserError, writeFileAtomic } from '@sigattn/common';

/** Packs `top` (a folder inside `parent`) into `outFile` as .tar.xz, written atomically. */
export function writeTarXz(parent: string, top: string, outFile: string, level = '-9e'): void {
  for (const tool of ['tar', 'xz']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) {
      throw new UserError(`gpu-bundle: '${tool}' is not installed; it is needed to write the archive (Debian: apt-get install tar xz-utils)`);
    }
  }
  // Sorted names and fixed owners so two builds of the same files differ only in mtimes. The archive
  // (≤ 40 MB by build.ts's limit) is held in memory; maxBuffer leaves room to report an oversized one.
  const tar = spawnSync('bash', ['-o', 'pipefail', '-c', 'tar --sort=name --owner=0 --group=0 --numeric-owner -C "$1" -cf - "$2" | xz -T0 ' + level + ' -c',
    'bash', parent, top], { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 512 * 2 ** 20 });
  if (tar.status !== 0) throw new Error(`gpu-bundle: tar | xz failed (${tar.error?.message ?? `status ${tar.status}`}) while writing ${outFile}`);
  writeFileAtomic(outFile, tar.stdout);
}
