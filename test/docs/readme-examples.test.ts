/**
 * README examples are tested: every fenced ```js / ```ts / ```javascript / ```typescript block of
 * README.md runs, as written, against a real Freshet server, and must finish cleanly.
 *
 * Decisions (see also readme-examples.ts and readme-hooks.mjs):
 * - One example at a time, each with a fresh in-process server (`startTestServer`, ports 0) over a
 *   fresh data directory, and a fresh empty working directory.
 * - Addresses: examples keep the reader's defaults (`couchbase://127.0.0.1`, `127.0.0.1:5984`,
 *   `:8091`, `:11210`); a small explicit table (ADDRESS_SUBSTITUTIONS) rewrites exactly those to
 *   the test server's real ports. Nothing else is edited, so the README stays natural to read.
 * - Process: each example is written to `example.mjs` (js) or `example.mts` (ts) in its working
 *   directory and run by a child `node --import tsx --import readme-register.mjs`, so an
 *   example that never ends, leaks a handle (an open SDK cluster, a live feed) or rejects
 *   unhandled fails here as it would for a user. A child still running after EXAMPLE_TIMEOUT_MS is
 *   killed and the example fails.
 * - Imports: `freshet`, `freshet/consumer`, `freshet/replicator` and `freshet/codec` resolve to
 *   src/*.ts through a resolve hook mirroring package.json `exports` (dist/ may be missing or
 *   stale in a test run); other bare imports of the example (`couchbase`, `pouchdb`) resolve from
 *   the repository root. The working directory therefore holds only what the example writes.
 * - Clean data: after the example exits 0, the server is closed; its data directory, and every
 *   Freshet data directory the example created in its working directory (`Engine.open({ dataDir:
 *   './data' })`), must have released `freshet.lock` and reopen with `recoveredFromCrash ===
 *   false` (the example closed what it opened).
 * - Types: the ts examples are also type-checked, together, by tsc with the project's compiler
 *   options and `paths` mapping `freshet`/`freshet/*` to src/, so a renamed API fails here even on
 *   a line an example's run does not reach.
 * - Skips: `<!-- readme-test: skip (reason) -->` right before a fence skips that example with the
 *   reason in the report. Use it only for what cannot run here (none does today).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../../src/engine/engine.js';
import { LOCK_FILE } from '../../src/store/dir-lock.js';
import { startTestServer, tempDir } from '../helpers/server.js';
import { extractExamples, readmeExamples, substituteAddresses, type ReadmeExample } from './readme-examples.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const REGISTER = fileURLToPath(new URL('./readme-register.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = import.meta.resolve('tsx');
const EXAMPLE_TIMEOUT_MS = 30_000;
const TSC_TIMEOUT_MS = 120_000;
/** Bytes of the child's output kept for a failure message. */
const OUTPUT_KEEP = 8192;
/** LMDB file of a Freshet data directory (src/store/lmdb-store.ts). */
const STORE_FILE = 'freshet.mdb';

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  output: string;
}

/** Run `node ...args` in `cwd`, killed after `timeoutMs`; the output's tail is kept for a failure message. */
function runNode(args: string[], cwd: string, timeoutMs: number): Promise<RunResult> {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT; // the child is a plain program, not a test file
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_KEEP);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut, output });
    });
  });
}

/** Every directory under `root` holding a Freshet store. */
function storeDirs(root: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name === STORE_FILE) found.push(entry.parentPath ?? entry.path);
  }
  return found;
}

/** The directory was closed cleanly: no lock left, and the next open recovers nothing. */
async function assertClosedCleanly(dir: string, what: string): Promise<void> {
  assert.equal(existsSync(join(dir, LOCK_FILE)), false, `${what}: ${LOCK_FILE} was not released`);
  const engine = await Engine.open({ dataDir: dir, expiryPagerMs: 0 });
  try {
    assert.equal(engine.recoveredFromCrash, false, `${what}: the next open recovered from a crash`);
  } finally {
    await engine.close();
  }
}

