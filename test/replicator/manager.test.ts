/**
 * The job manager behind `_replicate`, `_replicator`, `_active_tasks` and `_scheduler/*`, driven
 * directly (as the HTTP face will) against pouchdb-server peers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPouchServer, type PouchServer } from './helpers/pouchdb-server.js';
import { db, leafMap, ok, seedPlain } from './helpers/data.js';
import { ReplicatorManager } from '../../src/replicator/manager.js';

let p: PouchServer;
const fast = { checkpointIntervalMs: 100, heartbeatMs: 500 };
const manager = (): ReplicatorManager =>
  new ReplicatorManager({ nodeUuid: 'manager-test-node', defaults: fast, restartBackoff: { initialMs: 100, maxMs: 500, retries: Infinity, jitter: 0 } });

before(async () => {
  p = await startPouchServer();
});
after(async () => {
  await p?.stop();
});

async function waitFor(cond: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('POST /_replicate', () => {
  test('one-shot: CouchDB answer with history, then no_changes; errors as CouchDB statuses', async () => {
    const m = manager();
    try {
      const src = db(await p.createDb('rep-one'));
      await seedPlain(src, 30);
      const body = { source: src.url, target: `${p.base}/rep-one-copy`, create_target: true };
      const first = await m.handleReplicate(body, { name: 'admin' });
      assert.equal(first.status, 200);
      assert.equal(first.body.ok, true);
      assert.equal(first.body.replication_id_version, 4);
      assert.equal((first.body.history as Array<Record<string, unknown>>)[0]!.docs_written, 30);
      // Nothing new: no_changes, with the last checkpoint's log (couch_replicator's checkpoint_history).
      const { session_id, source_last_seq, replication_id_version, history } = first.body;
      assert.deepEqual(await m.handleReplicate(body, { name: 'admin' }), { status: 200, body: { ok: true, no_changes: true, session_id, source_last_seq, replication_id_version, history } });

      assert.equal((await m.handleReplicate({ source: src.url }, { name: 'admin' })).status, 400);
      assert.equal((await m.handleReplicate({ ...body, doc_ids: 'x' }, { name: 'admin' })).status, 400);
      const missing = await m.handleReplicate({ source: `${p.base}/no-such-db`, target: `${p.base}/rep-one-copy` }, { name: 'admin' });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error, 'db_not_found');
      assert.deepEqual(m.schedulerJobs(), { total_rows: 0, offset: 0, jobs: [] });
    } finally {
      await m.close();
    }
  });

  test('bare database names resolve against this server, with the caller credentials', async () => {
    const m = new ReplicatorManager({ nodeUuid: 'n', localBaseUrl: () => p.base });
    try {
      await seedPlain(db(await p.createDb('local-name')), 4);
      const res = await m.handleReplicate({ source: 'local-name', target: 'local-name-copy', create_target: true }, { name: null });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal((await leafMap(db(`${p.base}/local-name-copy`))).size, 4);
      // The caller's Authorization header goes along (here a wrong password: the server refuses).
      const refused = await m.handleReplicate({ source: 'local-name', target: 'local-name-copy' }, { name: 'a', authorization: 'Basic YTpi' });
      assert.equal(refused.status, 401);
      const noBase = await manager().handleReplicate({ source: 'local-name', target: 'x' }, { name: 'a' });
      assert.equal(noBase.status, 400);
    } finally {
      await m.close();
    }
  });

  test('continuous: 202, visible in _active_tasks and _scheduler/jobs, cancelled by a second request', async () => {
    const m = manager();
    try {
      const src = db(await p.createDb('rep-live'));
      await seedPlain(src, 20);
      const body = { source: src.url, target: `${p.base}/rep-live-copy`, create_target: true, continuous: true };
      const started = await m.handleReplicate(body, { name: 'bob' });
      assert.equal(started.status, 202);
      const id = started.body._local_id as string;
      assert.match(id, /^[0-9a-f]{32}\+continuous\+create_target$/);
      await waitFor(() => m.activeTasks().some((t) => t.docs_written === 20));
      await ok(src, 'PUT', '/during', { x: 1 });
      await waitFor(() => m.activeTasks().some((t) => t.docs_written === 21));
      const [task] = m.activeTasks();
      assert.equal(task!.type, 'replication');
      assert.equal(task!.replication_id, id);
      assert.equal(task!.continuous, true);
      assert.equal(task!.user, 'bob');
      assert.equal(task!.revisions_checked, 21);
      const jobs = m.schedulerJobs() as { total_rows: number; jobs: Array<Record<string, unknown>> };
      assert.equal(jobs.total_rows, 1);
      assert.equal(jobs.jobs[0]!.id, id);
      assert.equal(jobs.jobs[0]!.state, 'running');
      assert.equal((jobs.jobs[0]!.info as Record<string, unknown>).docs_written, 21);
      assert.equal((await m.handleReplicate(body, { name: 'bob' })).body._local_id, id, 'same request, same job');

      const cancel = await m.handleReplicate({ ...body, cancel: true }, { name: 'bob' });
      assert.deepEqual(cancel, { status: 200, body: { ok: true, _local_id: id } });
      assert.deepEqual(m.activeTasks(), []);
      assert.equal((await m.handleReplicate({ replication_id: id, cancel: true }, { name: 'bob' })).status, 404);
    } finally {
      await m.close();
    }
  });
});

describe('_replicator documents', () => {
  test('continuous jobs survive a restart and resume from their checkpoint', async () => {
    const src = db(await p.createDb('doc-live'));
    const tgtUrl = `${p.base}/doc-live-copy`;
    await seedPlain(src, 100);
    const doc = { _id: 'live-job', source: src.url, target: tgtUrl, create_target: true, continuous: true };
    const m1 = manager();
    await m1.loadReplicatorDocs('_replicator', [doc]);
    await waitFor(() => (m1.schedulerDocs('_replicator', 'live-job')?.info as Record<string, unknown> | null)?.docs_written === 100);
    const view = m1.schedulerDocs('_replicator', 'live-job')!;
    assert.equal(view.state, 'running');
    assert.equal(view.doc_id, 'live-job');
    await m1.close(); // the server stops: the job writes its last checkpoint

    await seedPlain(src, 10, { start: 500 });
    const m2 = manager();
    try {
      await m2.loadReplicatorDocs('_replicator', [doc]);
      await waitFor(() => (m2.schedulerDocs('_replicator', 'live-job')?.info as Record<string, unknown> | null)?.docs_written === 10);
      const info = m2.schedulerDocs('_replicator', 'live-job')!.info as Record<string, unknown>;
      assert.equal(info.revisions_checked, 10, 'only the changes after the checkpoint are looked at');
      assert.equal((await leafMap(db(tgtUrl))).size, 110);
      await m2.replicatorDocChanged('_replicator', 'live-job', null);
      assert.equal(m2.schedulerDocs('_replicator', 'live-job'), null);
      assert.deepEqual(m2.activeTasks(), []);
    } finally {
      await m2.close();
    }
  });

  test('one-shot documents complete once; invalid ones are failed with a reason; design docs ignored', async () => {
    const src = db(await p.createDb('doc-once'));
    await seedPlain(src, 5);
    const states: string[] = [];
    const m = new ReplicatorManager({
      nodeUuid: 'manager-test-node',
      defaults: fast,
      onDocState: (database, docId, state, info) => {
        states.push(`${database}/${docId}:${state}:${String(info.docs_written)}`);
      },
    });
    try {
      await m.replicatorDocChanged('_replicator', 'once', { _id: 'once', source: src.url, target: `${p.base}/doc-once-copy`, create_target: true });
      await waitFor(() => states.length === 1);
      assert.deepEqual(states, ['_replicator/once:completed:5']);
      assert.equal(m.schedulerDocs('_replicator', 'once')!.state, 'completed');

      await m.replicatorDocChanged('_replicator', 'bad', { _id: 'bad', source: src.url });
      const bad = m.schedulerDocs('_replicator', 'bad')!;
      assert.equal(bad.state, 'failed');
      assert.match(String((bad.info as Record<string, unknown>).error), /target/);

      await m.replicatorDocChanged('_replicator', '_design/x', { _id: '_design/x' });
      assert.equal(m.schedulerDocs('_replicator', '_design/x'), null);
      // After a restart, a completed document is not run again.
      const m2 = manager();
      await m2.loadReplicatorDocs('_replicator', [{ _id: 'once', source: src.url, target: `${p.base}/doc-once-copy`, _replication_state: 'completed' }]);
      assert.equal(m2.schedulerDocs('_replicator', 'once')!.state, 'completed');
      assert.deepEqual(m2.schedulerJobs(), { total_rows: 0, offset: 0, jobs: [] });
      await m2.close();
    } finally {
      await m.close();
    }
  });
});
