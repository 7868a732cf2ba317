/**
 * XDCR writes with their own metadata (src/engine/with-meta.ts): kv_engine's conflict resolution as
 * tables of (local, remote) → winner for revid and lww buckets, and the engine write against a real
 * engine: missing keys, tombstones, losing writes that change nothing, the options word, the clock.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/engine/engine.js';
import { openTestEngine, type TestEngine } from '../helpers/engine.js';
import { isEngineError, type EngineErrorKind } from '../../src/engine/errors.js';
import {
  compareMeta,
  FORCE_ACCEPT_WITH_META_OPS,
  IS_EXPIRATION,
  REGENERATE_CAS,
  SKIP_CONFLICT_RESOLUTION,
  type ConflictMeta,
  type WithMeta,
} from '../../src/engine/with-meta.js';
import type { Bucket } from '../../src/engine/bucket.js';
import type { FollowEvent } from '../../src/engine/types.js';

async function rejects(p: Promise<unknown>, code: EngineErrorKind): Promise<void> {
  await assert.rejects(p, (err: unknown) => isEngineError(err, code));
}

const BASE: ConflictMeta = { revSeqno: 10, cas: 1000n, expiry: 500, flags: 7, xattr: false };
const m = (over: Partial<ConflictMeta>): ConflictMeta => ({ ...BASE, ...over });

describe('compareMeta: kv conflict_resolution.cc', () => {
  // [name, local, remote, revid winner, lww winner]
  const rows: Array<[string, ConflictMeta, ConflictMeta, 'remote' | 'local', 'remote' | 'local']> = [
    ['identical: local keeps it', BASE, BASE, 'local', 'local'],
    ['higher rev seqno, lower CAS', BASE, m({ revSeqno: 11, cas: 999n }), 'remote', 'local'],
    ['lower rev seqno, higher CAS', BASE, m({ revSeqno: 9, cas: 1001n }), 'local', 'remote'],
    ['same rev seqno, higher CAS', BASE, m({ cas: 1001n }), 'remote', 'remote'],
    ['same rev seqno, lower CAS', BASE, m({ cas: 999n }), 'local', 'local'],
    ['same CAS, higher rev seqno', BASE, m({ revSeqno: 11 }), 'remote', 'remote'],
    ['tie to expiry: later wins', BASE, m({ expiry: 501 }), 'remote', 'remote'],
    ['tie to expiry: earlier loses', BASE, m({ expiry: 499, flags: 99 }), 'local', 'local'],
    ['tie to flags: larger wins', BASE, m({ flags: 8 }), 'remote', 'remote'],
    ['tie to flags: smaller loses', BASE, m({ flags: 6 }), 'local', 'local'],
    ['full tie, remote has xattrs', BASE, m({ xattr: true }), 'remote', 'remote'],
    ['full tie, both have xattrs', m({ xattr: true }), m({ xattr: true }), 'local', 'local'],
    ['CAS above 2^53 compared exactly', m({ cas: (1n << 62n) + 1n }), m({ cas: (1n << 62n) + 2n }), 'remote', 'remote'],
  ];
  for (const [name, local, remote, revid, lww] of rows) {
    test(name, () => {
      assert.equal(compareMeta(local, remote, 'seqno'), revid, 'revid bucket');
      assert.equal(compareMeta(local, remote, 'lww'), lww, 'lww bucket');
    });
  }

  test('a deletion loses once rev seqno and CAS tie; expiry and flags are not compared', () => {
    assert.equal(compareMeta(BASE, m({ expiry: 900, flags: 99 }), 'seqno', true), 'local');
    assert.equal(compareMeta(BASE, m({ expiry: 900 }), 'lww', true), 'local');
    assert.equal(compareMeta(BASE, m({ revSeqno: 11 }), 'seqno', true), 'remote');
    assert.equal(compareMeta(BASE, m({ cas: 1001n }), 'lww', true), 'remote');
  });
});

function meta(over: Partial<WithMeta> = {}): WithMeta {
  return { cas: 0x1000_0000_0000n, revSeqno: 5, flags: 0, expiry: 0, deleted: false, ...over };
}

async function nextOfType(f: AsyncIterator<FollowEvent>, type: FollowEvent['type']): Promise<FollowEvent> {
  for (;;) {
    const r = await f.next();
    assert.ok(!r.done, `the follower ended before a ${type}`);
    if (r.value.type === type) return r.value;
  }
}

describe('writeWithMeta on a revid bucket', () => {
  let t: TestEngine;
  let b: Bucket;
  before(async () => {
    t = await openTestEngine(16);
    b = t.bucket;
  });
  after(() => t.close());

  test('a missing key takes the remote version with its CAS, rev seqno, flags and expiry, at a fresh seqno', async () => {
    const vb = b.vbucketOf('new');
    const high = b.vbucketInfo(vb).highSeqno;
    const expiry = Math.floor(Date.now() / 1000) + 3600;
    const r = await b.writeWithMeta('new', meta({ flags: 0xabcd, expiry, revSeqno: 42 }), Buffer.from('{"v":1}'), { options: 0, mode: 'set' });
    assert.equal(r.cas, 0x1000_0000_0000n);
    const item = b.get('new');
    assert.deepEqual([item.cas, item.revSeqno, item.flags, item.expiry, item.seqno], [0x1000_0000_0000n, 42, 0xabcd, expiry, high + 1]);
    assert.equal(item.value.toString(), '{"v":1}');
    assert.equal(b.withMetaStats.setMeta >= 1, true);
  });

  test('the clock observes a replicated CAS: the next local write has a larger one', async () => {
    const future = (BigInt(Date.now() + 600_000) * 1_000_000n) & ~0xffffn;
    await b.writeWithMeta('future', meta({ cas: future }), Buffer.from('x'), { options: 0, mode: 'set' });
    const local = await b.set('after-future', 'y');
    assert.ok(local.cas > future);
  });

  test('a losing write is KEY_EEXISTS and changes nothing; a winning one replaces', async () => {
    await b.writeWithMeta('cr', meta({ revSeqno: 10, cas: 5000n }), Buffer.from('first'), { options: 0, mode: 'set' });
    const before = b.get('cr');
    const high = b.vbucketInfo(before.vbucket).highSeqno;
    const fails = b.withMetaStats.setMetaResolutionFailed;
    await assert.rejects(b.writeWithMeta('cr', meta({ revSeqno: 9, cas: 9999n }), Buffer.from('older'), { options: 0, mode: 'set' }),
      (err: unknown) => isEngineError(err, 'KEY_EEXISTS') && err.context.conflict === true);
    await rejects(b.writeWithMeta('cr', meta({ revSeqno: 10, cas: 5000n }), Buffer.from('same'), { options: 0, mode: 'set' }), 'KEY_EEXISTS');
    assert.equal(b.withMetaStats.setMetaResolutionFailed, fails + 2);
    assert.deepEqual(b.get('cr'), before);
    assert.equal(b.vbucketInfo(before.vbucket).highSeqno, high);
    await b.writeWithMeta('cr', meta({ revSeqno: 10, cas: 5001n }), Buffer.from('newer'), { options: 0, mode: 'set' });
    assert.equal(b.get('cr').value.toString(), 'newer');
  });

  test('a tombstone competes with its own metadata; a delete of a missing key leaves a tombstone', async () => {
    await b.writeWithMeta('gone', meta({ revSeqno: 20, cas: 7000n, expiry: 1_700_000_000 }), Buffer.alloc(0), { options: 0, mode: 'delete' });
    const tomb = b.getMeta('gone');
    assert.deepEqual([tomb.deleted, tomb.revSeqno, tomb.cas, tomb.deleteTime], [true, 20, 7000n, 1_700_000_000]);
    await rejects(b.writeWithMeta('gone', meta({ revSeqno: 19, cas: 9000n }), Buffer.from('old'), { options: 0, mode: 'set' }), 'KEY_EEXISTS');
    await b.writeWithMeta('gone', meta({ revSeqno: 21, cas: 100n }), Buffer.from('back'), { options: 0, mode: 'add' });
    assert.equal(b.get('gone').value.toString(), 'back');
  });

  test('ADD_WITH_META on a live document is KEY_EEXISTS even when it would win', async () => {
    await b.set('live', 'v');
    await rejects(b.writeWithMeta('live', meta({ revSeqno: 1000 }), Buffer.from('w'), { options: 0, mode: 'add' }), 'KEY_EEXISTS');
  });

  test('a non-zero request CAS must match the current version', async () => {
    const r = await b.set('casd', 'v');
    await rejects(b.writeWithMeta('casd', meta({ revSeqno: 100 }), Buffer.from('w'), { options: 0, mode: 'set', expectCas: r.cas + 1n }), 'KEY_EEXISTS');
    await rejects(b.writeWithMeta('casd-missing', meta(), Buffer.from('w'), { options: 0, mode: 'set', expectCas: 5n }), 'KEY_ENOENT');
    await b.writeWithMeta('casd', meta({ revSeqno: 100 }), Buffer.from('w'), { options: 0, mode: 'set', expectCas: r.cas });
    assert.equal(b.get('casd').value.toString(), 'w');
  });

  test('SKIP_CONFLICT_RESOLUTION accepts an older version; REGENERATE_CAS gives it a fresh CAS', async () => {
    await b.writeWithMeta('skip', meta({ revSeqno: 50, cas: 1n << 50n }), Buffer.from('a'), { options: 0, mode: 'set' });
    await b.writeWithMeta('skip', meta({ revSeqno: 1, cas: 1n }), Buffer.from('b'), { options: SKIP_CONFLICT_RESOLUTION, mode: 'set' });
    assert.deepEqual([b.get('skip').revSeqno, b.get('skip').cas], [1, 1n]);
    const local = await b.set('other', 'z');
    const r = await b.writeWithMeta('skip', meta({ revSeqno: 2, cas: 2n }), Buffer.from('c'), { options: SKIP_CONFLICT_RESOLUTION | REGENERATE_CAS, mode: 'set' });
    assert.ok(r.cas > local.cas);
    assert.deepEqual([b.get('skip').revSeqno, b.get('skip').cas], [2, r.cas]);
  });

  test('bad option combinations and metadata are EINVAL, before anything changes', async () => {
    await rejects(b.writeWithMeta('opt', meta(), Buffer.from('a'), { options: REGENERATE_CAS, mode: 'set' }), 'EINVAL');
    await rejects(b.writeWithMeta('opt', meta(), Buffer.from('a'), { options: FORCE_ACCEPT_WITH_META_OPS, mode: 'set' }), 'EINVAL');
    await rejects(b.writeWithMeta('opt', meta({ flags: -1 }), Buffer.from('a'), { options: 0, mode: 'set' }), 'EINVAL');
    await rejects(b.writeWithMeta('opt', meta({ cas: 1n << 64n }), Buffer.from('a'), { options: 0, mode: 'set' }), 'EINVAL');
    assert.equal(b.lookup(Buffer.from('opt')), undefined);
  });

  test('IS_EXPIRATION makes the tombstone an expiration on the vbucket stream', async () => {
    await b.set('exp', 'v');
    const vb = b.vbucketOf('exp');
    const start = b.vbucketInfo(vb).highSeqno;
    const f = b.follow(vb, { start });
    const it = f[Symbol.asyncIterator]();
    const cur = b.get('exp');
    await b.writeWithMeta('exp', meta({ revSeqno: cur.revSeqno + 1, cas: cur.cas + 1n }), Buffer.alloc(0), { options: IS_EXPIRATION, mode: 'delete' });
    const e = await nextOfType(it, 'expiration');
    assert.ok(e.type === 'expiration' && e.item.key.toString() === 'exp' && e.item.revSeqno === cur.revSeqno + 1);
    f.close();
  });
});

describe('writeWithMeta on a last-write-wins bucket', () => {
  test('CAS decides first; FORCE_ACCEPT is required; the setting survives a restart', async () => {
    const t = await openTestEngine(16);
    try {
      const b = await t.engine.createBucket('lww', { numVBuckets: 16, conflictResolution: 'lww' });
      assert.equal(b.conflictResolution, 'lww');
      assert.equal(t.bucket.conflictResolution, 'seqno');
      const force = { options: FORCE_ACCEPT_WITH_META_OPS, mode: 'set' } as const;
      await rejects(b.writeWithMeta('k', meta(), Buffer.from('a'), { options: 0, mode: 'set' }), 'EINVAL');
      await b.writeWithMeta('k', meta({ revSeqno: 100, cas: 5000n }), Buffer.from('a'), force);
      await rejects(b.writeWithMeta('k', meta({ revSeqno: 999, cas: 4999n }), Buffer.from('b'), force), 'KEY_EEXISTS');
      await b.writeWithMeta('k', meta({ revSeqno: 1, cas: 5001n }), Buffer.from('c'), force);
      assert.equal(b.get('k').value.toString(), 'c');
      await rejects(t.engine.createBucket('bad', { conflictResolution: 'custom' as 'lww' }), 'EINVAL');
      await t.engine.close();
      const reopened = await Engine.open({ dataDir: t.dataDir, expiryPagerMs: 0 });
      t.engine = reopened;
      assert.equal(reopened.requireBucket('lww').conflictResolution, 'lww');
      assert.equal(reopened.requireBucket('default').conflictResolution, 'seqno');
    } finally {
      await t.close();
    }
  });
});
