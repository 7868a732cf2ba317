/**
 * Reading from a source without `_bulk_get` (CouchDB 1.x, pouchdb-express-router): the replicator
 * falls back to `GET /{db}/{id}?open_revs=[…]&revs=true&latest=true`, parsing multipart/mixed
 * (Freshet, CouchDB) or a JSON array (PouchDB-based servers), with conflicts and attachments.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { startPouchServer, type PouchServer } from './helpers/pouchdb-server.js';
import { startProxy } from './helpers/proxy.js';
import { assertSameDatabases, attachment, attachmentBytes, db, ok, seedAttachments, seedConflicts, seedDeletions, seedPlain } from './helpers/data.js';
import { replicate } from '../../src/replicator/replicator.js';

let f: TestServer;
let p: PouchServer;
before(async () => {
  [f, p] = await Promise.all([startTestServer(), startPouchServer()]);
});
after(async () => {
  await Promise.all([f?.close(), p?.stop()]);
});

describe('open_revs fallback', () => {
  for (const kind of ['Freshet (multipart/mixed)', 'pouchdb-server (JSON)'] as const) {
    test(`${kind}: _bulk_get refused, documents read one by one`, async () => {
      const freshet = kind.startsWith('Freshet');
      const creds = freshet ? 'Administrator:password' : undefined;
      const upstreamPort = freshet ? f.server.ports.http : p.port;
      const name = freshet ? 'fallback-src' : 'fallback-src-p';
      const direct = db(`http://${creds ? `${creds}@` : ''}127.0.0.1:${upstreamPort}/${name}`);
      await ok(direct, 'PUT', '');
      await seedPlain(direct, 40);
      await seedConflicts(direct, 5);
      await seedDeletions(direct, 5);
      await seedAttachments(direct, 4);
      const proxy = await startProxy(upstreamPort);
      try {
        proxy.failWith((req) => (req.url ?? '').includes('/_bulk_get'), 404);
        const targetUrl = `${p.base}/${name}-copy`;
        const res = await replicate({ source: proxy.url(`/${name}`, creds), target: targetUrl, createTarget: true, nodeUuid: 'n' });
        assert.equal(res.stats.docs_written, 40 + 15 + 5 + 4);
        assert.equal(proxy.counts.get(`POST /${name}/_bulk_get`) ?? 0, 0);
        const singleReads = [...proxy.counts].filter(([k]) => k.startsWith(`GET /${name}/`) && !k.includes('/_')).reduce((n, [, v]) => n + v, 0);
        // Plain first revisions come with the feed (empty target); the others are read one by one.
        assert.ok(singleReads >= 5 + 5 + 4, `one GET per conflicted, deleted or attachment document (${singleReads})`);
        await assertSameDatabases(direct, db(targetUrl), ['conflict-0', 'conflict-4', 'deleted-2', 'att-3']);
        assert.deepEqual(await attachment(db(targetUrl), 'att-3', 'blob.bin'), attachmentBytes(3));
        assert.equal((await attachment(db(targetUrl), 'att-1', 'note.txt')).toString(), 'note 1');
      } finally {
        await proxy.close();
      }
    });
  }
});
