import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { bucketCore, type Bucket } from '../../src/engine/bucket.js';
import { createDb, withCouch, type CouchFixture } from './helpers.js';
import { StreamReader } from './stream-reader.js';

/** The bucket's registered change waiters (read here only to prove none leak). */
function waiters(bucket: Bucket): number {
  return bucketCore(bucket).seqWaiterCount;
}

function resources(kind: string): number {
  return process.getActiveResourcesInfo().filter((r) => r === kind).length;
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

async function openAndDrop(f: CouchFixture, n: number, feed: string): Promise<void> {
  const bucket = f.engine.requireBucket('db');
  const controllers: AbortController[] = [];
  const opened = Array.from({ length: n }, async () => {
    const ac = new AbortController();
    controllers.push(ac);
    const res = await f.stream(`/db/_changes?feed=${feed}&since=now&heartbeat=60000`, { signal: ac.signal });
    // Wait for the first bytes, so the feed is certainly waiting on the bucket.
    if (feed !== 'longpoll') return res;
    await new StreamReader(res.body).until((t) => t.length > 0);
    return res;
  });
  await until(() => f.listener.face.openFeeds === n && waiters(bucket) === n);
  await Promise.all(opened);
  for (const ac of controllers) ac.abort();
  await until(() => f.listener.face.openFeeds === 0);
  await until(() => f.listener.web.openSockets === 0);
  assert.equal(waiters(bucket), 0);
  assert.equal(f.listener.face.stats.feedsOpened, f.listener.face.stats.feedsClosed);
}

describe('feed resources', () => {
  test('1000 continuous feeds opened and dropped leave no waiter, socket or timer behind', () =>
    withCouch(async (f) => {
      await createDb(f);
      const timersBefore = resources('Timeout');
      await openAndDrop(f, 1000, 'continuous');
      // Each feed held one heartbeat timer; none may survive the disconnect.
      assert.ok(resources('Timeout') < timersBefore + 10, `timers: ${resources('Timeout')} vs ${timersBefore}`);
      // The database still works and a new feed still sees writes.
      const r = await f.req('/db/after', { method: 'PUT', json: {} });
      assert.equal(r.status, 201);
    }));

  test('200 eventsource and 200 longpoll feeds dropped mid-wait leave nothing behind', () =>
    withCouch(async (f) => {
      await createDb(f);
      await openAndDrop(f, 200, 'eventsource');
      await openAndDrop(f, 200, 'longpoll');
    }));

  test('deleting the database ends its open feeds', () =>
    withCouch(async (f) => {
      await createDb(f);
      const res = await f.stream('/db/_changes?feed=continuous&since=now&heartbeat=60000');
      const body = new StreamReader(res.body);
      await until(() => f.listener.face.openFeeds === 1);
      assert.equal((await f.req('/db', { method: 'DELETE' })).status, 200);
      const text = await body.rest();
      assert.deepEqual(JSON.parse(text.trim()), { last_seq: 0, pending: 0 });
      await until(() => f.listener.face.openFeeds === 0);
    }));
});