async function checkExample(example: ReadmeExample): Promise<void> {
  const root = tempDir('freshet-readme-');
  const cwd = join(root, 'cwd');
  mkdirSync(cwd);
  const ts = await startTestServer({ dataDir: join(root, 'server') });
  let serverClosed = false;
  try {
    const file = join(cwd, `example${example.ext}`);
    writeFileSync(file, substituteAddresses(example.code, ts.server.ports));
    const run = await runNode(['--import', TSX, '--import', REGISTER, file], cwd, EXAMPLE_TIMEOUT_MS);
    const where = `README.md:${example.line}`;
    assert.equal(run.timedOut, false, `${where} still running after ${EXAMPLE_TIMEOUT_MS} ms:\n${run.output}`);
    assert.equal(run.code, 0, `${where} exited with ${run.code ?? run.signal}:\n${run.output}`);
    await ts.server.close();
    serverClosed = true;
    await assertClosedCleanly(join(root, 'server'), `${where}, the server's data directory`);
    for (const dir of storeDirs(cwd)) await assertClosedCleanly(dir, `${where}, ${dir}`);
  } finally {
    if (!serverClosed) await ts.server.close();
    rmSync(root, { recursive: true, force: true });
  }
}

/** tsc over every ts example at once, each as its own module (`example-LINE.mts`). */
async function typeCheck(examples: ReadmeExample[]): Promise<RunResult> {
  const dir = tempDir('freshet-readme-tsc-');
  try {
    const files = examples.map((e) => {
      const file = join(dir, `example-${e.line}.mts`);
      writeFileSync(file, e.code);
      return file;
    });
    const src = join(ROOT, 'src');
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      extends: join(ROOT, 'tsconfig.json'),
      compilerOptions: {
        noEmit: true,
        rootDir: '/',
        typeRoots: [join(ROOT, 'node_modules/@types')],
        paths: { freshet: [join(src, 'index.ts')], 'freshet/*': [join(src, '*/index.ts')] },
      },
      include: [],
      files,
    }));
    return await runNode([join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], dir, TSC_TIMEOUT_MS);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('README examples', () => {
  const examples = readmeExamples(README);

  test('the README has js/ts examples, and the extractor honours fences and skip markers', () => {
    assert.ok(examples.length >= 5, `only ${examples.length} examples found in README.md`);
    const md = ['```sh', 'not js', '```', '', '<!-- readme-test: skip (needs a cluster) -->', '', '```ts', 'a;', '```', '```js', 'b;', '```'].join('\n');
    assert.deepEqual(extractExamples(md), [
      { line: 7, lang: 'ts', ext: '.mts', code: 'a;\n', skip: 'needs a cluster' },
      { line: 10, lang: 'js', ext: '.mjs', code: 'b;\n' },
    ]);
    assert.equal(substituteAddresses('couchbase://127.0.0.1/default http://127.0.0.1:8091 http://u:p@127.0.0.1:5984/a 127.0.0.1:11210', { kv: 1, mgmt: 2, http: 3 }),
      'couchbase://127.0.0.1:1/default http://127.0.0.1:2 http://u:p@127.0.0.1:3/a 127.0.0.1:1');
  });

  test('the TypeScript examples type-check', { timeout: TSC_TIMEOUT_MS + 30_000 }, async () => {
    const ts = examples.filter((e) => e.ext === '.mts' && e.skip === undefined);
    const run = await typeCheck(ts);
    assert.equal(run.timedOut, false, `tsc still running after ${TSC_TIMEOUT_MS} ms`);
    assert.equal(run.code, 0, `tsc (README.md example-LINE.mts):\n${run.output}`);
  });

  for (const example of examples) {
    const name = `README.md:${example.line} (${example.lang})`;
    if (example.skip !== undefined) test(name, { skip: example.skip }, () => undefined);
    else test(name, { timeout: EXAMPLE_TIMEOUT_MS + 30_000 }, () => checkExample(example));
  }
});
