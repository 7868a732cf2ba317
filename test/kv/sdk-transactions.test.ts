/**
 * Couchbase distributed ACID transactions (the official SDK's `cluster.transactions()`) against
 * Freshet. They are built by the client from sub-document commands on xattrs: staged inserts as
 * tombstones (CREATE_AS_DELETED), `${$document...}` macros, the `$document` virtual xattr, commits
 * with SUBDOC_REPLACE_BODY_WITH_XATTR and REVIVE_DOCUMENT, and active transaction records in
 * `_txn:atr-*` documents. The SDK uses them once HELLO grants VAttr and SubdocCreateAsDeleted.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DocumentNotFoundError, TransactionFailedError } from 'couchbase';
import { startTestServer } from '../helpers/server.js';
import { SDK_TEST_TIMEOUT, connectSdk } from './sdk.js';

const opts = { timeout: SDK_TEST_TIMEOUT };

describe('SDK transactions', () => {
  test('a transaction over two collections commits replace, insert and remove together', opts, async () => {
    const t = await startTestServer();
    const cluster = await connectSdk(t.server.ports.kv);
    try {
      const bucket = t.server.engine.requireBucket('default');
      await bucket.createScope('bank');
      await bucket.createCollection('bank', 'ledger');
      const accounts = cluster.bucket('default').defaultCollection();
      const ledger = cluster.bucket('default').scope('bank').collection('ledger');
      await accounts.upsert('alice', { balance: 100 });
      await accounts.upsert('bob', { balance: 0 });
      await accounts.upsert('stale', { old: true });

      let seenOutside: unknown;
      let insertVisibleOutside = true;
      const result = await cluster.transactions().run(async (ctx) => {
        const a = await ctx.get(accounts, 'alice');
        const b = await ctx.get(accounts, 'bob');
        await ctx.replace(a, { balance: a.content.balance - 30 });
        await ctx.replace(b, { balance: b.content.balance + 30 });
        await ctx.insert(ledger, 'entry-1', { from: 'alice', to: 'bob', amount: 30 });
        await ctx.remove(await ctx.get(accounts, 'stale'));
        // Outside the transaction, nothing has changed yet: the writes are staged in xattrs.
        seenOutside = (await accounts.get('alice')).content;
        insertVisibleOutside = await ledger.get('entry-1').then(() => true, (err: unknown) => !(err instanceof DocumentNotFoundError));
      });
      assert.equal(result.unstagingComplete, true);
      assert.deepEqual(seenOutside, { balance: 100 });
      assert.equal(insertVisibleOutside, false, 'a staged insert is a tombstone until the commit');
      assert.deepEqual((await accounts.get('alice')).content, { balance: 70 });
      assert.deepEqual((await accounts.get('bob')).content, { balance: 30 });
      assert.deepEqual((await ledger.get('entry-1')).content, { from: 'alice', to: 'bob', amount: 30 });
      await assert.rejects(accounts.get('stale'), DocumentNotFoundError);
      // The transaction's records are ordinary documents of the bucket, which the CouchDB face
      // does not list: `_txn:...` is no CouchDB document id.
      // The SDK's lost-attempts cleanup writes its client record in the background: wait for it.
      const deadline = Date.now() + 20_000;
      while (bucket.current(Buffer.from('_txn:client-record'))?.deleted !== false && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(bucket.get('_txn:client-record').value.length > 0);
      const listed = await fetch(`http://127.0.0.1:${t.server.ports.http}/default/_all_docs`, { headers: { authorization: `Basic ${Buffer.from('Administrator:password').toString('base64')}` } });
      const ids = ((await listed.json()) as { rows: Array<{ id: string }> }).rows.map((r) => r.id);
      assert.deepEqual(ids, ['alice', 'bob']);
    } finally {
      await cluster.close();
      await t.close();
    }
  });

  test('a transaction whose logic throws rolls back: staged writes are removed, documents unchanged', opts, async () => {
    const t = await startTestServer();
    const cluster = await connectSdk(t.server.ports.kv);
    try {
      const coll = cluster.bucket('default').defaultCollection();
      await coll.upsert('acct', { balance: 10 });
      const before = await coll.get('acct');
      await assert.rejects(
        cluster.transactions().run(async (ctx) => {
          await ctx.replace(await ctx.get(coll, 'acct'), { balance: -1 });
          await ctx.insert(coll, 'never', { x: 1 });
          throw new Error('abort on purpose');
        }),
        TransactionFailedError,
      );
      const after = await coll.get('acct');
      assert.deepEqual(after.content, { balance: 10 });
      await assert.rejects(coll.get('never'), DocumentNotFoundError);
      // The staged xattrs are gone again (the rollback removed them), so a plain replace at the
      // document's current CAS succeeds and a later transaction sees no conflict.
      assert.notEqual(after.cas.toString(), '0');
      await coll.replace('acct', { balance: 11 }, { cas: after.cas });
      await cluster.transactions().run(async (ctx) => {
        const doc = await ctx.get(coll, 'acct');
        await ctx.replace(doc, { balance: doc.content.balance + 1 });
      });
      assert.deepEqual((await coll.get('acct')).content, { balance: 12 });
      assert.notEqual(before.cas.toString(), after.cas.toString());
    } finally {
      await cluster.close();
      await t.close();
    }
  });
});
