/**
 * Builds the offline GPU bundle: `npx nx run tools:gpu-bundle` (= `npx tsx tools/gpu-bundle/build.ts`).
 *
 * Output in .bundle/ (git-ignored): sigattn-gpu.tar.xz (one archive, ≤ 40 MB), run.sh (its launcher) and a
 * copy of the archive's MANIFEST.json. The archive holds, under sigattn-gpu/:
 *   bin/node                 this machine's process.execPath (a Linux x64 build; glibc ≥ 2.28)
 *   app/<entry>.mjs          one esbuild bundle per entry of entries.json, plus <entry>.args and ENTRIES
 *   app/*.wasm               tfjs-backend-wasm binaries, found by the bundles through their own folder
 *   app/node_modules/…       trimmed copies of the native addon packages (see natives.ts)
 *   assets/<repo path>       runtime assets (cubins, configs); the launcher sets SIGATTN_ASSETS to assets/
 *   debs/*.deb               Debian's Vulkan loader and glvnd, fetched here with apt-get download
 *   MANIFEST.json            what was built from which commit, with sizes
 *
 * Options (--help lists them): --entries FILE, --only a,b (subset of entries), --out DIR, --debs-dir DIR (use
 * these .debs, no apt), --xz-level 6 (faster, larger), --sizes (also print each part's own xz size: slow).
 */
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import {
  chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeTarXz } from './archive.js';
import { ARCHIVE_TOP, readLauncherTemplate, renderLauncher, writeEntryFiles } from './launcher.js';
import { loadManifest, type BundleEntry } from './manifest.js';
import { copyNatives, EXTERNALS, packageDir } from './natives.js';
import { cli, ConfigError, DataError, runMain, sha256File, UserError, writeFileAtomic } from '@sigattn/common';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ARCHIVE_NAME = 'sigattn-gpu.tar.xz';
const MAX_BYTES = 40_000_000;

/** The Vulkan loader and the glvnd libraries the NVIDIA ICD (libGLX_nvidia.so.0) links against. */
const DEB_PACKAGES = ['libvulkan1', 'libglvnd0', 'libegl1', 'libgl1', 'libglx0', 'libopengl0', 'libgles2'];

/**
 * CJS code inside the ESM bundles (tfjs-backend-wasm's emscripten glue) uses require and __dirname, which an
 * .mjs file lacks. `require` is declared here (esbuild's __require shim looks it up); __dirname/__filename
 * are mapped by `define` to private names so no bundled module's own top-level __dirname can clash.
 */
const BANNER = [
  "import { createRequire as __sigattnCreateRequire } from 'node:module';",
  "import { fileURLToPath as __sigattnFileURLToPath } from 'node:url';",
  'const require = __sigattnCreateRequire(import.meta.url);',
  'const __sigattn_filename = __sigattnFileURLToPath(import.meta.url);',
  "const __sigattn_dirname = __sigattn_filename.slice(0, __sigattn_filename.lastIndexOf('/'));",
].join('\n');

interface Options { entries: string; only: string[] | null; out: string; debsDir: string | null; xzLevel: string; sizes: boolean }

async function parseOptions(): Promise<Options> {
  const a = await cli('gpu-bundle')
    .usage('$0 [options]: build the offline GPU bundle (.bundle/sigattn-gpu.tar.xz and run.sh)')
    .option('entries', { type: 'string', requiresArg: true, default: join(REPO, 'tools/gpu-bundle/entries.json'), defaultDescription: 'tools/gpu-bundle/entries.json', describe: 'entries file' })
    .option('only', { type: 'string', requiresArg: true, describe: 'comma-separated subset of the entries, e.g. smoke,train' })
    .option('out', { type: 'string', requiresArg: true, default: join(REPO, '.bundle'), defaultDescription: '.bundle', describe: 'output folder' })
    .option('debs-dir', { type: 'string', requiresArg: true, describe: "use the .debs in this folder instead of 'apt-get download'" })
    .option('xz-level', { type: 'string', requiresArg: true, default: '9e', describe: 'xz preset 0 … 9, optionally with e (extreme); 6 is faster and a few MB larger' })
    .option('sizes', { type: 'boolean', default: false, describe: "also print each part's own xz size (slow)" })
    // '--xz-level -9e' would read -9e as short flags, so the level is written without its dash (9e, 6).
    .check((o) => /^-?[0-9]e?$/.test(o['xz-level']) || `--xz-level: expected 0 … 9 or 9e, found ${JSON.stringify(o['xz-level'])}`)
    .parse();
  return {
    entries: resolve(a.entries),
    only: a.only === undefined ? null : a.only.split(','),
    out: resolve(a.out),
    debsDir: a['debs-dir'] === undefined ? null : resolve(a['debs-dir']),
    xzLevel: `-${a['xz-level'].replace(/^-/, '')}`,
    sizes: a.sizes,
  };
}

