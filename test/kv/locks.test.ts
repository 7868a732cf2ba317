/**
 * GET_LOCKED (0x94) and UNLOCK_KEY (0x95) over raw frames on real sockets, with kv_engine's rules
 * (engine/locks.ts): the lock CAS, CAS 0xffffffffffffffff for readers, every mutation refused
 * without the lock CAS and allowed with it, LOCKED / NOT_LOCKED for XERROR clients and kv's legacy
 * statuses (KEY_EEXISTS, TMPFAIL) for the others, the timeout rules on the engine clock, and
 * locks lost on restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import {
  Feature,
  Opcode,
  Status,
  decodeGetLockedResponse,
  decodeGetResponse,
  encodeArithRequest,
  encodeConcatRequest,
  encodeDeleteRequest,
  encodeGetLockedRequest,
  encodeGetRequest,
  encodeStoreRequest,
  encodeTouchRequest,
  encodeUnlockRequest,
  encodeSubdocRequest,
  type Packet,
} from '../../src/codec/index.js';
import { FreshetServer } from '../../src/server/freshet-server.js';
import { ADMIN, tempDir } from '../helpers/server.js';
import { ManualClock } from '../helpers/clock.js';
import { expectStatus, openBucket, statGroup, type RawKv } from './raw-client.js';
import { RAW_TEST, withServer, type KvFixture } from './fixture.js';

const LOCKED_CAS = 0xffff_ffff_ffff_ffffn;
const XERROR = [Feature.Xerror, Feature.SelectBucket, Feature.Json, Feature.MutationSeqno];
const LEGACY = [Feature.SelectBucket, Feature.Json, Feature.MutationSeqno];

/** Requests on one key of `default`, addressed to its vbucket. */
function onKey(f: KvFixture, key: string) {
  const vbucket = f.vb(key);
  return {
    set: (value: string, cas?: bigint) => encodeStoreRequest({ key, value, vbucket, ...(cas === undefined ? {} : { cas }) }),
    replace: (value: string, cas?: bigint) => encodeStoreRequest({ opcode: Opcode.Replace, key, value, vbucket, ...(cas === undefined ? {} : { cas }) }),
    add: (value: string) => encodeStoreRequest({ opcode: Opcode.Add, key, value, vbucket }),
    del: (cas?: bigint) => encodeDeleteRequest({ key, vbucket, ...(cas === undefined ? {} : { cas }) }),
    append: (value: string, cas?: bigint) => encodeConcatRequest({ key, value, vbucket, ...(cas === undefined ? {} : { cas }) }),
    incr: (cas?: bigint) => encodeArithRequest({ key, delta: 1n, vbucket }, cas === undefined ? {} : { cas }),
    touch: () => encodeTouchRequest({ key, expiration: 100, vbucket }),
    gat: () => encodeTouchRequest({ opcode: Opcode.Gat, key, expiration: 100, vbucket }),
    get: () => encodeGetRequest({ key, vbucket }),
    lock: (lockTime?: number) => encodeGetLockedRequest({ key, vbucket, ...(lockTime === undefined ? {} : { lockTime }) }),
    unlock: (cas: bigint) => encodeUnlockRequest({ key, cas, vbucket }),
  };
}

async function lockCas(kv: RawKv, req: Packet): Promise<bigint> {
  return decodeGetLockedResponse(expectStatus(await kv.request(req), Status.Success, 'GET_LOCKED')).cas;
}

async function getCas(kv: RawKv, req: Packet): Promise<bigint> {
  return decodeGetResponse(expectStatus(await kv.request(req), Status.Success, 'GET')).cas;
}

