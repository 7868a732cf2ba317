/**
 * TAP connection life beyond one stream, through the independent client (helpers/tap-client.ts)
 * against a real server on port 0: registered cursors (resume after a disconnect and after a
 * restart, gone after DEREGISTER_TAP_CLIENT), malformed or refused TAP_CONNECTs, who may connect,
 * and `stats tap`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { Bucket } from '../../src/engine/bucket.js';
import { FreshetServer } from '../../src/server/freshet-server.js';
import { ADMIN, startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { F, OPAQUE_CLOSE_BACKFILL, OPAQUE_INITIAL_VBUCKET_STREAM, TapClient, requestFrame } from './helpers/tap-client.js';

const VBS = 4;
let server: TestServer;
let bucket: Bucket;
let port: number;

before(async () => {
  server = await startTestServer({ numVBuckets: VBS });
  bucket = server.server.engine.bucket('default')!;
  port = server.server.ports.kv;
  await server.server.users.setBucketUser('reader', 'reader-pw', [{ role: 'data_reader', bucket: 'default' }]);
  await server.server.users.setBucketUser('stranger', 'stranger-pw', [{ role: 'data_reader', bucket: 'other' }]);
});
after(() => server.close());

function keysIn(b: Bucket, vb: number, count: number, prefix: string): string[] {
  const keys: string[] = [];
  for (let i = 0; keys.length < count; i++) if (b.vbucketOf(`${prefix}-${i}`) === vb) keys.push(`${prefix}-${i}`);
  return keys;
}

async function write(b: Bucket, keys: readonly string[]): Promise<void> {
  for (const k of keys) await b.set(k, '{"v":1}', { datatype: 1 });
}

async function admin(t: import('node:test').TestContext, p = port): Promise<TapClient> {
  const c = await TapClient.open(p, { user: ADMIN.username, password: ADMIN.password });
  t.after(() => c.close());
  return c;
}

const initials = (c: TapClient): number => c.data.filter((e) => e.type === 'opaque' && e.command === OPAQUE_INITIAL_VBUCKET_STREAM).length;
const closes = (c: TapClient): number => c.data.filter((e) => e.type === 'opaque' && e.command === OPAQUE_CLOSE_BACKFILL).length;
const REG = F.REGISTERED | F.BACKFILL | F.LIST_VBUCKETS;

describe('tap > registered clients', () => {
  test('a registered cursor resumes after a disconnect, and is gone after DEREGISTER_TAP_CLIENT', async (t) => {
    const vb = 1;
    const first = keysIn(bucket, vb, 3, 'reg-first');
    await write(bucket, first);
    const a = await admin(t);
    await a.tapConnect('reg1', REG, { backfill: 0n, vbuckets: [vb] });
    await a.waitFor('the backfill', () => closes(a) === 1);
    assert.deepEqual(a.mutationKeys().sort(), first.slice().sort());
    a.close();
    await a.closed;
    // Until the server has seen the disconnect, what is written still goes to the old connection
    // (without acks, a sent item moves the cursor); writes are acknowledged from memory, so wait.
    const watcher = await admin(t);
    for (let i = 0; i < 200 && (await watcher.stats('tap')).get('eq_tapq:reg1:registered_cursor') !== 'disconnected'; i++) await new Promise((r) => setTimeout(r, 10));
    const away = keysIn(bucket, vb, 2, 'reg-away');
    await write(bucket, away);

    // Same name again (BACKFILL 0 again): only what was written while away, no second backfill.
    const b = await admin(t);
    await b.tapConnect('reg1', REG, { backfill: 0n, vbuckets: [vb] });
    await b.waitFor('the missed changes', () => b.mutationKeys().length === 2);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(b.mutationKeys().sort(), away.slice().sort());
    assert.equal(initials(b), 0, 'no INITIAL_VBUCKET_STREAM on a resume');
    const stats = await (await admin(t)).stats('tap');
    assert.equal(stats.get('eq_tapq:reg1:registered_cursor'), 'connected');
    assert.equal(stats.get(`eq_tapq:reg1:cursor_vb_${vb}`), String(bucket.vbucketInfo(vb).highSeqno));

    // Deregistering closes the connection using the cursor and forgets it.
    const d = await admin(t);
    const res = await d.request(0x9e, { key: 'reg1' });
    assert.equal(res.vbOrStatus, 0);
    await b.closed;
    assert.equal((await d.request(0x9e, { key: 'reg1' })).vbOrStatus, 0x01, 'KeyEnoent once gone');
    assert.equal((await d.stats('tap')).get('eq_tapq:reg1:registered_cursor'), undefined);
    const c = await admin(t);
    await c.tapConnect('reg1', REG, { backfill: 0n, vbuckets: [vb] });
    await c.waitFor('a full backfill again', () => closes(c) === 1);
    assert.equal(initials(c), 1);
    assert.deepEqual(new Set(c.mutationKeys()), new Set([...first, ...away]));
  });

  test('with SUPPORT_ACK the cursor moves only with acks: unacknowledged items come again', async (t) => {
    const vb = 2;
    const keys = keysIn(bucket, vb, 12, 'reg-ack');
    await write(bucket, keys);
    const a = await admin(t);
    a.autoAck = false;
    await a.tapConnect('reg-ack', REG | F.SUPPORT_ACK, { backfill: 0n, vbuckets: [vb] });
    await a.waitFor('the first window', () => a.data.length === 10);
    a.close(); // no ack: nothing of the window counts as received
    await a.closed;
    const b = await admin(t);
    await b.tapConnect('reg-ack', REG | F.SUPPORT_ACK, { backfill: 0n, vbuckets: [vb] });
    await b.waitFor('all 12 again', () => b.mutationKeys().length === 12);
    assert.deepEqual(new Set(b.mutationKeys()), new Set(keys));
  });

  test('a connection waiting for an ack is closed when its bucket is deleted (found by fuzzing)', async (t) => {
    const doomed = await server.server.engine.createBucket('tapdoomed', { numVBuckets: VBS });
    await write(doomed, keysIn(doomed, 1, 12, 'doomed'));
    const a = await TapClient.open(port, { user: ADMIN.username, password: ADMIN.password, bucket: 'tapdoomed' });
    t.after(() => a.close());
    a.autoAck = false;
    await a.tapConnect('doomed-ack', F.BACKFILL | F.LIST_VBUCKETS | F.SUPPORT_ACK, { backfill: 0n, vbuckets: [1] });
    await a.waitFor('the first window', () => a.data.length === 10);
    // The producer now waits for the ack and reads nothing: the deletion must still reach it.
    await server.server.engine.deleteBucket('tapdoomed');
    await Promise.race([a.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the TAP connection outlived its bucket')), 5000))]);
  });

  test('the cursor survives a server restart', async () => {
    const dataDir = tempDir();
    const opts = { dataDir, kvPort: 0, mgmtPort: 0, httpPort: 0, numVBuckets: VBS, fastHashing: true, ...ADMIN };
    try {
      let srv = await FreshetServer.start(opts);
      let b = srv.engine.bucket('default')!;
      await write(b, keysIn(b, 0, 2, 'restart-old'));
      const a = await TapClient.open(srv.ports.kv, { user: ADMIN.username, password: ADMIN.password });
      await a.tapConnect('durable', REG, { backfill: 0n, vbuckets: [0] });
      await a.waitFor('the backfill', () => closes(a) === 1);
      a.close();
      await a.closed;
      await new Promise((r) => setTimeout(r, 100)); // the cursor is written when the connection ends
      await srv.close();
      srv = await FreshetServer.start(opts);
      b = srv.engine.bucket('default')!;
      const fresh = keysIn(b, 0, 1, 'restart-new');
      await write(b, fresh);
      const c = await TapClient.open(srv.ports.kv, { user: ADMIN.username, password: ADMIN.password });
      await c.tapConnect('durable', REG, { backfill: 0n, vbuckets: [0] });
      await c.waitFor('the new document', () => c.mutationKeys().length === 1);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(c.mutationKeys(), fresh);
      assert.equal(initials(c), 0);
      c.close();
      await srv.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('tap > malformed and refused TAP_CONNECT', () => {
  test('each gets a clear status and the connection stays usable', async (t) => {
    const c = await admin(t);
    const flags = (f: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(f);
      return b;
    };
    const cases: Array<[string, Parameters<typeof requestFrame>[1], number]> = [
      ['3-byte extras', { key: 'x', extras: Buffer.alloc(3) }, 0x04],
      ['BACKFILL with a 4-byte date', { key: 'x', extras: flags(F.BACKFILL), value: Buffer.alloc(4) }, 0x04],
      ['LIST_VBUCKETS count beyond the body', { key: 'x', extras: flags(F.LIST_VBUCKETS), value: Buffer.from([0, 3, 0, 1]) }, 0x04],
      ['a vbucket that does not exist', { key: 'x', extras: flags(F.LIST_VBUCKETS), value: Buffer.from([0, 1, 0x03, 0xe7]) }, 0x04],
      ['bytes after the flag data', { key: 'x', extras: flags(0), value: Buffer.from([1]) }, 0x04],
      ['unknown flag bits', { key: 'x', extras: flags(0x10000) }, 0x04],
      ['REGISTERED_CLIENT without a name', { extras: flags(F.REGISTERED) }, 0x04],
      ['TAKEOVER (refused on a single node)', { key: 'x', extras: flags(F.TAKEOVER | F.LIST_VBUCKETS), value: Buffer.from([0, 1, 0, 0]) }, 0x83],
    ];
    for (const [what, parts, status] of cases) {
      const res = await c.request(0x40, parts);
      assert.equal(res.vbOrStatus, status, what);
    }
    assert.equal((await c.request(0x0a)).vbOrStatus, 0, 'still an ordinary connection');
    await c.tapConnect('after-errors', F.BACKFILL, { backfill: 0xffffffffffffffffn });
    await write(bucket, ['after-errors-doc']);
    await c.waitFor('a working stream', () => c.mutationKeys().includes('after-errors-doc'));
    const again = await c.request(0x40, { key: 'y', extras: flags(0) });
    assert.equal(again.vbOrStatus, 0x04, 'a TAP connection cannot connect twice');
    const dcpOpen = await c.request(0x50, { key: 'd', extras: Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]) });
    assert.equal(dcpOpen.vbOrStatus, 0x04, 'nor become a DCP connection');
  });
});

describe('tap > access', () => {
  test('authentication, a selected bucket and read access to it are required', async (t) => {
    const connectFrame = { key: 'n', extras: Buffer.alloc(4) };
    const anon = await TapClient.open(port);
    t.after(() => anon.close());
    assert.equal((await anon.request(0x40, connectFrame)).vbOrStatus, 0x24, 'Eaccess before authentication');
    const noBucket = await TapClient.open(port, { user: ADMIN.username, password: ADMIN.password, bucket: null });
    t.after(() => noBucket.close());
    assert.equal((await noBucket.request(0x40, connectFrame)).vbOrStatus, 0x08, 'NoBucket');
    const stranger = await TapClient.open(port, { user: 'stranger', password: 'stranger-pw', bucket: null });
    t.after(() => stranger.close());
    assert.equal((await stranger.request(0x89, { key: 'default' })).vbOrStatus, 0x24, 'no access to default');
    const reader = await TapClient.open(port, { user: 'reader', password: 'reader-pw' });
    t.after(() => reader.close());
    assert.equal(await reader.tapConnect('reader-stream', F.BACKFILL, { backfill: 0xffffffffffffffffn }), null);
    await write(bucket, ['for-the-reader']);
    await reader.waitFor('the reader gets data', () => reader.mutationKeys().includes('for-the-reader'));
  });
});

describe('tap > stats tap', () => {
  test('lists each connection with its vbuckets, counters, ack and backfill state', async (t) => {
    await write(bucket, keysIn(bucket, 3, 2, 'stats'));
    const c = await admin(t);
    await c.tapConnect('watched', F.BACKFILL | F.LIST_VBUCKETS | F.SUPPORT_ACK, { backfill: 0n, vbuckets: [3, 1] });
    await c.waitFor('two backfills', () => closes(c) === 2);
    const s = await (await admin(t)).stats('tap');
    assert.ok(Number(s.get('ep_tap_count')) >= 1);
    assert.equal(s.get('eq_tapq:watched:type'), 'producer');
    assert.equal(s.get('eq_tapq:watched:vb_filters'), '2');
    assert.equal(s.get('eq_tapq:watched:vb_filter'), '{ 3, 1 }');
    assert.equal(s.get('eq_tapq:watched:items_sent'), String(c.mutationKeys().length));
    assert.equal(s.get('eq_tapq:watched:support_ack'), 'true');
    assert.equal(s.get('eq_tapq:watched:acks_pending'), '0');
    assert.equal(s.get('eq_tapq:watched:backfill_completed'), 'true');
    assert.equal(s.get('eq_tapq:watched:pending_backfill'), 'false');
    assert.equal(s.get('ep_tap_noop_interval'), '200');
    c.close();
    await c.closed;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await (await admin(t)).stats('tap')).get('eq_tapq:watched:type'), undefined, 'gone with its connection');
  });
});
