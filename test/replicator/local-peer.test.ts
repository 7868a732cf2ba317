/**
 * Local Freshet databases as replication endpoints (local-peer.ts): local → pouchdb-server and
 * back into a local database, local → another Freshet over HTTP and back, local → local (one-shot,
 * resumed, filtered, continuous with writes during the run), with identical rev trees afterwards;
 * the replication id of a local endpoint; `_replicate` and `_replicator` with bare database names.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import { startPouchServer, type PouchServer } from './helpers/pouchdb-server.js';
import {
  assertSameDatabases, attachment, attachmentBytes, call, db, leafMap, ok, sameLeaves, seedAttachments, seedConflicts, seedDeletions, seedPlain, type Db,
} from './helpers/data.js';
import { localDatabase } from '../../src/replicator/local-peer.js';
import { bucketSeqOf, localFilter } from '../../src/replicator/local-changes.js';
import { Replication, replicate } from '../../src/replicator/replicator.js';
import { endpointTerm, replicationIds } from '../../src/replicator/replication-id.js';
import { termToBinary } from '../../src/couch/erlang-term.js';
import { Db as CouchDb } from '../../src/couchdb/db.js';

type Json = Record<string, unknown>;

const NODE = 'freshet-local-test';
let fa: TestServer;
let fb: TestServer;

const creds = `${ADMIN.username}:${ADMIN.password}`;
const base = (s: TestServer, auth = creds): string => `http://${auth}@127.0.0.1:${s.server.ports.http}`;
const http = (s: TestServer, name: string): Db => db(`${base(s)}/${name}`);
const special = ['conflict-0', 'conflict-3', 'deleted-1', 'att-0', 'att-2', 'doc-000000', 'doc-000199'];

/** A database on `s` seeded over HTTP with plain docs, conflicts, deletions and attachments. */
async function seeded(s: TestServer, name: string, plain = 200): Promise<Db> {
  const d = http(s, name);
  await ok(d, 'PUT', '');
  await seedPlain(d, plain);
  await seedConflicts(d, 4);
  await seedDeletions(d, 3);
  await seedAttachments(d, 3);
  return d;
}

/** Documents written by the seed: plain + 3 leaves per conflict + deletions + attachments. */
const seededRevs = (plain: number): number => plain + 4 * 3 + 3 + 3;

async function waitFor(cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  [fa, fb] = await Promise.all([startTestServer(), startTestServer()]);
  await fa.server.users.setBucketUser('carol', 'carolpass', ['carols']);
});
after(async () => {
  await Promise.all([fa?.close(), fb?.close()]);
});

describe('the replication id of a local endpoint', () => {
  test('is {local, DbName, #user_ctx{}} as CouchDB 2.x hashed it (bytes built by hand)', () => {
    const term = endpointTerm({ local: { dbName: 'db', userName: 'bob', roles: ['_admin'] } });
    const atom = (s: string): number[] => [100, 0, s.length, ...Buffer.from(s)];
    const binary = (s: string): number[] => [109, 0, 0, 0, s.length, ...Buffer.from(s)];
    const expected = Buffer.from([
      131, 104, 3, ...atom('local'), ...binary('db'),
      104, 4, ...atom('user_ctx'), ...binary('bob'), 108, 0, 0, 0, 1, ...binary('_admin'), 106, ...atom('undefined'),
    ]);
    assert.deepEqual(termToBinary(term), expected);
    const anonymous = termToBinary(endpointTerm({ local: { dbName: 'db', userName: null, roles: [] } }));
    assert.deepEqual(anonymous.subarray(-20), Buffer.from([...atom('null'), 106, ...atom('undefined')]).subarray(-20));
  });

  test('depends on the user, unlike the URL of the same database', () => {
    const id = (userName: string | null): string =>
      replicationIds({ nodeUuid: NODE, source: { local: { dbName: 'a', userName, roles: [] } }, target: { local: { dbName: 'b', userName, roles: [] } } }).baseId;
    assert.notEqual(id('bob'), id('carol'));
    assert.equal(id('bob'), id('bob'));
    assert.equal(localDatabase(fa.server, 'a').endpoint.local.userName, null);
  });
});

