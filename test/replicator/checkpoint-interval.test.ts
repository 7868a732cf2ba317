/**
 * The checkpoint interval of a replication that names none is CouchDB's `[replicator]
 * checkpoint_interval` default, 30000 ms (couch_replicator_utils default_options/0), as
 * `_active_tasks` shows it; a request's `checkpoint_interval` overrides it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import { call, db, ok } from './helpers/data.js';
import { DEFAULT_CHECKPOINT_INTERVAL_MS } from '../../src/replicator/checkpoint.js';

type Json = Record<string, unknown>;
let f: TestServer;
let base: string;
before(async () => {
  f = await startTestServer();
  base = `http://${ADMIN.username}:${ADMIN.password}@127.0.0.1:${f.server.ports.http}`;
});
after(async () => {
  await f?.close();
});

async function task(target: string): Promise<Json> {
  for (let i = 0; i < 400; i++) {
    const tasks = (await ok(db(base), 'GET', '/_active_tasks')) as Json[];
    const t = tasks.find((x) => x.type === 'replication' && String(x.target).includes(target));
    if (t) return t;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no task for ${target}`);
}

describe('replicator > checkpoint interval', () => {
  test('default 30000 ms in _active_tasks, checkpoint_interval overrides it', async () => {
    assert.equal(DEFAULT_CHECKPOINT_INTERVAL_MS, 30_000);
    await ok(db(base), 'PUT', '/ci-src');
    const plain = { source: 'ci-src', target: 'ci-tgt-a', create_target: true, continuous: true };
    const tuned = { source: 'ci-src', target: 'ci-tgt-b', create_target: true, continuous: true, checkpoint_interval: 1234 };
    for (const body of [plain, tuned]) assert.equal((await call(db(base), 'POST', '/_replicate', body)).status, 202);
    try {
      assert.equal((await task('ci-tgt-a')).checkpoint_interval, 30_000);
      assert.equal((await task('ci-tgt-b')).checkpoint_interval, 1234);
    } finally {
      for (const body of [plain, tuned]) await call(db(base), 'POST', '/_replicate', { ...body, cancel: true });
    }
  });
});