test('GET_LOCKED returns the document with a lock CAS; readers see CAS -1; an XERROR client gets LOCKED for every write', RAW_TEST, () =>
  withServer(async (f) => {
    const kv = await f.open({ features: XERROR });
    const other = await f.open({ features: XERROR });
    const k = onKey(f, 'doc');
    const n = onKey(f, 'counter');
    expectStatus(await kv.request(encodeStoreRequest({ key: 'doc', value: '{"a":1}', flags: 0xcafe, vbucket: f.vb('doc') })), Status.Success);
    expectStatus(await kv.request(n.set('7')), Status.Success);
    const itemCas = f.bucket.get('doc').cas;

    const res = expectStatus(await kv.request(k.lock(10)), Status.Success, 'GET_LOCKED');
    const locked = decodeGetLockedResponse(res);
    assert.equal(locked.value.toString(), '{"a":1}');
    assert.equal(locked.flags, 0xcafe);
    assert.equal(locked.datatype & 1, 1, 'the JSON datatype, as GET');
    assert.notEqual(locked.cas, itemCas, 'the lock CAS is a new one');
    assert.ok(locked.cas > itemCas);
    assert.equal(f.bucket.lookup(Buffer.from('doc'))!.cas, itemCas, 'locking writes nothing: the item keeps its CAS');

    // Readers, the locker included, see CAS -1 and the unchanged document.
    for (const conn of [kv, other]) {
      const got = decodeGetResponse(expectStatus(await conn.request(k.get()), Status.Success));
      assert.equal(got.cas, LOCKED_CAS);
      assert.equal(got.value.toString(), '{"a":1}');
    }

    // Every mutation without the lock CAS (none, or the item's own) is refused with LOCKED.
    const refused: Array<[string, Packet]> = [
      ['SET', k.set('x')],
      ['SET with the item CAS', k.set('x', itemCas)],
      ['SET with CAS -1', k.set('x', LOCKED_CAS)],
      ['REPLACE', k.replace('x')],
      ['DELETE', k.del()],
      ['DELETE with the item CAS', k.del(itemCas)],
      ['APPEND', k.append('x')],
      ['TOUCH', k.touch()],
      ['GAT', k.gat()],
      ['GET_LOCKED again', k.lock(5)],
      ['UNLOCK with the item CAS', k.unlock(itemCas)],
    ];
    for (const [what, req] of refused) {
      const r = expectStatus(await other.request(req), Status.Locked, what);
      assert.match(JSON.parse(r.value.toString()).error.context, /locked/, `${what}: XERROR context`);
    }
    // ADD finds the key there: KEY_EEXISTS, as for any live document.
    expectStatus(await other.request(k.add('x')), Status.KeyEexists, 'ADD');
    assert.equal(f.bucket.lookup(Buffer.from('doc'))!.value.toString(), '{"a":1}', 'nothing was written');
    assert.equal(f.bucket.lookup(Buffer.from('doc'))!.cas, itemCas);

    // A counter behaves alike.
    const counterLock = await lockCas(kv, n.lock());
    expectStatus(await other.request(n.incr()), Status.Locked, 'INCR');
    const incr = expectStatus(await other.request(n.incr(counterLock)), Status.Success, 'INCR with the lock CAS');
    assert.equal(incr.value.readBigUInt64BE(0), 8n);
    assert.notEqual(await getCas(other, n.get()), LOCKED_CAS, 'the counter is unlocked');

    const stats = await statGroup(kv, '');
    assert.equal(stats.get('cmd_lock'), '2');
    assert.equal(stats.get('lock_held'), '1');
    assert.ok(Number(stats.get('lock_refused')) >= refused.length - 1);
  }));

test('UNLOCK_KEY: the lock CAS releases; CAS 0 is invalid; unlocked → NOT_LOCKED; missing → KEY_ENOENT', RAW_TEST, () =>
  withServer(async (f) => {
    const kv = await f.open({ features: XERROR });
    const k = onKey(f, 'doc');
    expectStatus(await kv.request(k.set('v')), Status.Success);
    const itemCas = f.bucket.get('doc').cas;
    const cas = await lockCas(kv, k.lock());
    expectStatus(await kv.request(k.unlock(cas + 1n)), Status.Locked, 'UNLOCK with a wrong CAS');
    expectStatus(await kv.request(encodeUnlockRequest({ key: 'doc', cas: 0n, vbucket: f.vb('doc') })), Status.Einval, 'UNLOCK with CAS 0');
    const ok = expectStatus(await kv.request(k.unlock(cas)), Status.Success, 'UNLOCK');
    assert.deepEqual([ok.extras.length, ok.key.length, ok.value.length], [0, 0, 0]);
    assert.equal(await getCas(kv, k.get()), itemCas, 'GET shows the real CAS again');
    expectStatus(await kv.request(k.unlock(cas)), Status.NotLocked, 'UNLOCK when not locked');
    expectStatus(await kv.request(k.set('w')), Status.Success, 'SET after unlock');

    const missing = onKey(f, 'missing');
    expectStatus(await kv.request(missing.unlock(cas)), Status.KeyEnoent, 'UNLOCK of a missing key');
    expectStatus(await kv.request(missing.lock()), Status.KeyEnoent, 'GET_LOCKED of a missing key');
    // A deleted document cannot be locked either.
    expectStatus(await kv.request(k.del()), Status.Success);
    expectStatus(await kv.request(k.lock()), Status.KeyEnoent, 'GET_LOCKED of a deleted key');
    // Malformed requests: extras neither 0 nor 4 bytes, a value, a CAS.
    const bad = { ...k.lock(), extras: Buffer.alloc(8) };
    expectStatus(await kv.request(bad), Status.Einval, 'GET_LOCKED with 8 bytes of extras');
    expectStatus(await kv.request({ ...k.lock(), value: Buffer.from('x') }), Status.Einval, 'GET_LOCKED with a value');
    expectStatus(await kv.request({ ...k.lock(), cas: 5n }), Status.Einval, 'GET_LOCKED with a CAS');
    // Wrong vbucket: NOT_MY_VBUCKET as for every document command.
    expectStatus(await kv.request(encodeGetLockedRequest({ key: 'doc', vbucket: (f.vb('doc') + 1) % 64 })), Status.NotMyVbucket);
  }));

