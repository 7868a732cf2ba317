/** `freshet replicate SOURCE TARGET` as a user runs it: exit codes and the summary JSON. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startPouchServer, type PouchServer } from './helpers/pouchdb-server.js';
import { call, db, leafMap, ok, seedPlain } from './helpers/data.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let p: PouchServer;
let f: TestServer;
before(async () => {
  [p, f] = await Promise.all([startPouchServer(), startTestServer()]);
});
after(async () => {
  await Promise.all([p?.stop(), f?.close()]);
});

interface Run {
  code: number | null;
  summary: Record<string, unknown> | null;
  stderr: string;
}

function cli(args: string[], opts: { stopWhen?: () => Promise<boolean> } = {}): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/replicator/helpers/cli-main.ts', 'replicate', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  if (opts.stopWhen) {
    const cond = opts.stopWhen;
    void (async () => {
      while (child.exitCode === null && !(await cond())) await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGTERM');
    })();
  }
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      let summary: Record<string, unknown> | null = null;
      try {
        summary = JSON.parse(last) as Record<string, unknown>;
      } catch {
        summary = null;
      }
      resolve({ code, summary, stderr: err });
    }),
  );
}

describe('freshet replicate', () => {
  test('one-shot into Freshet with credentials in the URL: exit 0 and a summary', async () => {
    const src = db(await p.createDb('cli-src'));
    await seedPlain(src, 1200);
    const target = `http://Administrator:password@127.0.0.1:${f.server.ports.http}/cli-copy`;
    const run = await cli([src.url, target, '--create-target', '--batch-size', '200']);
    assert.equal(run.code, 0, run.stderr);
    const s = run.summary!;
    assert.equal(s.ok, true);
    assert.equal(s.docs_written, 1200);
    assert.equal(s.checkpointed_source_seq, 1200);
    assert.equal(String(s.target).includes('password'), false, 'credentials are not printed');
    assert.match(String(s.replication_id), /^[0-9a-f]{32}\+create_target$/);
    assert.equal((await leafMap(db(target))).size, 1200);
    const again = await cli([src.url, target]);
    assert.equal(again.summary!.no_changes, true);
  });

  test('--doc-ids and --selector', async () => {
    const src = db(await p.createDb('cli-filter'));
    await seedPlain(src, 50);
    const ids = await cli([src.url, `${p.base}/cli-ids`, '--create-target', '--doc-ids', 'doc-000001,doc-000002']);
    assert.equal(ids.code, 0, ids.stderr);
    assert.deepEqual([...(await leafMap(db(`${p.base}/cli-ids`))).keys()].sort(), ['doc-000001', 'doc-000002']);
    const sel = await cli([src.url, `${p.base}/cli-sel`, '--create-target', '--selector', '{"n":{"$gte":45}}']);
    assert.equal(sel.code, 0, sel.stderr);
    assert.equal(sel.summary!.docs_written, 5);
  });

  test('--continuous follows until SIGTERM, then prints its summary', async () => {
    const src = db(await p.createDb('cli-live'));
    await seedPlain(src, 10);
    const target = db(`${p.base}/cli-live-copy`);
    const size = async (): Promise<number> => ((await call(target, 'GET', '')).status === 200 ? (await leafMap(target)).size : 0);
    let wrote = false;
    const run = await cli([src.url, target.url, '--create-target', '--continuous', '--checkpoint-interval', '100'], {
      // Once the first ten arrived, write one more while it follows; stop once that one arrived.
      stopWhen: async () => {
        if (!wrote && (await size()) === 10) {
          await ok(src, 'PUT', '/later', { x: 1 });
          wrote = true;
        }
        return wrote && (await size()) === 11;
      },
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.summary!.continuous, true);
    assert.equal(run.summary!.docs_written, 11);
    assert.equal(run.summary!.checkpointed_source_seq, 11);
  });

  test('failures: exit 1 with the error in the summary; bad arguments are refused', async () => {
    const missing = await cli([`${p.base}/no-such-db`, `${p.base}/x`]);
    assert.equal(missing.code, 1);
    assert.equal(missing.summary!.ok, false);
    assert.equal(missing.summary!.error, 'REPLICATOR_DB_NOT_FOUND');
    const bad = await cli(['not-a-url', `${p.base}/x`]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /SOURCE must be a database URL/);
    const badSel = await cli([`${p.base}/a`, `${p.base}/b`, '--selector', '[1]']);
    assert.notEqual(badSel.code, 0);
  });
});
