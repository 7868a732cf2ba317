/**
 * The HTTP face keeps each document's revision tree in the system xattr `_sync` (couchdb
 * doc-store.ts); like Sync Gateway's, it is readable over sub-document lookups by an administrator,
 * also after an HTTP delete (ACCESS_DELETED reads the tombstone), and hidden from a data_reader
 * (system xattrs need the system-xattr privilege). A subdoc write of a user xattr leaves the
 * revision tree in place, and HTTP still serves the document.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { LookupInSpec, MutateInSpec } from 'couchbase';
import { SDK_TEST_TIMEOUT, withCollection } from '../kv/sdk.js';
import { createDb, obj, withCouch } from './helpers.js';

describe('the _sync xattr over subdoc', () => {
  test('an admin reads the revision tree of a document written over HTTP', { timeout: SDK_TEST_TIMEOUT }, () =>
    withCouch(async (f) => {
      await createDb(f, 'sync');
      const first = await f.req('/sync/doc', { method: 'PUT', json: { n: 1 } });
      assert.equal(first.status, 201);
      const rev1 = String(obj(first.json).rev);
      const second = await f.req('/sync/doc', { method: 'PUT', json: { n: 2, _rev: rev1 } });
      const rev2 = String(obj(second.json).rev);
      const port = f.server.server.ports.kv;
      await withCollection(port, 'sync', async (coll) => {
        const r = await coll.lookupIn('doc', [LookupInSpec.get('_sync', { xattr: true }), LookupInSpec.get('_sync.rev', { xattr: true }), LookupInSpec.get('n')]);
        const sync = obj(r.content[0]!.value);
        assert.equal(sync.rev, rev2);
        assert.ok(JSON.stringify(sync.tree).includes(rev1.split('-')[1]!), 'the tree holds the first revision');
        assert.equal(r.content[1]!.value, rev2);
        assert.equal(r.content[2]!.value, 2);

        // A user xattr written over subdoc does not disturb the tree.
        await coll.mutateIn('doc', [MutateInSpec.upsert('app', { tag: 1 }, { xattr: true })]);
        const again = await coll.lookupIn('doc', [LookupInSpec.get('_sync.rev', { xattr: true }), LookupInSpec.get('app.tag', { xattr: true })]);
        assert.equal(again.content[0]!.value, rev2);
        assert.equal(again.content[1]!.value, 1);
      });
      const viaHttp = await f.req('/sync/doc');
      assert.equal(viaHttp.status, 200);
      assert.equal(obj(viaHttp.json).n, 2);

      const del = await f.req(`/sync/doc?rev=${encodeURIComponent(String(obj(viaHttp.json)._rev))}`, { method: 'DELETE' });
      assert.equal(del.status, 200);
      const rev3 = String(obj(del.json).rev);
      await withCollection(port, 'sync', async (coll) => {
        const r = await coll.lookupIn('doc', [LookupInSpec.get('_sync', { xattr: true })], { accessDeleted: true });
        const sync = obj(r.content[0]!.value);
        assert.equal(sync.rev, rev3);
        assert.equal(sync.del, 1);
      });

      await f.server.server.users.setBucketUser('reader', 'reader-pw', [{ role: 'data_reader', bucket: 'sync' }]);
      await f.req('/sync/other', { method: 'PUT', json: { n: 1 } });
      await withCollection(
        port,
        'sync',
        async (coll) => {
          const r = await coll.lookupIn('other', [LookupInSpec.get('_sync', { xattr: true }), LookupInSpec.get('n')]);
          assert.ok(r.content[0]!.error, 'a data_reader may not read a system xattr');
          assert.equal(r.content[0]!.value, undefined);
          assert.equal(r.content[1]!.value, 1);
        },
        { username: 'reader', password: 'reader-pw' },
      );
    }));
});
