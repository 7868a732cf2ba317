// Runs every test file under test/ with node's built-in runner (TypeScript through tsx).
// Node 20's runner does not expand globs itself, so the files are listed here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'fixtures' ? [] : find(p);
    return p.endsWith('.test.ts') ? [p] : [];
  });
}

// Arguments may name test files or directories of them; none means everything under test/.
const only = process.argv.slice(2).flatMap((p) => (statSync(p).isDirectory() ? find(p).sort() : [p]));
const files = only.length > 0 ? only : find('test').sort();
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=180000', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
