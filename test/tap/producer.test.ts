/**
 * The TAP producer against a real in-process server on port 0, through an independent TAP client
 * (helpers/tap-client.ts): future-only and backfill-then-live streams (the seed's scenario), DUMP,
 * LIST_VBUCKETS, KEYS_ONLY, deletions, CHECKPOINT, acks, and the idle NOOP.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Bucket } from '../../src/engine/bucket.js';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import { F, FUTURE_ONLY, OPAQUE_CLOSE_BACKFILL, OPAQUE_INITIAL_VBUCKET_STREAM, TAP_ACK, TAP_NO_VALUE, TapClient, type TapEvent } from './helpers/tap-client.js';

const VBS = 8;
const NOOP_MS = 150;
let server: TestServer;
let bucket: Bucket;
let port: number;

before(async () => {
  server = await startTestServer({ numVBuckets: VBS, tap: { noopIntervalMs: NOOP_MS } });
  bucket = server.server.engine.bucket('default')!;
  port = server.server.ports.kv;
});
after(() => server.close());

const json = { datatype: 1 };

function keysIn(vb: number, count: number, prefix: string): string[] {
  const keys: string[] = [];
  for (let i = 0; keys.length < count; i++) if (bucket.vbucketOf(`${prefix}-${i}`) === vb) keys.push(`${prefix}-${i}`);
  return keys;
}

async function write(keys: readonly string[], value = '{"v":1}'): Promise<void> {
  for (const k of keys) await bucket.set(k, value, json);
}

async function client(t: import('node:test').TestContext): Promise<TapClient> {
  const c = await TapClient.open(port, { user: ADMIN.username, password: ADMIN.password });
  t.after(() => c.close());
  return c;
}

const opaques = (events: readonly TapEvent[], command: number): number[] =>
  events.flatMap((e) => (e.type === 'opaque' && e.command === command ? [e.vb] : []));

describe('tap > the seed: backfill -1 and backfill 0', () => {
  test('BACKFILL 0xFFFFFFFFFFFFFFFF receives only changes written after TAP_CONNECT', async (t) => {
    const before = ['future-old-a', 'future-old-b', 'future-old-c'];
    await write(before);
    const c = await client(t);
    assert.equal(await c.tapConnect('future', F.BACKFILL, { backfill: FUTURE_ONLY }), null, 'no reply to TAP_CONNECT');
    const later = ['future-new-a', 'future-new-b'];
    await write(later);
    await bucket.delete('future-old-a');
    await c.waitFor('the new documents and the delete', () => c.mutationKeys().length === 2 && c.data.some((e) => e.type === 'delete'));
    assert.deepEqual(c.mutationKeys().sort(), later);
    assert.deepEqual(c.data.flatMap((e) => (e.type === 'delete' ? [e.key] : [])), ['future-old-a']);
    assert.deepEqual(opaques(c.data, OPAQUE_INITIAL_VBUCKET_STREAM), [], 'no backfill announced');
    const m = c.data.find((e) => e.type === 'mutation');
    assert.ok(m && m.type === 'mutation');
    assert.deepEqual(JSON.parse(m.value.toString()), { v: 1 });
    assert.equal(m.cas, bucket.get(m.key).cas, 'CAS in the header');
  });

  test('no BACKFILL flag at all is future-only too', async (t) => {
    await write(['noflag-old']);
    const c = await client(t);
    await c.tapConnect('noflag', 0);
    await write(['noflag-new']);
    await c.waitFor('the new document', () => c.mutationKeys().length === 1);
    assert.deepEqual(c.mutationKeys(), ['noflag-new']);
  });

  test('BACKFILL 0 receives everything, each vbucket between INITIAL_VBUCKET_STREAM and CLOSE_BACKFILL, then goes live', async (t) => {
    const existing = Array.from({ length: 20 }, (_, i) => `all-old-${i}`);
    await write(existing);
    const c = await client(t);
    await c.tapConnect('everything', F.BACKFILL, { backfill: 0n });
    await c.waitFor('every backfill closed', () => opaques(c.data, OPAQUE_CLOSE_BACKFILL).length === VBS);
    assert.deepEqual(opaques(c.data, OPAQUE_INITIAL_VBUCKET_STREAM).sort(), Array.from({ length: VBS }, (_, i) => i));
    const got = new Set(c.mutationKeys());
    for (const k of existing) assert.ok(got.has(k), `backfill has ${k}`);
    // Within each vbucket: INITIAL first, items, CLOSE_BACKFILL last.
    for (let vb = 0; vb < VBS; vb++) {
      const mine = c.data.filter((e) => e.vb === vb);
      assert.equal(mine[0]?.type === 'opaque' && mine[0].command, OPAQUE_INITIAL_VBUCKET_STREAM, `vb ${vb} starts with INITIAL_VBUCKET_STREAM`);
      const last = mine.at(-1);
      assert.equal(last?.type === 'opaque' && last.command, OPAQUE_CLOSE_BACKFILL, `vb ${vb} ends with CLOSE_BACKFILL`);
    }
    const seqnos = c.data.map((e) => e.seqno);
    assert.deepEqual(seqnos, seqnos.map((_, i) => seqnos[0]! + i), 'TAP seqnos (opaques) count up by one');
    const backfilled = c.data.length;
    await write(['all-live-1']);
    await c.waitFor('the live change', () => c.mutationKeys().includes('all-live-1'));
    assert.ok(c.data.findIndex((e) => e.type === 'mutation' && e.key === 'all-live-1') >= backfilled, 'after the backfill');
  });

  test('DUMP sends what exists, then the server closes the connection', async (t) => {
    const c = await client(t);
    const expected = new Set<string>();
    await write(['dump-a', 'dump-b']);
    await bucket.quiesce(); // the change order below lists persisted writes only
    // What the dump must hold: every live default-collection document now.
    for (const e of bucket.readChanges({ since: 0, limit: 100_000 })) if (!e.item.deleted) expected.add(e.item.key.toString());
    await c.tapConnect('dumper', F.DUMP);
    await c.closed;
    assert.deepEqual(new Set(c.mutationKeys()), expected);
    assert.equal(opaques(c.data, OPAQUE_CLOSE_BACKFILL).length, VBS);
  });
});

describe('tap > filters and options', () => {
  test('LIST_VBUCKETS restricts the stream to the listed vbuckets', async (t) => {
    const [a] = keysIn(2, 1, 'list');
    const [b] = keysIn(5, 1, 'list');
    const [other] = keysIn(3, 1, 'list');
    await write([a!, b!, other!]);
    const c = await client(t);
    await c.tapConnect('listed', F.BACKFILL | F.LIST_VBUCKETS, { backfill: 0n, vbuckets: [2, 5] });
    await c.waitFor('both backfills closed', () => opaques(c.data, OPAQUE_CLOSE_BACKFILL).length === 2);
    await write(keysIn(3, 2, 'list-live-3'));
    await write(keysIn(5, 1, 'list-live-5'));
    await c.waitFor('the live change on vb 5', () => c.mutationKeys().some((k) => k.startsWith('list-live-5')));
    assert.deepEqual([...new Set(c.data.map((e) => e.vb))].sort(), [2, 5]);
    assert.ok(c.mutationKeys().includes(a!) && c.mutationKeys().includes(b!));
    assert.ok(!c.mutationKeys().includes(other!));
  });

  test('KEYS_ONLY: mutations carry TAP_FLAG_NO_VALUE and no value', async (t) => {
    const c = await client(t);
    await c.tapConnect('keys', F.KEYS_ONLY);
    await write(['keys-only-1'], '{"big":"value"}');
    await c.waitFor('the mutation', () => c.mutationKeys().length === 1);
    const m = c.data.find((e) => e.type === 'mutation')!;
    assert.ok(m.type === 'mutation');
    assert.equal(m.tapFlags & TAP_NO_VALUE, TAP_NO_VALUE);
    assert.equal(m.value.length, 0);
    assert.equal(m.key, 'keys-only-1');
  });

  test('CHECKPOINT wraps each snapshot in CHECKPOINT_START / CHECKPOINT_END', async (t) => {
    const vb = 6;
    await write(keysIn(vb, 3, 'cp'));
    const c = await client(t);
    await c.tapConnect('cp', F.BACKFILL | F.LIST_VBUCKETS | F.CHECKPOINT, { backfill: 0n, vbuckets: [vb] });
    await c.waitFor('the backfill', () => opaques(c.data, OPAQUE_CLOSE_BACKFILL).length === 1);
    const types = c.data.map((e) => e.type);
    const start = types.indexOf('checkpoint-start');
    const end = types.indexOf('checkpoint-end');
    assert.ok(start > 0 && end > start, types.join(','));
    assert.ok(types.slice(start + 1, end).every((t) => t === 'mutation'));
    assert.ok(types.slice(start + 1, end).length >= 3);
    const s = c.data[start]!;
    const e = c.data[end]!;
    assert.ok(s.type === 'checkpoint-start' && e.type === 'checkpoint-end' && s.id === e.id && s.id > 0n);
  });
});

describe('tap > acks', () => {
  test('SUPPORT_ACK: every 10th message asks for an ack and nothing more is sent until it comes', async (t) => {
    const vb = 4;
    const keys = keysIn(vb, 25, 'acked');
    await write(keys);
    const c = await client(t);
    c.autoAck = false;
    await c.tapConnect('acker', F.BACKFILL | F.LIST_VBUCKETS | F.SUPPORT_ACK, { backfill: 0n, vbuckets: [vb] });
    await c.waitFor('the first window', () => c.data.length === 10);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(c.data.length, 10, 'the producer waits for the ack');
    assert.deepEqual(c.data.map((e) => (e.tapFlags & TAP_ACK) !== 0), [...Array(9).fill(false), true]);
    const probe = await TapClient.open(port, { user: ADMIN.username, password: ADMIN.password });
    t.after(() => probe.close());
    const stats = await probe.stats('tap');
    assert.equal(stats.get('eq_tapq:acker:acks_pending'), '1');
    assert.equal(stats.get('eq_tapq:acker:ack_seqno'), String(c.data[9]!.seqno));
    const tenth = c.data[9]!;
    c.ack(0x41, tenth.seqno + 1000); // a response for another seqno is not the ack
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(c.data.length, 10);
    c.ack(tenth.type === 'opaque' ? 0x44 : 0x41, tenth.seqno);
    await c.waitFor('the second window', () => c.data.length === 20);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(c.data.length, 20);
    c.autoAck = true;
    c.ack(0x41, c.data[19]!.seqno);
    await c.waitFor('the end of the backfill', () => opaques(c.data, OPAQUE_CLOSE_BACKFILL).length === 1);
    const got = new Set(c.mutationKeys());
    for (const k of keys) assert.ok(got.has(k), k);
    // Exactly every 10th message asked for an ack.
    assert.deepEqual(
      c.data.flatMap((e, i) => ((e.tapFlags & TAP_ACK) !== 0 ? [i + 1] : [])),
      c.data.flatMap((_, i) => ((i + 1) % 10 === 0 ? [i + 1] : [])),
    );
  });

  test('a negative ack closes the connection', async (t) => {
    const vb = 4;
    const c = await client(t);
    c.autoAck = false;
    await c.tapConnect('nacker', F.BACKFILL | F.LIST_VBUCKETS | F.SUPPORT_ACK, { backfill: 0n, vbuckets: [vb] });
    await c.waitFor('the first window', () => c.data.length === 10);
    c.ack(0x41, c.data[9]!.seqno, 0x86);
    await c.closed;
  });
});

describe('tap > the idle NOOP', () => {
  test('an idle stream gets NOOP requests with empty extras and body, and keeps streaming', async (t) => {
    const c = await client(t);
    await c.tapConnect('idle', F.BACKFILL | F.LIST_VBUCKETS, { backfill: FUTURE_ONLY, vbuckets: [7] });
    await c.waitFor('two noops', () => c.events.filter((e) => e.type === 'noop').length >= 2, 3000);
    for (const e of c.events) {
      assert.ok(e.type === 'noop');
      const f = e.frame;
      assert.deepEqual([f.magic, f.opcode, f.extras.length, f.key.length, f.bodyLength], [0x80, 0x0a, 0, 0, 0]);
    }
    // The client ignored them (no reply): the stream goes on.
    const [k] = keysIn(7, 1, 'after-noop');
    await write([k!]);
    await c.waitFor('the mutation after the noops', () => c.mutationKeys().includes(k!));
    const stats = await c.stats('tap');
    assert.ok(Number(stats.get('eq_tapq:idle:noops_sent')) >= 2);
  });
});
