/**
 * `_replicator` documents on a real server: a continuous job keeps replicating new writes, shows
 * in `_active_tasks`, `_scheduler/jobs` and `_scheduler/docs`, resumes from its checkpoint after
 * the server restarts on the same data directory, and stops when its document is deleted; a
 * one-shot document ends `completed` with its stats written back; deleting the database drops its
 * jobs.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import { call, db, leafMap, ok, seedPlain, type Db } from '../replicator/helpers/data.js';

type Json = Record<string, unknown>;

const creds = `${ADMIN.username}:${ADMIN.password}`;
const url = (port: number, path = ''): string => `http://${creds}@127.0.0.1:${port}${path}`;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function docCount(d: Db): Promise<number> {
  const r = await call(d, 'GET', '');
  return r.status === 200 ? ((r.json as Json).doc_count as number) : -1;
}

async function tasks(server: Db): Promise<Json[]> {
  return (await ok(server, 'GET', '/_active_tasks')) as Json[];
}

describe('_replicator documents', () => {
  test('a continuous job replicates new writes, is visible, resumes after a restart, stops on delete', async () => {
    let s: TestServer = await startTestServer();
    const port = s.server.ports.http;
    const server = db(url(port));
    const src = db(url(port, '/live-src'));
    const dst = db(url(port, '/live-dst'));
    try {
      await ok(server, 'PUT', '/_replicator');
      await ok(src, 'PUT', '');
      await seedPlain(src, 20);
      const job = { source: url(port, '/live-src'), target: url(port, '/live-dst'), create_target: true, continuous: true, checkpoint_interval: 200 };
      await ok(server, 'PUT', '/_replicator/live', job);
      await waitFor('the first 20 documents', async () => (await docCount(dst)) === 20);
      await seedPlain(src, 5, { start: 100 });
      await waitFor('writes made while it runs', async () => (await docCount(dst)) === 25);

      const [task] = await waitFor('the task to count 25 docs', async () => {
        const t = await tasks(server);
        return t.length === 1 && t[0]!.docs_written === 25 ? t : undefined;
      });
      assert.equal(task!.type, 'replication');
      assert.equal(task!.database, '_replicator');
      assert.equal(task!.doc_id, 'live');
      assert.equal(task!.continuous, true);
      assert.ok(!String(task!.source).includes(ADMIN.password), 'credentials are redacted');
      const jobs = (await ok(server, 'GET', '/_scheduler/jobs')) as { total_rows: number; jobs: Json[] };
      assert.equal(jobs.total_rows, 1);
      assert.equal(jobs.jobs[0]!.doc_id, 'live');
      assert.equal(jobs.jobs[0]!.state, 'running');
      assert.match(String(jobs.jobs[0]!.id), /^[0-9a-f]{32}\+continuous\+create_target$/);
      const view = (await ok(server, 'GET', '/_scheduler/docs/_replicator/live')) as Json;
      assert.equal(view.state, 'running');
      assert.equal(view.id, jobs.jobs[0]!.id);
      const listed = (await ok(server, 'GET', '/_scheduler/docs/_replicator')) as { docs: Json[] };
      assert.deepEqual(listed.docs.map((d) => d.doc_id), ['live']);
      assert.equal((await call(server, 'GET', '/_scheduler/docs/_replicator/nope')).status, 404);

      // Restart on the same data directory and port: the job comes back from its document and
      // resumes from the checkpoint written at shutdown.
      await s.server.close();
      s = await startTestServer({ dataDir: s.dataDir, httpPort: port });
      await seedPlain(src, 3, { start: 200 });
      await waitFor('writes after the restart', async () => (await docCount(dst)) === 28);
      const [resumed] = await waitFor('the resumed task', async () => {
        const t = await tasks(server);
        return t.length === 1 && t[0]!.docs_written === 3 ? t : undefined;
      });
      assert.equal(resumed!.revisions_checked, 3, 'only the changes after the checkpoint are looked at');
      assert.deepEqual(await leafMap(dst), await leafMap(src));

      const current = (await ok(server, 'GET', '/_replicator/live')) as Json;
      await ok(server, 'DELETE', `/_replicator/live?rev=${String(current._rev)}`);
      await waitFor('the job to stop', async () => (await tasks(server)).length === 0);
      assert.deepEqual((await ok(server, 'GET', '/_scheduler/jobs')) as Json, { total_rows: 0, offset: 0, jobs: [] });
      await seedPlain(src, 1, { start: 300 });
      // A probe that must see the stopped job stay stopped: a one-shot replication of the same
      // pair now finds exactly the one new document.
      const once = await call(server, 'POST', '/_replicate', { source: 'live-src', target: 'live-dst' });
      assert.equal(((once.json as Json).history as Json[])[0]!.docs_written, 1);
    } finally {
      await s.close();
    }
  });

  test('a one-shot document ends completed, with its state and stats written back', async () => {
    const s = await startTestServer();
    const port = s.server.ports.http;
    const server = db(url(port));
    try {
      await ok(server, 'PUT', '/_replicator');
      const src = db(url(port, '/once-src'));
      await ok(src, 'PUT', '');
      await seedPlain(src, 7);
      await ok(server, 'PUT', '/_replicator/once', { source: url(port, '/once-src'), target: url(port, '/once-dst'), create_target: true });
      const doc = await waitFor('the completed state', async () => {
        const d = (await ok(server, 'GET', '/_replicator/once')) as Json;
        return d._replication_state === 'completed' ? d : undefined;
      });
      assert.match(String(doc._replication_state_time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal((doc._replication_stats as Json).docs_written, 7);
      // couch_replicator rep_stats/1's names, not the history entries' ones.
      assert.deepEqual(Object.keys(doc._replication_stats as Json).sort(), ['changes_pending', 'checkpointed_source_seq', 'doc_write_failures', 'docs_read', 'docs_written', 'missing_revisions_found', 'revisions_checked', 'start_time']);
      assert.equal(doc._replication_state_reason, undefined);
      assert.deepEqual(await leafMap(db(url(port, '/once-dst'))), await leafMap(src));
      const view = (await ok(server, 'GET', '/_scheduler/docs/_replicator/once')) as Json;
      assert.equal(view.state, 'completed');
      assert.deepEqual(((await ok(server, 'GET', '/_scheduler/jobs')) as Json).jobs, []);
      // The state write is itself a change of the document: it must not start the job again.
      const rev = doc._rev;
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(((await ok(server, 'GET', '/_replicator/once')) as Json)._rev, rev);
    } finally {
      await s.close();
    }
  });

  test('a completed document written again without its state runs again (couchdb-bootstrap pushes it so)', async () => {
    const s = await startTestServer();
    const port = s.server.ports.http;
    const server = db(url(port));
    try {
      await ok(server, 'PUT', '/_replicator');
      const src = db(url(port, '/again-src'));
      await ok(src, 'PUT', '');
      await seedPlain(src, 3);
      const spec = { source: url(port, '/again-src'), target: url(port, '/again-dst'), create_target: true };
      await ok(server, 'PUT', '/_replicator/again', spec);
      const done = await waitFor('the first completion', async () => {
        const d = (await ok(server, 'GET', '/_replicator/again')) as Json;
        return d._replication_state === 'completed' ? d : undefined;
      });
      // The target goes away; the document is pushed again as written, without the state fields:
      // couch_replicator_doc_processor forgot it at {completed, Id}, so process_updated starts it.
      await ok(db(url(port, '/again-dst')), 'DELETE', '');
      await ok(server, 'PUT', '/_replicator/again', { ...spec, _rev: done._rev });
      const again = await waitFor('the second completion', async () => {
        const d = (await ok(server, 'GET', '/_replicator/again')) as Json;
        return d._replication_state === 'completed' ? d : undefined;
      });
      assert.equal(Number(String(again._rev).split('-')[0]), 4);
      assert.deepEqual(await leafMap(db(url(port, '/again-dst'))), await leafMap(src));
    } finally {
      await s.close();
    }
  });

  test('a database created at runtime is followed; deleting it stops its jobs', async () => {
    const s = await startTestServer();
    const port = s.server.ports.http;
    const server = db(url(port));
    try {
      const src = db(url(port, '/dyn-src'));
      await ok(src, 'PUT', '');
      await seedPlain(src, 4);
      await ok(server, 'PUT', '/_replicator');
      await ok(server, 'POST', '/_replicator/_bulk_docs', {
        docs: [{ _id: 'dyn', source: url(port, '/dyn-src'), target: url(port, '/dyn-dst'), create_target: true, continuous: true }],
      });
      await waitFor('the job to copy', async () => (await docCount(db(url(port, '/dyn-dst')))) === 4);
      assert.equal((await tasks(server)).length, 1);
      await ok(server, 'DELETE', '/_replicator');
      await waitFor('the jobs to stop', async () => (await tasks(server)).length === 0);
      assert.deepEqual(((await ok(server, 'GET', '/_scheduler/docs')) as Json).docs, []);
    } finally {
      await s.close();
    }
  });
});
