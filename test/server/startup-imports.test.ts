/**
 * What `freshet serve` loads to reach its ready line (the start-up budget of bench/startup.ts):
 * the replicator and its HTTP client (undici), prom-client, QuickJS (design functions), views and
 * Mango, the cluster code with its DCP client, the other subcommands and cli-progress load on
 * first use, not at start. The real command runs
 * as a child process (src/cli/entry.ts through tsx) with the resolve recorder of
 * test/fixtures/record-imports.mjs; then the first `POST /_replicate`, the first scrape, the
 * first write checked by a `validate_doc_update` and the first `_find` load what they need on the
 * same running server, which shows both that the probe sees those modules
 * and that loading them late works.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const CLI = new URL('../../src/cli/entry.ts', import.meta.url).pathname;
const AUTH = `Basic ${Buffer.from('Administrator:startup-secret').toString('base64')}`;

/** Module groups that must not load before the ready line. */
const LAZY: Array<[string, RegExp]> = [
  ['the replicator', /\/src\/replicator\/(manager|replicator|http-client|http-peer|job)\.ts$/],
  ['undici', /node_modules\/undici\//],
  ['prom-client', /node_modules\/prom-client\//],
  ['the metrics registry', /\/src\/metrics\/prometheus\.ts$/],
  ['QuickJS', /node_modules\/quickjs-emscripten/],
  ['views and Mango', /\/src\/(views|mango)\//],
  ['the cluster code', /\/src\/cluster\//],
  ['the DCP client', /\/src\/(consumer|client)\//],
  ['cli-progress', /node_modules\/cli-progress\//],
  ['other subcommands', /\/src\/cli\/(replicate-run|tail-run)\.ts$/],
];

const loadedOf = async (file: string): Promise<string[]> =>
  (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '').map((l) => l.split('\t')[1] ?? '');

test('freshet serve reaches its ready line without the modules that load on first use, which then load when used', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'freshet-startup-imports-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const record = join(dir, 'resolved.txt');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', './test/fixtures/record-imports.mjs', CLI, 'serve', '--data', join(dir, 'data'), '--kv-port', '0', '--mgmt-port', '0', '--http-port', '0', '--vbuckets', '8', '--log-level', 'error', '-p', 'startup-secret'],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RECORD_IMPORTS_FILE: record } },
  );
  const exited = once(child, 'exit');
  t.after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });
  const ready = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => l.startsWith('freshet ready') && resolve(l));
    child.once('exit', (code) => reject(new Error(`freshet serve exited with ${code}`)));
  });
  const atReady = await loadedOf(record);
  assert.ok(atReady.some((u) => u.endsWith('/src/engine/engine.ts')), 'the recorder saw the engine load');
  for (const [what, pattern] of LAZY) assert.deepEqual(atReady.filter((u) => pattern.test(u)), [], `${what} loaded before the ready line`);

  // First use: a replication between two local databases, a Prometheus scrape, a write that a
  // design document's validate_doc_update checks (in QuickJS), and a Mango query.
  const http = Number(/ http=(\d+)/.exec(ready)?.[1]);
  const mgmt = Number(/ mgmt=(\d+)/.exec(ready)?.[1]);
  const call = async (port: number, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, text: await res.text() };
  };
  assert.equal((await call(http, 'PUT', '/src?q=4')).status, 201);
  assert.equal((await call(http, 'PUT', '/src/a', { n: 1 })).status, 201);
  const rep = await call(http, 'POST', '/_replicate', { source: 'src', target: 'dst', create_target: true });
  assert.equal(rep.status, 200, rep.text);
  assert.equal((JSON.parse(rep.text) as { ok: boolean }).ok, true);
  assert.equal((await call(http, 'GET', '/dst/a')).status, 200);
  const scrape = await call(mgmt, 'GET', '/metrics');
  assert.equal(scrape.status, 200);
  assert.match(scrape.text, /^freshet_process_resident_memory_bytes \d/m);
  const vdu = 'function (doc) { if (doc.bad) throw({ forbidden: "bad" }); }';
  assert.equal((await call(http, 'PUT', '/src/_design/v', { validate_doc_update: vdu })).status, 201);
  const refused = await call(http, 'PUT', '/src/b', { bad: true });
  assert.equal(refused.status, 403, refused.text);
  const found = await call(http, 'POST', '/src/_find', { selector: { n: 1 } });
  assert.equal(found.status, 200, found.text);
  assert.deepEqual((JSON.parse(found.text) as { docs: Array<{ _id: string }> }).docs.map((d) => d._id), ['a']);
  const afterUse = await loadedOf(record);
  for (const [what, pattern] of LAZY.slice(0, 6)) assert.ok(afterUse.some((u) => pattern.test(u)), `${what} loaded on first use`);
});