test('a mutation carrying the lock CAS succeeds and releases the lock', RAW_TEST, () =>
  withServer(async (f) => {
    const kv = await f.open({ features: XERROR });
    const k = onKey(f, 'doc');
    expectStatus(await kv.request(k.set('v1')), Status.Success);
    let cas = await lockCas(kv, k.lock());
    const written = expectStatus(await kv.request(k.set('v2', cas)), Status.Success, 'SET with the lock CAS');
    assert.equal(f.bucket.get('doc').value.toString(), 'v2');
    assert.equal(await getCas(kv, k.get()), written.cas, 'unlocked: GET shows the new CAS');
    expectStatus(await kv.request(k.set('v3')), Status.Success, 'a plain SET now succeeds');

    cas = await lockCas(kv, k.lock());
    expectStatus(await kv.request(k.append('+', cas)), Status.Success, 'APPEND with the lock CAS');
    assert.equal(f.bucket.get('doc').value.toString(), 'v3+');
    cas = await lockCas(kv, k.lock());
    expectStatus(await kv.request(k.replace('v4', cas)), Status.Success, 'REPLACE with the lock CAS');
    cas = await lockCas(kv, k.lock());
    expectStatus(await kv.request(k.del(cas)), Status.Success, 'DELETE with the lock CAS');
    expectStatus(await kv.request(k.get()), Status.KeyEnoent);
    // Re-created, the key is not locked.
    expectStatus(await kv.request(k.add('new')), Status.Success);
    expectStatus(await kv.request(k.set('again')), Status.Success);
  }));

test('sub-document mutations respect a lock: refused without the lock CAS, applied and unlocking with it (found by fuzzing)', RAW_TEST, () =>
  withServer(async (f) => {
    const kv = await f.open({ features: XERROR });
    const other = await f.open({ features: XERROR });
    const k = onKey(f, 'sd');
    expectStatus(await kv.request(encodeStoreRequest({ key: 'sd', value: '{"a":1}', vbucket: f.vb('sd') })), Status.Success);
    const lock = await lockCas(kv, k.lock(10));
    const upsert = (cas?: bigint): Packet =>
      encodeSubdocRequest({ opcode: Opcode.SubdocDictUpsert, key: 'sd', path: 'b', value: '2', vbucket: f.vb('sd'), ...(cas === undefined ? {} : { cas }) });
    expectStatus(await other.request(upsert()), Status.Locked, 'subdoc without CAS');
    expectStatus(await other.request(upsert(f.bucket.get('sd').cas)), Status.Locked, 'subdoc with the item CAS');
    assert.equal(f.bucket.get('sd').value.toString(), '{"a":1}', 'nothing written');
    expectStatus(await kv.request(upsert(lock)), Status.Success, 'subdoc with the lock CAS');
    assert.deepEqual(JSON.parse(f.bucket.get('sd').value.toString()), { a: 1, b: 2 });
    // The lock went with that write: a plain write and UNLOCK see an unlocked document.
    expectStatus(await other.request(k.set('{"c":3}')), Status.Success, 'SET after');
    expectStatus(await kv.request(k.unlock(lock)), Status.NotLocked, 'UNLOCK after');
  }));