describe('local changes feed', () => {
  test('reads checkpointed seqs in every form peers write them; a missing JavaScript filter is a 404', async () => {
    assert.deepEqual([5, '7', '9-g1AAAA', '"x"', null, -3].map(bucketSeqOf), [5, 7, 9, 0, 0, 0]);
    await seeded(fa, 'filter-names', 1);
    const handle = new CouchDb(fa.server.engine.bucket('filter-names')!);
    assert.equal((await localFilter(handle, { name: '_design' }))?.kind, 'design');
    await assert.rejects(localFilter(handle, { name: 'app/by_type' }), { code: 'REPLICATOR_BAD_REQUEST', status: 404 });
    await assert.rejects(localFilter(handle, { name: 'nonsense' }), { code: 'REPLICATOR_BAD_REQUEST', status: 400 });
  });
});

describe('local databases as replication endpoints', () => {
  test('local → pouchdb-server → local: conflicts, deletions, attachments, identical trees', async () => {
    const p: PouchServer = await startPouchServer();
    try {
      const src = await seeded(fa, 'to-pouch');
      const out = await replicate({ source: localDatabase(fa.server, 'to-pouch'), target: `${p.base}/from-local`, createTarget: true, nodeUuid: NODE });
      assert.equal(out.stats.doc_write_failures, 0);
      assert.equal(out.stats.docs_written, seededRevs(200));
      await assertSameDatabases(src, db(`${p.base}/from-local`), special);
      assert.deepEqual(await attachment(db(`${p.base}/from-local`), 'att-2', 'blob.bin'), attachmentBytes(2));

      const back = await replicate({ source: `${p.base}/from-local`, target: localDatabase(fa.server, 'from-pouch'), createTarget: true, nodeUuid: NODE });
      assert.equal(back.stats.docs_written, seededRevs(200));
      await assertSameDatabases(src, http(fa, 'from-pouch'), special);
      assert.equal((await attachment(http(fa, 'from-pouch'), 'att-1', 'note.txt')).toString(), 'note 1');
    } finally {
      await p.stop();
    }
  });

  test('local → Freshet over HTTP, then HTTP → local, and the checkpoints on both sides', async () => {
    const src = await seeded(fa, 'push-src');
    const pushed = await replicate({ source: localDatabase(fa.server, 'push-src'), target: `${base(fb)}/pushed`, createTarget: true, nodeUuid: NODE });
    assert.equal(pushed.stats.docs_written, seededRevs(200));
    await assertSameDatabases(src, http(fb, 'pushed'), special);
    const cp = `/_local/${pushed.replication_id.split('+')[0]}`;
    assert.equal(((await ok(src, 'GET', cp)) as Json).session_id, pushed.session_id, 'the local source holds the checkpoint');
    assert.equal(((await ok(http(fb, 'pushed'), 'GET', cp)) as Json).session_id, pushed.session_id);

    // An edit on the remote side comes back through a pull into the local database.
    const doc = (await ok(http(fb, 'pushed'), 'GET', '/doc-000010')) as Json;
    await ok(http(fb, 'pushed'), 'PUT', '/doc-000010', { ...doc, edited: true });
    const pulled = await replicate({ source: `${base(fb)}/pushed`, target: localDatabase(fa.server, 'push-src'), nodeUuid: NODE });
    assert.equal(pulled.stats.docs_written, 1);
    assert.equal(((await ok(src, 'GET', '/doc-000010')) as Json).edited, true);
    await assertSameDatabases(src, http(fb, 'pushed'), [...special, 'doc-000010']);
  });

  test('local → local: one-shot, then resumed from the checkpoint with nothing re-sent', async () => {
    const src = await seeded(fa, 'll-src', 300);
    const first = await replicate({ source: localDatabase(fa.server, 'll-src'), target: localDatabase(fa.server, 'll-copy'), createTarget: true, nodeUuid: NODE });
    assert.equal(first.stats.docs_written, seededRevs(300));
    await assertSameDatabases(src, http(fa, 'll-copy'), special);

    await seedPlain(src, 7, { start: 9000 });
    const second = await replicate({ source: localDatabase(fa.server, 'll-src'), target: localDatabase(fa.server, 'll-copy'), nodeUuid: NODE });
    assert.equal(second.stats.changes_read, 7, 'only the changes after the checkpoint are read');
    assert.equal(second.stats.docs_written, 7);
    const third = await replicate({ source: localDatabase(fa.server, 'll-src'), target: localDatabase(fa.server, 'll-copy'), nodeUuid: NODE });
    assert.equal(third.no_changes, true);
    await assertSameDatabases(src, http(fa, 'll-copy'), special);
  });

  test('filters on a local source: doc_ids and selector; a missing source is db_not_found', async () => {
    await seeded(fa, 'filtered-src', 50);
    const byId = await replicate({
      source: localDatabase(fa.server, 'filtered-src'), target: localDatabase(fa.server, 'by-ids'), createTarget: true, nodeUuid: NODE,
      docIds: ['doc-000003', 'conflict-1', 'att-0', 'no-such-doc'],
    });
    assert.deepEqual([...(await leafMap(http(fa, 'by-ids'))).keys()].sort(), ['att-0', 'conflict-1', 'doc-000003']);
    assert.equal(byId.stats.docs_written, 1 + 3 + 1);
    await replicate({
      source: localDatabase(fa.server, 'filtered-src'), target: localDatabase(fa.server, 'by-selector'), createTarget: true, nodeUuid: NODE,
      selector: { even: true, n: { $lt: 10 } },
    });
    assert.deepEqual([...(await leafMap(http(fa, 'by-selector'))).keys()].sort(), ['doc-000000', 'doc-000002', 'doc-000004', 'doc-000006', 'doc-000008']);
    await assert.rejects(replicate({ source: localDatabase(fa.server, 'nothing-here'), target: localDatabase(fa.server, 'x'), nodeUuid: NODE }), {
      code: 'REPLICATOR_DB_NOT_FOUND',
    });
  });

  test('continuous local → local follows writes made during the run, conflicts and attachments included', async () => {
    const src = http(fa, 'live-src');
    await ok(src, 'PUT', '');
    await seedPlain(src, 1500);
    const rep = new Replication({
      source: localDatabase(fa.server, 'live-src'), target: localDatabase(fa.server, 'live-copy'), createTarget: true, continuous: true,
      checkpointIntervalMs: 100, batchSize: 200, nodeUuid: NODE,
    });
    const done = rep.start();
    await seedPlain(src, 300, { start: 5000 });
    await waitFor(async () => rep.stats.docs_written >= 1800);
    assert.equal(rep.state, 'running');
    // After catching up, the feed waits on the engine; these arrive through that wait.
    await seedConflicts(src, 3);
    await seedAttachments(src, 2);
    await ok(src, 'DELETE', `/doc-000001?rev=${((await ok(src, 'GET', '/doc-000001')) as Json)._rev as string}`);
    await waitFor(() => sameLeaves(http(fa, 'live-copy'), src));
    await rep.stop();
    const res = await done;
    assert.equal(rep.state, 'stopped');
    assert.equal(res.stats.doc_write_failures, 0);
    await assertSameDatabases(src, http(fa, 'live-copy'), ['conflict-0', 'conflict-2', 'att-1', 'doc-000001', 'doc-005299']);
    assert.deepEqual(await attachment(http(fa, 'live-copy'), 'att-1', 'blob.bin'), attachmentBytes(1));
  });
});

