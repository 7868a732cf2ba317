#!/usr/bin/env node
/**
 * `npm start` and `npm run build`: compile src/ to dist/ (tsc -p tsconfig.build.json) only when
 * a source changed since the last build, so a no-op start costs a directory walk instead of a
 * full type check (several seconds). "Changed" is the newest mtime of src/ (files and folders,
 * so a deleted file counts), the tsconfig files and package.json against dist/.build-stamp.
 * `--force` builds regardless (the `build` script, and `prepare` before packing).
 *
 * The build then bundles the CLI (dist/cli/entry.js and what it imports of dist/) into
 * dist/cli-bundle/, which bin/freshet.js runs: Node 20's ESM loader resolved, read and linked
 * the 300-odd modules of `freshet serve` one by one, about 100 ms of every start (issue #13's
 * target: the ready line in under 300 ms). Packages stay external (they are dependencies, loaded
 * from node_modules as before), and each dynamic import stays a chunk of its own, so what loads on
 * first use still does. The library entry points (`exports`) remain dist/'s modules. The bundle
 * sits two levels down, as the sources do, so paths taken relative to a module
 * (common/version.ts, mgmt/console-routes.ts) resolve the same from it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist', '.build-stamp');
const force = process.argv.includes('--force');

function newest(path) {
  const st = statSync(path);
  let t = st.mtimeMs;
  if (st.isDirectory()) for (const name of readdirSync(path)) t = Math.max(t, newest(join(path, name)));
  return t;
}

function stampTime() {
  try {
    return statSync(stamp).mtimeMs;
  } catch {
    return -1;
  }
}

const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'].map((p) => join(root, p));
const sourcesAt = Math.max(...inputs.map(newest));
// The bundle is checked too: a tree built before the CLI was bundled has a fresh stamp without it.
const bundled = existsSync(join(root, 'dist', 'cli-bundle', 'entry.js'));
if (!force && bundled && stampTime() >= sourcesAt) process.exit(0);

// A full build starts from an empty dist/: files of deleted sources must not ship.
rmSync(join(root, 'dist'), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const run = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (run.status !== 0) process.exit(run.status ?? 1);
const { build } = await import('esbuild');
await build({
  entryPoints: [join(root, 'dist', 'cli', 'entry.js')],
  outdir: join(root, 'dist', 'cli-bundle'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
writeFileSync(stamp, `${new Date().toISOString()}\n`);
