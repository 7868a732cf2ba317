/**
 * Collection-aware change streams and `freshet tail --collection/--scope` against the real
 * in-process server: filters see only their collections (with names) plus their create/drop
 * events, a scope filter follows collections created later, from 'now' starts at the collection's
 * own high seqno, dropping every filtered collection ends the iteration (FilterEmpty), and an
 * unfiltered stream still sees the default collection only.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startTestServer, ADMIN, type TestServer } from '../helpers/server.js';
import { openChangeStream, isConsumerError, type ChangeEvent, type ChangeStream, type ItemEvent, type ChangeStreamOptions } from '../../src/consumer/index.js';
import type { Bucket } from '../../src/engine/bucket.js';
import { until, writeDocs } from './fixtures/cluster.js';

const NV = 8;

async function setup(t: TestContext): Promise<{ ts: TestServer; bucket: Bucket; seed: string }> {
  const ts = await startTestServer({ numVBuckets: NV });
  t.after(() => ts.close());
  const bucket = ts.server.engine.requireBucket('default');
  await bucket.createScope('inventory');
  await bucket.createCollection('inventory', 'airport');
  await bucket.createCollection('inventory', 'hotel');
  return { ts, bucket, seed: `couchbase://127.0.0.1:${ts.server.ports.kv}/default` };
}

async function writeTo(bucket: Bucket, scope: string, collection: string, n: number, prefix: string): Promise<void> {
  const col = bucket.collectionByName(scope, collection);
  await Promise.all(Array.from({ length: n }, (_, i) => col.set(`${prefix}${i}`, JSON.stringify({ i, where: `${scope}.${collection}` }))));
}

function open(t: TestContext, seed: string, opts: Partial<ChangeStreamOptions>): ChangeStream {
  const s = openChangeStream({ seeds: [seed], credentials: ADMIN, ...opts });
  t.after(() => s.close());
  return s;
}

/** Read events until `done` says so or the stream ends (next(), not `for await`: a break would close it). */
async function read(s: ChangeStream, done: (seen: ChangeEvent[]) => boolean): Promise<ChangeEvent[]> {
  const seen: ChangeEvent[] = [];
  while (!done(seen)) {
    const r = await s.next();
    if (r.done) break;
    seen.push(r.value);
  }
  return seen;
}