describe('bare database names on the HTTP face', () => {
  test('_replicate opens them directly: the checkpoint id is that of local endpoints for the requester', async () => {
    const src = await seeded(fa, 'bare-src', 30);
    const r = await call(http(fa, ''), 'POST', '/_replicate', { source: 'bare-src', target: 'bare-copy', create_target: true });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    await assertSameDatabases(src, http(fa, 'bare-copy'), ['conflict-0', 'att-1', 'deleted-0']);
    const user = { userName: ADMIN.username, roles: ['_admin'] };
    const { checkpointId } = replicationIds({
      nodeUuid: fa.server.engine.uuid,
      source: { local: { dbName: 'bare-src', ...user } },
      target: { local: { dbName: 'bare-copy', ...user } },
    });
    const log = (await ok(http(fa, 'bare-copy'), 'GET', `/${checkpointId}`)) as Json;
    assert.equal(log.session_id, (r.json as Json).session_id);

    // Mixed: a bare source and a URL target on another server.
    const across = await call(http(fa, ''), 'POST', '/_replicate', { source: 'bare-src', target: `${base(fb)}/bare-across`, create_target: true });
    assert.equal(across.status, 200, JSON.stringify(across.json));
    assert.deepEqual(await leafMap(http(fb, 'bare-across')), await leafMap(src));
  });

  test('the requester needs access: 403 for a database not theirs, 401 to create one, 200 on their own', async () => {
    const carol = db(base(fa, 'carol:carolpass'));
    await seedPlain((await ok(http(fa, 'carols'), 'PUT', ''), http(fa, 'carols')), 4);
    const denied = await call(carol, 'POST', '/_replicate', { source: 'bare-src', target: 'carols' });
    assert.equal(denied.status, 403, JSON.stringify(denied.json));
    const create = await call(carol, 'POST', '/_replicate', { source: 'carols', target: 'carols-new', create_target: true });
    assert.equal(create.status, 401, JSON.stringify(create.json));
    const own = await call(carol, 'POST', '/_replicate', { source: 'carols', target: `${base(fb)}/carols-copy`, create_target: true });
    assert.equal(own.status, 200, JSON.stringify(own.json));
    assert.equal((await leafMap(http(fb, 'carols-copy'))).size, 4);
  });

  test('a _replicator document with bare names runs as its user_ctx and completes', async () => {
    const server = http(fa, '');
    if ((await call(server, 'GET', '/_replicator')).status === 404) await ok(server, 'PUT', '/_replicator');
    await ok(server, 'PUT', '/_replicator/bare-job', {
      source: 'bare-src', target: 'bare-doc-copy', create_target: true, user_ctx: { name: ADMIN.username, roles: ['_admin'] },
    });
    await waitFor(async () => ((await ok(server, 'GET', '/_replicator/bare-job')) as Json)._replication_state === 'completed');
    assert.deepEqual(await leafMap(http(fa, 'bare-doc-copy')), await leafMap(http(fa, 'bare-src')));
    // Without a user_ctx the job runs anonymously, and a local database refuses it.
    await ok(server, 'PUT', '/_replicator/anonymous-job', { source: 'bare-src', target: 'anon-copy', create_target: true });
    await waitFor(async () => ((await ok(server, 'GET', '/_scheduler/docs/_replicator/anonymous-job')) as Json).state === 'crashing');
    const info = ((await ok(server, 'GET', '/_scheduler/docs/_replicator/anonymous-job')) as Json).info as Json;
    assert.match(String(info.error), /unauthorized/);
    assert.equal((await call(http(fa, 'anon-copy'), 'GET', '')).status, 404);
    await ok(server, 'DELETE', `/_replicator/anonymous-job?rev=${((await ok(server, 'GET', '/_replicator/anonymous-job')) as Json)._rev as string}`);
  });
});
