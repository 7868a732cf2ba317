/**
 * The official `couchbase` SDK's `lookupIn` / `mutateIn` against Freshet: every spec kind, xattrs
 * (user and system), the `${Mutation.CAS}` macro, virtual xattrs, the SDK's error classes for the
 * sub-document statuses, and `accessDeleted` reads of a tombstone's xattrs.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  CasMismatchError,
  DocumentExistsError,
  DocumentNotFoundError,
  LookupInMacro,
  LookupInSpec,
  MutateInMacro,
  MutateInSpec,
  PathExistsError,
  PathMismatchError,
  PathNotFoundError,
  StoreSemantics,
  type Collection,
} from 'couchbase';
import { startTestServer } from '../helpers/server.js';
import { casFromMacroValue } from '../../src/subdoc/xattrs.js';
import { SDK_TEST_TIMEOUT, withCollection } from './sdk.js';

const opts = { timeout: SDK_TEST_TIMEOUT };

async function withSdk(fn: (coll: Collection) => Promise<void>): Promise<void> {
  const t = await startTestServer();
  try {
    await withCollection(t.server.ports.kv, 'default', fn);
  } finally {
    await t.close();
  }
}

describe('SDK sub-document operations', () => {
  test('lookupIn: get, exists, count, and per-path errors', opts, async () => {
    await withSdk(async (coll) => {
      await coll.upsert('doc', { name: 'elmo', tags: ['a', 'b', 'c'], nested: { deep: { n: 7 } }, 'dot.ted': 1 });
      const r = await coll.lookupIn('doc', [
        LookupInSpec.get('name'),
        LookupInSpec.exists('nested.deep.n'),
        LookupInSpec.count('tags'),
        LookupInSpec.get('tags[-1]'),
        LookupInSpec.get('missing'),
        LookupInSpec.get('`dot.ted`'),
        LookupInSpec.exists('nope'),
        LookupInSpec.get('name.sub'),
      ]);
      assert.equal(r.content[0]!.value, 'elmo');
      assert.equal(r.content[1]!.value, true);
      assert.equal(r.content[2]!.value, 3);
      assert.equal(r.content[3]!.value, 'c');
      assert.ok(r.content[4]!.error instanceof PathNotFoundError, `got ${String(r.content[4]!.error)}`);
      assert.equal(r.content[5]!.value, 1);
      assert.equal(r.content[6]!.value, false);
      assert.ok(r.content[7]!.error instanceof PathMismatchError, `got ${String(r.content[7]!.error)}`);
      const whole = await coll.get('doc');
      assert.equal(r.cas.toString(), whole.cas.toString());
      await assert.rejects(coll.lookupIn('absent', [LookupInSpec.get('x')]), DocumentNotFoundError);
    });
  });

  test('mutateIn: insert, upsert, replace, remove, arrays and counters', opts, async () => {
    await withSdk(async (coll) => {
      const first = await coll.upsert('doc', { a: 1, list: [2], set: ['x'] });
      const res = await coll.mutateIn('doc', [
        MutateInSpec.insert('b', { c: true }),
        MutateInSpec.upsert('deep.er.path', 'made', { createPath: true }),
        MutateInSpec.replace('a', 10),
        MutateInSpec.arrayAppend('list', 3),
        MutateInSpec.arrayAppend('list', [4, 5], { multi: true }),
        MutateInSpec.arrayPrepend('list', 1),
        MutateInSpec.arrayInsert('list[1]', 1.5),
        MutateInSpec.arrayAddUnique('set', 'y'),
        MutateInSpec.increment('counter', 5),
        MutateInSpec.decrement('counter', 2),
        MutateInSpec.remove('b.c'),
      ]);
      assert.notEqual(res.cas.toString(), first.cas.toString());
      assert.equal(res.content[8]!.value, 5);
      assert.equal(res.content[9]!.value, 3);
      const got = await coll.get('doc');
      assert.deepEqual(got.content, { a: 10, list: [1, 1.5, 2, 3, 4, 5], set: ['x', 'y'], b: {}, deep: { er: { path: 'made' } }, counter: 3 });
      assert.equal(got.cas.toString(), res.cas.toString());

      await assert.rejects(coll.mutateIn('doc', [MutateInSpec.insert('a', 1)]), PathExistsError);
      await assert.rejects(coll.mutateIn('doc', [MutateInSpec.arrayAddUnique('set', 'x')]), PathExistsError);
      await assert.rejects(coll.mutateIn('doc', [MutateInSpec.replace('nope', 1)]), PathNotFoundError);
      await assert.rejects(coll.mutateIn('doc', [MutateInSpec.upsert('x.y', 1)]), PathNotFoundError);
      await assert.rejects(coll.mutateIn('doc', [MutateInSpec.arrayAppend('a', 1)]), PathMismatchError);
      await assert.rejects(coll.mutateIn('doc', [MutateInSpec.replace('a', 1)], { cas: first.cas }), CasMismatchError);
      await assert.rejects(coll.mutateIn('missing', [MutateInSpec.upsert('a', 1)]), DocumentNotFoundError);
      // A failed multi-mutation changes nothing, even the specs before the failing one.
      await assert.rejects(coll.mutateIn('doc', [MutateInSpec.upsert('a', 99), MutateInSpec.insert('a', 1)]), PathExistsError);
      assert.equal((await coll.get('doc')).content.a, 10);
    });
  });

  test('store semantics: upsert creates, insert refuses an existing document', opts, async () => {
    await withSdk(async (coll) => {
      await coll.mutateIn('made', [MutateInSpec.upsert('x.y', 1), MutateInSpec.arrayAppend('l', 'v', { createPath: true })], { storeSemantics: StoreSemantics.Upsert });
      assert.deepEqual((await coll.get('made')).content, { x: { y: 1 }, l: ['v'] });
      await coll.mutateIn('ins', [MutateInSpec.insert('k', 'v')], { storeSemantics: StoreSemantics.Insert });
      assert.deepEqual((await coll.get('ins')).content, { k: 'v' });
      await assert.rejects(coll.mutateIn('ins', [MutateInSpec.insert('k2', 'v')], { storeSemantics: StoreSemantics.Insert }), DocumentExistsError);
      await coll.mutateIn('ttl', [MutateInSpec.upsert('a', 1)], { storeSemantics: StoreSemantics.Upsert, expiry: 3600 });
      const meta = await coll.lookupIn('ttl', [LookupInSpec.get(LookupInMacro.Expiry, { xattr: true })]);
      const exptime = meta.content[0]!.value as number;
      assert.ok(exptime > Date.now() / 1000 + 3500 && exptime < Date.now() / 1000 + 3700, `exptime ${exptime}`);
    });
  });

  test('xattrs: user and system, macros, virtual xattrs; full-document writes keep system xattrs only', opts, async () => {
    await withSdk(async (coll) => {
      await coll.upsert('x', { body: 1 });
      const written = await coll.mutateIn('x', [
        MutateInSpec.upsert('meta.cas', MutateInMacro.Cas, { xattr: true, createPath: true }),
        MutateInSpec.upsert('meta.seq', MutateInMacro.SeqNo, { xattr: true }),
        MutateInSpec.upsert('_sys', { owner: 'app' }, { xattr: true }),
        MutateInSpec.upsert('body', 2),
      ]);
      const r = await coll.lookupIn('x', [
        LookupInSpec.get('meta', { xattr: true }),
        LookupInSpec.get('_sys.owner', { xattr: true }),
        LookupInSpec.get(LookupInMacro.Document, { xattr: true }),
        LookupInSpec.get(LookupInMacro.Cas, { xattr: true }),
        LookupInSpec.get('$XTOC', { xattr: true }),
        LookupInSpec.get('body'),
      ]);
      const meta = r.content[0]!.value as { cas: string; seq: string };
      // ${Mutation.CAS} is the mutation's own CAS, written byte-swapped in hex as kv does.
      assert.equal(casFromMacroValue(meta.cas).toString(), written.cas.toString());
      assert.match(meta.seq, /^0x[0-9a-f]{16}$/);
      assert.equal(r.content[1]!.value, 'app');
      const doc = r.content[2]!.value as Record<string, unknown>;
      assert.equal(BigInt(doc.CAS as string).toString(), written.cas.toString());
      assert.equal(doc.deleted, false);
      assert.deepEqual(doc.datatype, ['json', 'xattr']);
      assert.equal(BigInt(r.content[3]!.value as string).toString(), written.cas.toString());
      assert.deepEqual(r.content[4]!.value, ['meta', '_sys']);
      assert.equal(r.content[5]!.value, 2);
      // GET returns the body alone.
      assert.deepEqual((await coll.get('x')).content, { body: 2 });

      await coll.replace('x', { body: 3 });
      const after = await coll.lookupIn('x', [LookupInSpec.exists('meta', { xattr: true }), LookupInSpec.get('_sys', { xattr: true })]);
      assert.equal(after.content[0]!.value, false, 'a full-document write drops user xattrs');
      assert.deepEqual(after.content[1]!.value, { owner: 'app' }, 'and keeps system xattrs');
    });
  });

  test('accessDeleted reads the system xattrs a tombstone keeps', opts, async () => {
    await withSdk(async (coll) => {
      await coll.upsert('gone', { v: 1 });
      await coll.mutateIn('gone', [MutateInSpec.upsert('_keep', 'yes', { xattr: true }), MutateInSpec.upsert('drop', 'no', { xattr: true })]);
      await coll.remove('gone');
      await assert.rejects(coll.lookupIn('gone', [LookupInSpec.get('_keep', { xattr: true })]), DocumentNotFoundError);
      const r = await coll.lookupIn('gone', [LookupInSpec.get('_keep', { xattr: true }), LookupInSpec.exists('drop', { xattr: true }), LookupInSpec.get(LookupInMacro.IsDeleted, { xattr: true })], { accessDeleted: true });
      assert.equal(r.content[0]!.value, 'yes');
      assert.equal(r.content[1]!.value, false);
      assert.equal(r.content[2]!.value, true);
    });
  });
});