const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;

function duBytes(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((sum, f) => sum + duBytes(join(path, f)), 0);
}

function git(args: string[]): string {
  const r = spawnSync('git', args, { cwd: REPO, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

/** .deb files for DEB_PACKAGES: from --debs-dir, else apt-get download into a cache under the output folder. */
function collectDebs(opts: Options): string[] {
  const dir = opts.debsDir ?? join(opts.out, 'debs');
  mkdirSync(dir, { recursive: true });
  const find = (pkg: string): string | undefined =>
    readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('_amd64.deb'));
  const missing = DEB_PACKAGES.filter((p) => find(p) === undefined);
  if (missing.length > 0 && opts.debsDir === null) {
    console.log(`gpu-bundle: apt-get download ${missing.join(' ')} (into ${relative(REPO, dir)})`);
    const r = spawnSync('apt-get', ['-oAPT::Architecture=amd64', 'download', ...missing], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) {
      throw new DataError(`gpu-bundle: 'apt-get download ${missing.join(' ')}' failed (status ${r.status}). On Debian/Ubuntu run 'apt-get update' ` +
        `first; elsewhere fetch the amd64 .debs of ${DEB_PACKAGES.join(', ')} and pass --debs-dir DIR (see tools/gpu-bundle/README.md)`);
    }
  }
  const still = DEB_PACKAGES.filter((p) => find(p) === undefined);
  if (still.length > 0) {
    throw new DataError(`gpu-bundle: no ${still.map((p) => `${p}_*_amd64.deb`).join(', ')} in ${dir}; put them there (apt-get download ${still.join(' ')})`);
  }
  return DEB_PACKAGES.map((p) => join(dir, find(p)!));
}

async function bundleEntry(e: BundleEntry, appDir: string): Promise<esbuild.Metafile> {
  const result = await esbuild.build({
    entryPoints: [join(REPO, e.path)],
    outfile: join(appDir, `${e.name}.mjs`),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNALS,
    define: { __dirname: '__sigattn_dirname', __filename: '__sigattn_filename' },
    banner: { js: BANNER },
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  // A clash between the banner and bundled code is a SyntaxError that would otherwise surface only on the GPU host.
  const check = spawnSync(process.execPath, ['--check', join(appDir, `${e.name}.mjs`)], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`gpu-bundle: bundle of ${e.name} does not parse:\n${check.stderr}`);
  return result.metafile;
}

/** xz size of one file or folder on its own (for the README's table), through tar for folders. */
function xzSize(path: string): number {
  const cmd = statSync(path).isDirectory()
    ? 'tar -C "$(dirname "$1")" -cf - "$(basename "$1")" | xz -T0 -9e -c | wc -c'
    : 'xz -T0 -9e -c "$1" | wc -c';
  return Number(spawnSync('bash', ['-o', 'pipefail', '-c', cmd, 'bash', path], { encoding: 'utf8' }).stdout.trim());
}

async function main(): Promise<void> {
  const opts = await parseOptions();
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new UserError(`gpu-bundle: build on Linux x64 (the node binary is this machine's own); this is ${process.platform}-${process.arch}`);
  }
  const manifest = loadManifest(opts.entries);
  let entries = manifest.entries;
  if (opts.only !== null) {
    const unknown = opts.only.filter((n) => !entries.some((e) => e.name === n));
    if (unknown.length > 0) throw new ConfigError(`gpu-bundle: --only names ${unknown.join(', ')}, not in ${opts.entries} (it has ${entries.map((e) => e.name).join(', ')})`);
    entries = entries.filter((e) => opts.only!.includes(e.name));
  }

  mkdirSync(opts.out, { recursive: true });
  // Unpacked copies of older builds (run.sh's default cache next to it) would bloat `carry .bundle`.
  rmSync(join(opts.out, '.sigattn-gpu-cache'), { recursive: true, force: true });
  const staging = join(opts.out, '.staging');
  rmSync(staging, { recursive: true, force: true });
  const root = join(staging, ARCHIVE_TOP);
  const appDir = join(root, 'app');
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(appDir, { recursive: true });

  copyFileSync(process.execPath, join(root, 'bin/node'));
  chmodSync(join(root, 'bin/node'), 0o755);

  const built: BundleEntry[] = [];
  const skipped: string[] = [];
  let usesWasm = false;
  for (const e of entries) {
    if (!existsSync(join(REPO, e.path))) {
      console.warn(`gpu-bundle: warning: skipping entry '${e.name}': ${e.path} does not exist (yet)`);
      skipped.push(e.name);
      continue;
    }
    const meta = await bundleEntry(e, appDir);
    usesWasm ||= Object.keys(meta.inputs).some((p) => p.includes('tfjs-backend-wasm'));
    built.push(e);
  }
  if (built.length === 0) throw new ConfigError(`gpu-bundle: none of the entries in ${opts.entries} exists; nothing to bundle`);
  writeEntryFiles(appDir, built);

  if (usesWasm) {
    const wasmDist = join(packageDir('@tensorflow/tfjs-backend-wasm', REPO), 'dist');
    for (const f of readdirSync(wasmDist).filter((n) => n.endsWith('.wasm'))) copyFileSync(join(wasmDist, f), join(appDir, f));
  }
  copyNatives(REPO, appDir);

  const assets: string[] = [];
  for (const a of manifest.assets) {
    if (!existsSync(join(REPO, a))) {
      console.warn(`gpu-bundle: warning: asset ${a} does not exist; skipped`);
      continue;
    }
    cpSync(join(REPO, a), join(root, 'assets', a), { recursive: true });
    assets.push(a);
  }

  const debs = collectDebs(opts);
  mkdirSync(join(root, 'debs'));
  for (const d of debs) copyFileSync(d, join(root, 'debs', d.split('/').pop()!));

  const parts: [string, string][] = [
    ['node binary', 'bin/node'],
    ['dawn.node', 'app/node_modules/webgpu/dist/linux-x64/dawn.node'],
    ['koffi.node', 'app/node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node'],
    ...built.map((e): [string, string] => [`entry ${e.name}`, `app/${e.name}.mjs`]),
    ...(usesWasm ? readdirSync(appDir).filter((f) => f.endsWith('.wasm')).map((f): [string, string] => [f, `app/${f}`]) : []),
    ...(assets.length > 0 ? [['assets', 'assets'] as [string, string]] : []),
    ['debs', 'debs'],
  ];
  const sizes = parts.map(([label, rel]) => ({ label, path: rel, bytes: duBytes(join(root, rel)), xzBytes: opts.sizes ? xzSize(join(root, rel)) : undefined }));
  const info = {
    builtAt: new Date().toISOString(),
    gitCommit: git(['rev-parse', 'HEAD']),
    gitDirty: git(['status', '--porcelain']) !== '',
    node: process.version,
    entries: built,
    skippedEntries: skipped,
    assets,
    debs: debs.map((d) => d.split('/').pop()),
    sizes,
  };
  writeFileSync(join(root, 'MANIFEST.json'), JSON.stringify(info, null, 2) + '\n');

  const archive = join(opts.out, ARCHIVE_NAME);
  console.log(`gpu-bundle: writing ${relative(REPO, archive)} (xz ${opts.xzLevel}: 2–5 minutes on 2 cores)`);
  writeTarXz(staging, ARCHIVE_TOP, archive, opts.xzLevel);
  const sha = sha256File(archive);
  const launcher = join(opts.out, 'run.sh');
  writeFileAtomic(launcher, renderLauncher(readLauncherTemplate(), { bundleId: sha.slice(0, 16), archiveName: ARCHIVE_NAME, sha256: sha }));
  chmodSync(launcher, 0o755);
  copyFileSync(join(root, 'MANIFEST.json'), join(opts.out, 'MANIFEST.json'));
  rmSync(staging, { recursive: true, force: true });

  const total = statSync(archive).size;
  console.log('\n| part | unpacked | xz alone |\n|---|---:|---:|');
  for (const s of sizes) console.log(`| ${s.label} | ${mb(s.bytes)} | ${s.xzBytes === undefined ? '-' : mb(s.xzBytes)} |`);
  console.log(`| **archive ${ARCHIVE_NAME}** | ${mb(sizes.reduce((a, s) => a + s.bytes, 0))} | **${mb(total)}** |`);
  console.log(`\nentries: ${built.map((e) => e.name).join(', ')}${skipped.length ? `; skipped (missing): ${skipped.join(', ')}` : ''}`);
  console.log(`run on a GPU host: copy ${relative(REPO, launcher)} and ${relative(REPO, archive)} together, then ./run.sh smoke`);
  if (total > MAX_BYTES) {
    throw new UserError(`gpu-bundle: ${ARCHIVE_NAME} is ${mb(total)}, over the ${mb(MAX_BYTES)} limit: the largest parts are listed above ` +
      '(drop entries with --only, or keep big assets out of entries.json "assets")');
  }
}

runMain(main);
