/**
 * The replication endpoints of the CouchDB face on real servers: `POST /_replicate` (one-shot,
 * within a server, to a second Freshet, with a PouchDB memory database behind express-pouchdb as
 * the peer), `_replicator` documents (continuous jobs seen in `_active_tasks` and
 * `_scheduler/*`, resumed after a server restart; one-shot ones marked `completed`), and access.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import { call, db, leafMap, ok, seedConflicts, seedDeletions, seedPlain, type Db } from '../replicator/helpers/data.js';
import { servePouch } from '../replicator/helpers/pouch-peer.js';

type Json = Record<string, unknown>;

let fa: TestServer;
let fb: TestServer;

const creds = `${ADMIN.username}:${ADMIN.password}`;
const base = (s: TestServer, auth = creds): string => `http://${auth ? `${auth}@` : ''}127.0.0.1:${s.server.ports.http}`;
const admin = (s: TestServer, path = ''): Db => db(`${base(s)}${path}`);
const anonymous = (s: TestServer): Db => db(base(s, ''));

before(async () => {
  [fa, fb] = await Promise.all([startTestServer(), startTestServer()]);
  await fa.server.users.setBucketUser('bob', 'bobpass', ['bobs']);
});
after(async () => {
  await Promise.all([fa?.close(), fb?.close()]);
});


async function docCount(d: Db): Promise<number> {
  const r = await call(d, 'GET', '');
  return r.status === 200 ? ((r.json as Json).doc_count as number) : -1;
}

async function replicate(s: TestServer, body: Json, auth: Db = admin(s)): Promise<{ status: number; json: Json }> {
  const r = await call(auth, 'POST', '/_replicate', body);
  return { status: r.status, json: r.json as Json };
}

describe('POST /_replicate', () => {
  test('one-shot between two databases of one server (bare names), then to a second server', async () => {
    const src = admin(fa, '/rep-src');
    await ok(src, 'PUT', '');
    await seedPlain(src, 40);
    await seedConflicts(src, 3);
    await seedDeletions(src, 2);

    const first = await replicate(fa, { source: 'rep-src', target: 'rep-copy', create_target: true });
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.equal(first.json.ok, true);
    const history = first.json.history as Json[];
    assert.equal(history[0]!.docs_written, 40 + 9 + 2);
    assert.deepEqual(await leafMap(admin(fa, '/rep-copy')), await leafMap(src));
    const { session_id, source_last_seq, replication_id_version } = first.json;
    assert.deepEqual(await replicate(fa, { source: 'rep-src', target: 'rep-copy' }), { status: 200, json: { ok: true, no_changes: true, session_id, source_last_seq, replication_id_version, history } });

    const remote = `${base(fb)}/from-a`;
    const across = await replicate(fa, { source: `${base(fa)}/rep-src`, target: remote, create_target: true });
    assert.equal(across.status, 200, JSON.stringify(across.json));
    assert.deepEqual(await leafMap(db(remote)), await leafMap(src));
    // One-shot jobs leave nothing behind in the scheduler.
    assert.deepEqual((await ok(admin(fa), 'GET', '/_scheduler/jobs')) as Json, { total_rows: 0, offset: 0, jobs: [] });
  });

  test('doc_ids: the ids are URL-decoded, and the session\'s counts are also at the top of the answer', async () => {
    const src = admin(fa, '/ids-src');
    await ok(src, 'PUT', '');
    await ok(src, 'PUT', '/plain', { v: 1 });
    await ok(src, 'PUT', '/_design%2Ffoo', { views: {} });
    await ok(src, 'PUT', '/other', { v: 2 });
    const r = await replicate(fa, { source: 'ids-src', target: 'ids-copy', create_target: true, doc_ids: ['plain', '_design%2Ffoo'] });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.docs_written, 2);
    assert.equal(r.json.docs_read, 2);
    assert.equal(r.json.doc_write_failures, 0);
    assert.equal(typeof r.json.start_time, 'string');
    const copy = admin(fa, '/ids-copy');
    assert.equal((await call(copy, 'GET', '/_design%2Ffoo')).status, 200);
    assert.equal((await call(copy, 'GET', '/other')).status, 404);
  });

  test('a filtered, selector or doc_ids replication that copies nothing: no_changes and no checkpoint', async () => {
    const src = admin(fa, '/none-src');
    await ok(src, 'PUT', '');
    await ok(src, 'PUT', '/a', { kind: 'x' });
    await ok(src, 'PUT', '/b', { kind: 'x' });
    await ok(src, 'PUT', '/_design/f', { filters: { y: 'function (doc) { return doc.kind === "y"; }' } });
    const runs: Json[] = [
      { doc_ids: ['nope'] },
      { selector: { kind: 'y' } },
      { filter: 'f/y' },
    ];
    for (const extra of runs) {
      const r = await replicate(fa, { source: 'none-src', target: 'none-copy', create_target: true, ...extra });
      assert.deepEqual(r, { status: 200, json: { ok: true, no_changes: true } }, JSON.stringify(extra));
    }
    // Nothing copied, and no checkpoint on either side (couch_replicator writes none when the
    // through seq did not move).
    const copy = admin(fa, '/none-copy');
    assert.equal(await docCount(copy), 0);
    const locals = (await call(src, 'GET', '/_local_docs')).json as Json;
    assert.deepEqual(locals.rows, []);
    assert.deepEqual(((await call(copy, 'GET', '/_local_docs')).json as Json).rows, []);
    // One that copies something checkpoints as before.
    const some = await replicate(fa, { source: 'none-src', target: 'none-copy', doc_ids: ['a'] });
    assert.equal(some.json.docs_written, 1);
    assert.equal(((await call(copy, 'GET', '/_local_docs')).json as Json as { rows: unknown[] }).rows.length, 1);
  });

  test('errors as CouchDB answers them: missing source 404, bad body 400, wrong content type 415', async () => {
    const missing = await replicate(fa, { source: 'no-such-db', target: 'whatever' });
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error, 'db_not_found');
    assert.equal((await replicate(fa, { source: 'rep-src' })).status, 400);
    const res = await fetch(`${admin(fa).url}/_replicate`, {
      method: 'POST',
      headers: { authorization: admin(fa).headers.authorization!, 'content-type': 'text/plain' },
      body: '{}',
    });
    assert.equal(res.status, 415);
  });

  test('a PouchDB memory database behind express-pouchdb as the peer, both ways', async () => {
    const served = await servePouch();
    try {
      const src = admin(fa, '/to-pouch');
      await ok(src, 'PUT', '');
      await seedPlain(src, 60);
      await seedConflicts(src, 2);
      const pouch = db(`${served.base}/mem`);
      const push = await replicate(fa, { source: 'to-pouch', target: `${served.base}/mem`, create_target: true });
      assert.equal(push.status, 200, JSON.stringify(push.json));
      assert.deepEqual(await leafMap(pouch), await leafMap(src));

      const doc = (await ok(pouch, 'GET', '/doc-000007')) as Json;
      await ok(pouch, 'PUT', '/doc-000007', { ...doc, edited: 'in pouch' });
      const pull = await replicate(fa, { source: `${served.base}/mem`, target: 'to-pouch' });
      assert.equal(pull.status, 200, JSON.stringify(pull.json));
      assert.equal((pull.json.history as Json[])[0]!.docs_written, 1);
      assert.equal(((await ok(src, 'GET', '/doc-000007')) as Json).edited, 'in pouch');
      assert.deepEqual(await leafMap(src), await leafMap(pouch));
    } finally {
      await served.close();
    }
  });
});

describe('access', () => {
  const bob = (s: TestServer): Db => db(base(s, 'bob:bobpass'));

  test('anonymous _replicate is 401; _active_tasks and _scheduler/* need a server admin', async () => {
    assert.equal((await replicate(fa, { source: 'rep-src', target: 'x' }, anonymous(fa))).status, 401);
    for (const path of ['/_active_tasks', '/_scheduler/jobs', '/_scheduler/docs', '/_scheduler/docs/_replicator']) {
      for (const who of [anonymous(fa), bob(fa)]) {
        const r = await call(who, 'GET', path);
        assert.equal(r.status, 401, path);
        assert.equal((r.json as Json).error, 'unauthorized');
      }
    }
    assert.equal((await call(bob(fa), 'PUT', '/_replicator')).status, 401, 'creating databases is for admins');
  });

  test('a user replicates with their own rights: 403 on a database they may not read, 200 on their own', async () => {
    await ok(admin(fa, '/bobs'), 'PUT', '');
    await seedPlain(admin(fa, '/bobs'), 3);
    const denied = await replicate(fa, { source: 'rep-src', target: 'bobs' }, bob(fa));
    assert.equal(denied.status, 403, JSON.stringify(denied.json));
    const own = await replicate(fa, { source: 'bobs', target: `${base(fb)}/bobs-copy`, create_target: true }, bob(fa));
    assert.equal(own.status, 200, JSON.stringify(own.json));
    assert.equal(await docCount(admin(fb, '/bobs-copy')), 3);
  });

  test("only the owner or an admin cancels a continuous replication", async () => {
    const body = { source: 'rep-src', target: `${base(fb)}/live-owned`, create_target: true, continuous: true };
    const started = await replicate(fa, body);
    assert.equal(started.status, 202, JSON.stringify(started.json));
    const id = started.json._local_id as string;
    const refused = await replicate(fa, { replication_id: id, cancel: true }, bob(fa));
    assert.equal(refused.status, 401);
    const jobs = (await ok(admin(fa), 'GET', '/_scheduler/jobs')) as { jobs: Json[] };
    assert.ok(jobs.jobs.some((j) => j.id === id), 'still running');
    assert.deepEqual(await replicate(fa, { replication_id: id, cancel: true }), { status: 200, json: { ok: true, _local_id: id } });
    assert.equal((await replicate(fa, { replication_id: id, cancel: true })).status, 404);
  });
});

describe('system database names', () => {
  test('_replicator, _users and _global_changes may be created; other _ names may not', async () => {
    for (const name of ['_users', '_global_changes']) assert.equal((await call(admin(fb), 'PUT', `/${name}`)).status, 201, name);
    const bad = await call(admin(fb), 'PUT', '/_other');
    assert.equal(bad.status, 400);
    assert.equal((bad.json as Json).error, 'illegal_database_name');
  });
});
