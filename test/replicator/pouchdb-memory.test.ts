/**
 * PouchDB (memory adapter) databases as replication peers: through the `Peer` interface directly
 * (no HTTP), behind express-pouchdb as the peer of `_replicate`, and side by side with PouchDB's
 * own replicator (which must find nothing left to do after ours).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPouchServer, type PouchServer } from './helpers/pouchdb-server.js';
import { memoryDb, PouchPeer, servePouch, type PouchDatabase } from './helpers/pouch-peer.js';
import { attachment, attachmentBytes, db, leafMap, seedAttachments, seedConflicts, seedDeletions, seedPlain, trees } from './helpers/data.js';
import { replicate } from '../../src/replicator/replicator.js';
import { ReplicatorManager } from '../../src/replicator/manager.js';

let p: PouchServer;
before(async () => {
  p = await startPouchServer();
});
after(async () => {
  await p?.stop();
});

async function pouchLeaves(pdb: PouchDatabase): Promise<Map<string, string[]>> {
  const res = await pdb.changes({ style: 'all_docs' });
  return new Map(res.results.map((r) => [r.id, r.changes.map((c) => c.rev).sort()]));
}

describe('PouchDB (memory) peers', () => {
  test('pouchdb-server → PouchDB memory → pouchdb-server through the Peer interface: same trees', async () => {
    const src = db(await p.createDb('to-memory'));
    await seedPlain(src, 500);
    await seedConflicts(src, 10);
    await seedDeletions(src, 10);
    await seedAttachments(src, 5);
    const local = memoryDb(`mem-${Date.now()}`);
    const peer = new PouchPeer(local);
    const into = await replicate({ source: src.url, target: peer, nodeUuid: 'n' });
    assert.equal(into.stats.docs_written, 500 + 30 + 10 + 5);
    assert.deepEqual(await pouchLeaves(local), await leafMap(src));
    const withAtt = await local.get('att-2', { attachments: true });
    const blob = (withAtt._attachments as Record<string, { data: string }>)['blob.bin']!;
    assert.deepEqual(Buffer.from(blob.data, 'base64'), attachmentBytes(2));

    // PouchDB's own replicator, pulling the same source, has nothing to write.
    const own = await local.replicate.from(src.url);
    assert.equal(own.docs_written, 0);

    // And out again into an empty server database.
    const outUrl = `${p.base}/from-memory`;
    const out = await replicate({ source: peer, target: outUrl, createTarget: true, nodeUuid: 'n' });
    assert.equal(out.stats.docs_written, into.stats.docs_written);
    assert.deepEqual(await leafMap(db(outUrl)), await leafMap(src));
    const ids = ['conflict-3', 'deleted-1', 'att-4'];
    assert.deepEqual(await trees(db(outUrl), ids), await trees(src, ids));
    assert.deepEqual(await attachment(db(outUrl), 'att-4', 'blob.bin'), attachmentBytes(4));
    // Checkpoints live in the memory database too: a second run finds no changes.
    assert.equal((await replicate({ source: peer, target: outUrl, nodeUuid: 'n' })).no_changes, true);
    await local.destroy();
  });

  test('a PouchDB memory database served by express-pouchdb as the peer of _replicate', async () => {
    const served = await servePouch();
    const m = new ReplicatorManager({ nodeUuid: 'n' });
    try {
      const src = db(await p.createDb('to-served'));
      await seedPlain(src, 120);
      await seedConflicts(src, 3);
      const push = await m.handleReplicate({ source: src.url, target: `${served.base}/served`, create_target: true }, { name: 'admin' });
      assert.equal(push.status, 200, JSON.stringify(push.body));
      assert.deepEqual(await leafMap(db(`${served.base}/served`)), await leafMap(src));
      // Edits on the PouchDB side come back with a pull.
      const doc = (await (await fetch(`${served.base}/served/doc-000007`)).json()) as Record<string, unknown>;
      const put = await fetch(`${served.base}/served/doc-000007`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...doc, pouch: true }) });
      assert.equal(put.status, 201);
      const pull = await m.handleReplicate({ source: `${served.base}/served`, target: src.url }, { name: 'admin' });
      assert.equal(pull.status, 200);
      assert.equal(((pull.body.history as Array<Record<string, unknown>>)[0]!).docs_written, 1);
      assert.deepEqual(await leafMap(src), await leafMap(db(`${served.base}/served`)));
    } finally {
      await m.close();
      await served.close();
    }
  });
});