test('without XERROR: KEY_EEXISTS for a store, TMPFAIL for GET_LOCKED, UNLOCK and a DELETE with a CAS', RAW_TEST, () =>
  withServer(async (f) => {
    const kv = await f.open({ features: LEGACY });
    const k = onKey(f, 'doc');
    expectStatus(await kv.request(k.set('v')), Status.Success);
    const itemCas = f.bucket.get('doc').cas;
    const cas = await lockCas(kv, k.lock());
    // kv_engine Connection::remapErrorCode: locked → KEY_EEXISTS, locked_tmpfail and not_locked → TMPFAIL.
    expectStatus(await kv.request(k.set('x')), Status.KeyEexists, 'SET');
    expectStatus(await kv.request(k.append('x')), Status.KeyEexists, 'APPEND');
    expectStatus(await kv.request(k.touch()), Status.KeyEexists, 'TOUCH');
    expectStatus(await kv.request(k.del()), Status.KeyEexists, 'DELETE');
    expectStatus(await kv.request(k.del(itemCas)), Status.Etmpfail, 'DELETE with the item CAS');
    expectStatus(await kv.request(k.lock()), Status.Etmpfail, 'GET_LOCKED again');
    expectStatus(await kv.request(k.unlock(itemCas)), Status.Etmpfail, 'UNLOCK with a wrong CAS');
    const r = expectStatus(await kv.request(k.set('x')), Status.KeyEexists);
    assert.equal(r.value.length, 0, 'no JSON error body without XERROR');
    expectStatus(await kv.request(k.unlock(cas)), Status.Success, 'UNLOCK');
    expectStatus(await kv.request(k.unlock(cas)), Status.Etmpfail, 'UNLOCK when not locked');
    expectStatus(await kv.request(k.set('x')), Status.Success);
  }));

test('lock timeouts follow the engine clock: 0 and above 30 s mean 15 s; the lock lapses on time', RAW_TEST, async () => {
  const clock = new ManualClock();
  await withServer(
    async (f) => {
      const kv = await f.open();
      const expectLockedFor = async (key: string, lockTime: number | undefined, seconds: number): Promise<void> => {
        const k = onKey(f, key);
        expectStatus(await kv.request(k.set('v')), Status.Success);
        await lockCas(kv, k.lock(lockTime));
        clock.advance(seconds * 1000 - 1);
        expectStatus(await kv.request(k.set('x')), Status.Locked, `${key}: still locked just before ${seconds} s`);
        assert.equal(await getCas(kv, k.get()), LOCKED_CAS);
        clock.advance(1);
        assert.notEqual(await getCas(kv, k.get()), LOCKED_CAS, `${key}: free at ${seconds} s`);
        expectStatus(await kv.request(k.set('x')), Status.Success, `${key}: writable at ${seconds} s`);
        // An expired lock is no lock: UNLOCK says so, and a new lock can be taken.
        expectStatus(await kv.request(k.unlock(1n)), Status.NotLocked);
      };
      await expectLockedFor('none', undefined, 15);
      await expectLockedFor('zero', 0, 15);
      await expectLockedFor('five', 5, 5);
      await expectLockedFor('max', 30, 30);
      await expectLockedFor('over', 31, 15);
      await expectLockedFor('huge', 0xffffffff, 15);
      const stats = await statGroup(kv, '');
      assert.equal(stats.get('lock_expired'), '6');
      assert.equal(stats.get('lock_held'), '0');
    },
    { clock },
  );
});

test('locks live in memory only: a restart drops them', RAW_TEST, async () => {
  const dataDir = tempDir();
  const start = () => FreshetServer.start({ dataDir, kvPort: 0, mgmtPort: 0, httpPort: 0, numVBuckets: 64, fastHashing: true, ...ADMIN });
  try {
    let server = await start();
    const vbucket = server.engine.requireBucket('default').vbucketOf('doc');
    let kv = await openBucket(server.ports.kv);
    expectStatus(await kv.request(encodeStoreRequest({ key: 'doc', value: 'v', vbucket })), Status.Success);
    await lockCas(kv, encodeGetLockedRequest({ key: 'doc', vbucket, lockTime: 30 }));
    expectStatus(await kv.request(encodeStoreRequest({ key: 'doc', value: 'x', vbucket })), Status.Locked);
    kv.close();
    await server.close();

    server = await start();
    try {
      kv = await openBucket(server.ports.kv);
      assert.notEqual(await getCas(kv, encodeGetRequest({ key: 'doc', vbucket })), LOCKED_CAS);
      expectStatus(await kv.request(encodeStoreRequest({ key: 'doc', value: 'after restart', vbucket })), Status.Success);
      kv.close();
    } finally {
      await server.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
