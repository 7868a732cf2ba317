/**
 * Keyspaces as replication endpoints (issue 14 item 7): a `bucket.scope.collection` URL as source
 * and target over HTTP, the same names as in-process local databases and as bare names in
 * `_replicate`, and `freshet replicate` copying one collection. Each copy holds that collection's
 * documents only, with identical revision trees, and its checkpoint in that keyspace.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import { assertSameDatabases, call, db, leafMap, ok, seedAttachments, seedConflicts, seedPlain, type Db } from './helpers/data.js';
import { localDatabase } from '../../src/replicator/local-peer.js';
import { replicate } from '../../src/replicator/replicator.js';
import { isFreshetError } from '../../src/common/errors.js';

const NODE = 'freshet-keyspace-test';
let fa: TestServer;
let fb: TestServer;

const creds = `${ADMIN.username}:${ADMIN.password}`;
const base = (s: TestServer): string => `http://${creds}@127.0.0.1:${s.server.ports.http}`;
const http = (s: TestServer, name: string): Db => db(`${base(s)}/${name}`);
const AIRPORT = 'travel-sample.inventory.airport';
const special = ['conflict-0', 'conflict-2', 'att-0', 'att-1', 'air-000000'];

/** A bucket with the given `scope.collection`s, through the engine API. */
async function bucketWith(s: TestServer, name: string, paths: string[]): Promise<void> {
  await s.server.engine.createBucket(name, { numVBuckets: 8 });
  const bucket = s.server.engine.requireBucket(name);
  for (const p of paths) {
    const [scope, coll] = p.split('.') as [string, string];
    if (!bucket.manifest.scopeByName(scope)) await bucket.createScope(scope);
    await bucket.createCollection(scope, coll);
  }
}

async function count(d: Db): Promise<number> {
  return (await leafMap(d)).size;
}

before(async () => {
  [fa, fb] = await Promise.all([startTestServer(), startTestServer()]);
  await bucketWith(fa, 'travel-sample', ['inventory.airport', 'inventory.hotel']);
  const air = http(fa, AIRPORT);
  await seedPlain(air, 150, { prefix: 'air' });
  await seedConflicts(air, 3);
  await seedAttachments(air, 2);
  await seedPlain(http(fa, 'travel-sample.inventory.hotel'), 40, { prefix: 'hotel' });
  await seedPlain(http(fa, 'travel-sample'), 30, { prefix: 'default' });
});
after(async () => {
  await Promise.all([fa?.close(), fb?.close()]);
});