const items = (es: ChangeEvent[]): ItemEvent[] => es.filter((e): e is ItemEvent => e.type === 'mutation' || e.type === 'deletion' || e.type === 'expiration');
const keys = (es: ChangeEvent[]) => items(es).map((e) => ('key' in e ? e.key.toString() : '')).sort();
const range = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`).sort();

describe('consumer > collections (real server)', () => {
  test('a collections filter sees only its documents, with names, plus its create events; drops end it', async (t) => {
    const { bucket, seed } = await setup(t);
    await writeDocs(bucket, 20, 'default-');
    await writeTo(bucket, 'inventory', 'airport', 30, 'ap-');
    await writeTo(bucket, 'inventory', 'hotel', 10, 'h-');
    const airportId = bucket.manifest.collectionByPath('inventory', 'airport')!.id;

    const bounded = await read(open(t, seed, { collections: ['inventory.airport'], to: 'now' }), () => false);
    assert.deepEqual(keys(bounded), range('ap-', 30));
    for (const e of items(bounded)) assert.deepEqual([e.scope, e.collection, e.collectionId], ['inventory', 'airport', airportId]);
    const creates = bounded.filter((e) => e.type === 'collection');
    // kv sends the create in every vbucket, each at its own seqno: one event per vbucket
    assert.equal(creates.length, NV);
    for (const e of creates) assert.deepEqual([e.type, e.action, e.scope, e.collection, e.collectionId], ['collection', 'create', 'inventory', 'airport', airportId]);
    assert.equal(new Set(creates.map((e) => e.vbucket)).size, NV);
    assert.equal(bounded.filter((e) => e.type === 'scope').length, 0);

    // live, two collections: a drop is reported per vbucket; once both are dropped the iteration ends
    const live = open(t, seed, { collections: ['inventory.airport', 'inventory.hotel'] });
    const first = await read(live, (s) => items(s).length === 40);
    assert.deepEqual(keys(first), [...range('ap-', 30), ...range('h-', 10)].sort());
    await bucket.dropCollection('inventory', 'hotel');
    await writeTo(bucket, 'inventory', 'airport', 1, 'late-');
    await writeDocs(bucket, 5, 'default-late-');
    const next = await read(live, (s) => s.filter((e) => e.type === 'collection' && e.action === 'drop').length === NV && items(s).length === 1);
    assert.deepEqual(keys(next), ['late-0']);
    for (const e of next.filter((x) => x.type === 'collection')) assert.deepEqual([e.action, e.scope, e.collection], ['drop', 'inventory', 'hotel']);
    await bucket.dropCollection('inventory', 'airport');
    const rest = await read(live, () => false); // ends by itself: every vbucket ended FilterEmpty
    assert.equal(rest.filter((e) => e.type === 'collection' && e.action === 'drop' && e.collection === 'airport').length, NV);
    assert.equal(items(rest).length, 0);
    assert.equal(live.stats()!.totUPRStreamEndFilterEmpty, NV);
    // the drop is each vbucket's newest seqno: every position reached it
    for (let vb = 0; vb < NV; vb++) assert.equal(live.committed(vb)?.lastSeq, vbHigh(bucket, vb), `vbucket ${vb}`);
  });

  test('a scope filter follows a collection created later; other scopes and the default stay out', async (t) => {
    const { bucket, seed } = await setup(t);
    await bucket.createScope('other');
    await bucket.createCollection('other', 'x');
    await writeTo(bucket, 'inventory', 'airport', 5, 'ap-');
    await writeTo(bucket, 'other', 'x', 5, 'x-');
    await writeDocs(bucket, 5, 'default-');
    const s = open(t, seed, { scope: 'inventory' });
    const first = await read(s, (es) => items(es).length === 5 && es.filter((e) => e.type === 'collection').length === 2 * NV);
    assert.deepEqual(keys(first), range('ap-', 5));
    // the backfill snapshots end in other collections' documents: SEQNO_ADVANCED completes them
    await until(() => s.stats()!.totUPRSeqnoAdvanced > 0, 'a seqno-advanced');
    await bucket.createCollection('inventory', 'routes');
    await writeTo(bucket, 'inventory', 'routes', 3, 'r-');
    await writeTo(bucket, 'other', 'x', 3, 'x-late-');
    const next = await read(s, (es) => items(es).length === 3 && es.filter((e) => e.type === 'collection').length === NV);
    assert.deepEqual(keys(next), range('r-', 3));
    for (const e of items(next)) assert.deepEqual([e.scope, e.collection], ['inventory', 'routes']);
    for (const e of next.filter((x) => x.type === 'collection')) assert.deepEqual([e.action, e.scope, e.collection], ['create', 'inventory', 'routes']);
    await bucket.dropScope('inventory');
    const rest = await read(s, () => false); // the scope is gone: FilterEmpty everywhere, the iteration ends
    assert.equal(rest.filter((e) => e.type === 'scope' && e.action === 'drop' && e.scope === 'inventory').length, NV);
    assert.equal(items(rest).length, 0);
  });

  test("from 'now' with a collection filter starts after that collection's existing documents", async (t) => {
    const { bucket, seed } = await setup(t);
    await writeTo(bucket, 'inventory', 'airport', 40, 'old-');
    await writeDocs(bucket, 100, 'default-'); // vbucket high seqnos now lie above the collection's
    const airportId = bucket.manifest.collectionByPath('inventory', 'airport')!.id;
    const s = open(t, seed, { collections: ['inventory.airport'], from: 'now' });
    await s.ready();
    const starts = new Map<number, number>();
    s.onStatus((st) => void (st.type === 'stream-requested' && starts.set(st.vbucket, st.startSeqno)));
    let started = 0;
    s.onStatus((st) => void (st.type === 'stream-started' && started++));
    await until(() => started === NV, 'all streams started');
    for (let vb = 0; vb < NV; vb++) assert.equal(starts.get(vb), bucket.collectionHighSeqno(vb, airportId), `vbucket ${vb}`);
    assert.ok([...starts].some(([vb, seq]) => seq < vbHigh(bucket, vb)), 'some vbucket starts below its own high seqno');
    await writeTo(bucket, 'inventory', 'airport', 5, 'new-');
    const seen = await read(s, (es) => items(es).length === 5);
    assert.deepEqual(keys(seen), range('new-', 5));
    assert.equal(s.stats()!.totFromNowResolve, NV);
  });

  test('an unfiltered stream sees the default collection only; unknown names fail with a code', async (t) => {
    const { bucket, seed } = await setup(t);
    await writeTo(bucket, 'inventory', 'airport', 10, 'ap-');
    await writeDocs(bucket, 10, 'd-');
    const plain = await read(open(t, seed, { to: 'now' }), () => false);
    assert.deepEqual(keys(plain), range('d-', 10));
    assert.equal(plain.length, 10); // no system events
    for (const e of items(plain)) assert.deepEqual([e.scope, e.collection, e.collectionId], ['_default', '_default', 0]);
    await assert.rejects(read(open(t, seed, { collections: ['inventory.nope'] }), () => false), (e: unknown) => isConsumerError(e, 'UNKNOWN_COLLECTION'));
    await assert.rejects(read(open(t, seed, { scope: 'nope' }), () => false), (e: unknown) => isConsumerError(e, 'UNKNOWN_SCOPE'));
  });

  test('freshet tail --collection and --scope print names and collection events; an unknown name exits 1', async (t) => {
    const { bucket, seed } = await setup(t);
    await writeTo(bucket, 'inventory', 'airport', 6, 'ap-');
    await writeTo(bucket, 'inventory', 'hotel', 4, 'h-');
    await writeDocs(bucket, 5, 'd-');
    const auth = ['-u', 'Administrator', '-p', 'password', '--to', 'now'];

    const one = await runTail([seed, ...auth, '--collection', 'inventory.airport']);
    assert.equal(one.code, 0, one.stderr);
    const docs = one.lines.filter((l) => l.type === 'mutation');
    assert.deepEqual(docs.map((l) => l.key).sort(), range('ap-', 6));
    for (const l of docs) assert.deepEqual([l.scope, l.collection], ['inventory', 'airport']);
    assert.equal(one.lines.filter((l) => l.type === 'collection' && l.action === 'create' && l.collection === 'airport').length, NV);

    const both = await runTail([seed, ...auth, '--collection', 'inventory.airport,inventory.hotel']);
    assert.deepEqual(both.lines.filter((l) => l.type === 'mutation').map((l) => l.key).sort(), [...range('ap-', 6), ...range('h-', 4)].sort());
    const scope = await runTail([seed, ...auth, '--scope', 'inventory']);
    assert.equal(scope.lines.filter((l) => l.type === 'mutation').length, 10);
    assert.ok(scope.lines.some((l) => l.type === 'scope' && l.action === 'create' && l.scope === 'inventory'));

    // the default run keeps its lines: no scope/collection fields, no events
    const plain = await runTail([seed, ...auth]);
    assert.deepEqual(plain.lines.map((l) => l.key).sort(), range('d-', 5));
    assert.ok(plain.lines.every((l) => !('scope' in l) && l.type === 'mutation'));

    const bad = await runTail([seed, ...auth, '--collection', 'inventory.nope']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /inventory\.nope/);
  });
});

function vbHigh(bucket: Bucket, vb: number): number {
  return bucket.vbucketInfo(vb).highSeqno;
}

interface TailLine {
  type: string;
  key?: string;
  scope?: string;
  collection?: string;
  action?: string;
}

function runTail(args: string[]): Promise<{ code: number | null; stderr: string; lines: TailLine[] }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/consumer/fixtures/tail-main.ts', 'tail', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    proc.once('close', (code) =>
      resolve({
        code,
        stderr,
        lines: stdout
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as TailLine),
      }),
    ),
  );
}
