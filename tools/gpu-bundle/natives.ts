/**
 * Native addons travel as tiny copies of their npm packages under app/node_modules/, so the packages' own
 * loaders find their binaries unchanged: webgpu's index.js requires <pkg>/dist/linux-x64/dawn.node by a path
 * built from its own URL, and koffi's loader requires '@koromix/koffi-linux-x64', whose index.js requires
 * ./linux_x64/koffi.node. The bundles keep `webgpu` and `koffi` external; Node resolves them from app/.
 * The file lists are explicit so that a version bump that moves a file fails the build (and the test).
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UserError } from '@sigattn/common';

export interface NativePackage { name: string; files: string[] }

export const NATIVE_PACKAGES: NativePackage[] = [
  { name: 'webgpu', files: ['package.json', 'index.js', 'LICENSE.md', 'dist/linux-x64/dawn.node'] },
  {
    name: 'koffi',
    files: ['package.json', 'index.js', 'index.cjs', 'LICENSE.txt', 'src/koffi/index.js', 'src/koffi/index.cjs',
      'src/koffi/src/static.js', 'src/koffi/src/static.cjs'],
  },
  { name: '@koromix/koffi-linux-x64', files: ['package.json', 'index.js', 'linux_x64/koffi.node'] },
];

/** Packages the bundles import at run time instead of inlining (esbuild `external`). */
export const EXTERNALS = ['webgpu', 'koffi'];

/** Folder of an installed package, found the way Node would from `fromDir`. */
export function packageDir(name: string, fromDir: string): string {
  const require = createRequire(join(fromDir, 'noop.js'));
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    // Packages whose "exports" hide package.json: walk up from the main file.
    let dir = dirname(require.resolve(name));
    while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
    return dir;
  }
}

/** Files of NATIVE_PACKAGES that are missing from the installed packages (empty when all are there). */
export function missingNativeFiles(fromDir: string): string[] {
  const missing: string[] = [];
  for (const p of NATIVE_PACKAGES) {
    let dir: string;
    try {
      dir = packageDir(p.name, fromDir);
    } catch {
      missing.push(`${p.name} (package not installed)`);
      continue;
    }
    for (const f of p.files) if (!existsSync(join(dir, f))) missing.push(join(dir, f));
  }
  return missing;
}

/** Copies NATIVE_PACKAGES into <appDir>/node_modules/<name>/. */
export function copyNatives(fromDir: string, appDir: string): void {
  const missing = missingNativeFiles(fromDir);
  if (missing.length > 0) {
    throw new UserError(`gpu-bundle: native package files not found: ${missing.join(', ')}; run npm ci, or update NATIVE_PACKAGES in tools/gpu-bundle/natives.ts for the installed versions`);
  }
  for (const p of NATIVE_PACKAGES) {
    const src = packageDir(p.name, fromDir);
    for (const f of p.files) {
      const dst = join(appDir, 'node_modules', p.name, f);
      mkdirSync(dirname(dst), { recursive: true });
      copyFileSync(src + '/' + f, dst);
    }
  }
}