describe('keyspace replication', () => {
  test('over HTTP: a keyspace source into a plain database and into another server\'s keyspace', async () => {
    const src = http(fa, AIRPORT);
    const plain = await replicate({ source: `${base(fa)}/${AIRPORT}`, target: `${base(fb)}/air-copy`, createTarget: true, nodeUuid: NODE });
    assert.equal(plain.ok, true);
    await assertSameDatabases(src, http(fb, 'air-copy'), special);
    assert.equal(await count(http(fb, 'air-copy')), await count(src));

    await bucketWith(fb, 'mirror', ['travel.airports']);
    const into = await replicate({ source: `${base(fa)}/${AIRPORT}`, target: `${base(fb)}/mirror.travel.airports`, nodeUuid: NODE });
    assert.equal(into.ok, true);
    await assertSameDatabases(src, http(fb, 'mirror.travel.airports'), special);
    assert.equal(await count(http(fb, 'mirror')), 0, 'nothing landed in the default collection');
    // The checkpoint lives in the target keyspace's _local docs, and a second run starts from it.
    const again = await replicate({ source: `${base(fa)}/${AIRPORT}`, target: `${base(fb)}/mirror.travel.airports`, nodeUuid: NODE });
    assert.equal(again.stats.docs_written, 0);
    assert.equal(arr((await ok(http(fb, 'mirror.travel.airports'), 'GET', '/_local_docs')) as Record<string, unknown>).length, 1);
    assert.equal(arr((await ok(http(fb, 'mirror'), 'GET', '/_local_docs')) as Record<string, unknown>).length, 0);
    // create_target on a missing collection fails clearly and creates nothing.
    await assert.rejects(
      replicate({ source: `${base(fa)}/${AIRPORT}`, target: `${base(fb)}/mirror.travel.nope`, createTarget: true, nodeUuid: NODE }),
      (e: unknown) => isFreshetError(e) && /404|not found/i.test(e.message),
    );
  });

  test('in process: local keyspace peers copy one collection, and back', async () => {
    await bucketWith(fa, 'local-copy', ['s.airport']);
    const first = await replicate({ source: localDatabase(fa.server, AIRPORT), target: localDatabase(fa.server, 'local-copy.s.airport'), nodeUuid: NODE });
    assert.equal(first.ok, true);
    await assertSameDatabases(http(fa, AIRPORT), http(fa, 'local-copy.s.airport'), special);
    assert.equal(await count(http(fa, 'local-copy')), 0);
    // A write made on the KV side of the target collection comes back to the source keyspace only.
    await fa.server.engine.requireBucket('local-copy').collectionByName('s', 'airport').set('from-kv', JSON.stringify({ kv: true }));
    const back = await replicate({ source: localDatabase(fa.server, 'local-copy.s.airport'), target: localDatabase(fa.server, AIRPORT), nodeUuid: NODE });
    assert.equal(back.stats.docs_written, 1);
    assert.equal(((await ok(http(fa, AIRPORT), 'GET', '/from-kv')) as Record<string, unknown>).kv, true);
    assert.equal((await call(http(fa, 'travel-sample.inventory.hotel'), 'GET', '/from-kv')).status, 404);
    // A missing keyspace is "not found", never created.
    await assert.rejects(
      replicate({ source: localDatabase(fa.server, AIRPORT), target: localDatabase(fa.server, 'local-copy.s.nope'), createTarget: true, nodeUuid: NODE }),
      (e: unknown) => isFreshetError(e) && e.code === 'REPLICATOR_DB_NOT_FOUND',
    );
  });

  test('_replicate with bare keyspace names runs between this server\'s collections', async () => {
    await bucketWith(fa, 'bare-ks', ['x.y']);
    const r = await call(http(fa, ''), 'POST', '/_replicate', { source: AIRPORT, target: 'bare-ks.x.y' });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    await assertSameDatabases(http(fa, AIRPORT), http(fa, 'bare-ks.x.y'), special);
    assert.equal(await count(http(fa, 'bare-ks')), 0);
  });

  test('freshet replicate copies just one collection', async () => {
    await bucketWith(fb, 'cli-ks', ['inv.air']);
    const run = await cli([`${base(fa)}/${AIRPORT}`, `${base(fb)}/cli-ks.inv.air`, '--batch-size', '50']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.summary?.ok, true);
    await assertSameDatabases(http(fa, AIRPORT), http(fb, 'cli-ks.inv.air'), special);
    assert.equal(await count(http(fb, 'cli-ks')), 0);
    const hotelIds = [...(await leafMap(http(fb, 'cli-ks.inv.air'))).keys()].filter((id) => id.startsWith('hotel') || id.startsWith('default'));
    assert.deepEqual(hotelIds, []);
  });
});

function arr(v: Record<string, unknown>): unknown[] {
  const rows = v.rows;
  if (!Array.isArray(rows)) throw new Error(`expected rows, got ${JSON.stringify(v)}`);
  return rows;
}

function cli(args: string[]): Promise<{ code: number | null; summary: Record<string, unknown> | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/replicator/helpers/cli-main.ts', 'replicate', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      let summary: Record<string, unknown> | null = null;
      try {
        summary = JSON.parse(out.trim().split('\n').pop() ?? '') as Record<string, unknown>;
      } catch {
        summary = null;
      }
      resolve({ code, summary, stderr: err });
    }),
  );
}
