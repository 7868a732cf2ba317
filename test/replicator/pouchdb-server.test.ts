/**
 * The replicator between two real pouchdb-server peers: bulk transfer with conflicts, deletions and
 * attachments (identical rev trees), incremental runs, filters, per-document refusals, continuous.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPouchServer, type PouchServer } from './helpers/pouchdb-server.js';
import {
  assertSameDatabases, attachment, attachmentBytes, call, db, leafMap, ok,
  seedAttachments, seedConflicts, seedDeletions, seedPlain,
} from './helpers/data.js';
import { Replication, replicate } from '../../src/replicator/replicator.js';

const NODE = 'test-node-uuid';
let a: PouchServer;
let b: PouchServer;

before(async () => {
  [a, b] = await Promise.all([startPouchServer(), startPouchServer()]);
});
after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

describe('pouchdb-server to pouchdb-server', () => {
  test('10k documents with conflicts, deletions and attachments arrive with identical rev trees, and back', async () => {
    const src = db(await a.createDb('big'));
    await seedPlain(src, 10_000);
    await seedConflicts(src, 50);
    await seedDeletions(src, 50);
    await seedAttachments(src, 20);
    const tgtUrl = `${b.base}/big-copy`;
    const res = await replicate({ source: src.url, target: tgtUrl, createTarget: true, nodeUuid: NODE });
    assert.equal(res.ok, true);
    assert.equal(res.stats.doc_write_failures, 0);
    // Every leaf is a revision to write: 10k + 3 per conflicted doc + 1 per deleted + 1 per attachment doc.
    assert.equal(res.stats.docs_written, 10_000 + 150 + 50 + 20);
    const tgt = db(tgtUrl);
    const special = [
      ...Array.from({ length: 50 }, (_, i) => `conflict-${i}`),
      ...Array.from({ length: 5 }, (_, i) => `deleted-${i}`),
      ...Array.from({ length: 20 }, (_, i) => `att-${i}`),
      'doc-000000', 'doc-009999',
    ];
    await assertSameDatabases(src, tgt, special);
    for (const i of [0, 7, 19]) {
      assert.deepEqual(await attachment(tgt, `att-${i}`, 'blob.bin'), attachmentBytes(i));
      assert.equal((await attachment(tgt, `att-${i}`, 'note.txt')).toString(), `note ${i}`);
    }
    const conflicted = (await ok(tgt, 'GET', '/conflict-3?conflicts=true')) as Record<string, unknown>;
    assert.equal(conflicted.side, 'main', 'same winner');
    assert.equal((conflicted._conflicts as string[]).length, 1);
    assert.equal((await call(tgt, 'GET', '/deleted-3')).status, 404);

    // Back: edits made on the copy flow to the original, conflicts included.
    await ok(tgt, 'PUT', '/doc-000001', { ...((await ok(tgt, 'GET', '/doc-000001')) as object), edited: true });
    await ok(tgt, 'POST', '/_bulk_docs', { new_edits: false, docs: [{ _id: 'doc-000002', _rev: '1-ffffffffffffffffffffffffffffffff', theirs: true }] });
    const back = await replicate({ source: tgtUrl, target: src.url, nodeUuid: NODE });
    assert.equal(back.stats.docs_written, 2);
    await assertSameDatabases(tgt, src, ['doc-000001', 'doc-000002', 'conflict-0']);
  });

  test('a second run starts from the checkpoint; new attachment revisions send only new bytes', async () => {
    const src = db(await a.createDb('incr'));
    const tgtUrl = `${b.base}/incr`;
    await seedPlain(src, 300);
    await seedAttachments(src, 3);
    const first = await replicate({ source: src.url, target: tgtUrl, createTarget: true, nodeUuid: NODE });
    assert.equal(first.stats.docs_written, 303);
    assert.equal(first.history?.length, 1);
    const again = await replicate({ source: src.url, target: tgtUrl, nodeUuid: NODE });
    assert.equal(again.no_changes, true);
    assert.equal(again.stats.changes_read, 0);
    // Edit one attachment doc (keeping its attachments as stubs) and two plain docs.
    const cur = (await ok(src, 'GET', '/att-1')) as Record<string, unknown>;
    await ok(src, 'PUT', '/att-1', { ...cur, touched: true });
    for (const id of ['doc-000010', 'doc-000011']) await ok(src, 'PUT', `/${id}`, { ...((await ok(src, 'GET', `/${id}`)) as object), v: 2 });
    const third = await replicate({ source: src.url, target: tgtUrl, nodeUuid: NODE });
    assert.equal(third.stats.changes_read, 3, 'only changes after the checkpoint are read');
    assert.equal(third.stats.docs_written, 3);
    assert.equal(third.history?.length, 2, 'one history entry per session');
    const tgt = db(tgtUrl);
    assert.deepEqual(await attachment(tgt, 'att-1', 'blob.bin'), attachmentBytes(1));
    await assertSameDatabases(src, tgt, ['att-1', 'doc-000010']);
    // Both peers hold the same checkpoint document.
    const id = third.replication_id;
    const [cs, ct] = await Promise.all([ok(src, 'GET', `/_local/${id}`), ok(tgt, 'GET', `/_local/${id}`)]);
    assert.equal((cs as Record<string, unknown>).session_id, third.session_id);
    assert.equal((ct as Record<string, unknown>).session_id, third.session_id);
    assert.equal((ct as Record<string, unknown>).source_last_seq, third.source_last_seq);
  });

  test('doc_ids, selector, since_seq and filter-function filters', async () => {
    const src = db(await a.createDb('filters'));
    await seedPlain(src, 40);
    const ids = ['doc-000003', 'doc-000017', 'doc-000033'];
    const byIds = await replicate({ source: src.url, target: `${b.base}/f-ids`, createTarget: true, docIds: ids, nodeUuid: NODE });
    assert.deepEqual([...(await leafMap(db(`${b.base}/f-ids`))).keys()].sort(), ids);
    assert.equal(byIds.stats.docs_written, 3);

    await replicate({ source: src.url, target: `${b.base}/f-sel`, createTarget: true, selector: { n: { $lt: 10 }, even: true }, nodeUuid: NODE });
    assert.deepEqual([...(await leafMap(db(`${b.base}/f-sel`))).keys()].sort(), ['doc-000000', 'doc-000002', 'doc-000004', 'doc-000006', 'doc-000008']);

    const since = await replicate({ source: src.url, target: `${b.base}/f-since`, createTarget: true, sinceSeq: 30, nodeUuid: NODE });
    assert.equal(since.stats.docs_written, 10);
    assert.equal((await leafMap(db(`${b.base}/f-since`))).has('doc-000035'), true);
    assert.equal((await leafMap(db(`${b.base}/f-since`))).has('doc-000005'), false);

    // A filter function of the source, with query_params passed through.
    await ok(src, 'PUT', '/_design/f', { filters: { pick: 'function (doc, req) { return doc.n >= Number(req.query.min); }' } });
    const fn = await replicate({ source: src.url, target: `${b.base}/f-fn`, createTarget: true, filter: 'f/pick', queryParams: { min: '36' }, nodeUuid: NODE });
    assert.deepEqual([...(await leafMap(db(`${b.base}/f-fn`))).keys()].sort(), ['doc-000036', 'doc-000037', 'doc-000038', 'doc-000039']);
    assert.equal(fn.stats.docs_written, 4);

  });

  test('documents the target refuses (403 forbidden) are skipped and counted, the rest arrives', async () => {
    const src = db(await a.createDb('denied'));
    const tgt = db(await b.createDb('denied'));
    await ok(tgt, 'PUT', '/_design/guard', { validate_doc_update: 'function (doc) { if (doc.secret) throw({ forbidden: "no secrets" }); }' });
    await ok(src, 'POST', '/_bulk_docs', { docs: [{ _id: 'p1' }, { _id: 's1', secret: true }, { _id: 'p2' }, { _id: 's2', secret: true }] });
    const denied: string[] = [];
    const res = await replicate({ source: src.url, target: tgt.url, nodeUuid: NODE, onDenied: (f) => denied.push(`${f.id}:${f.error}`) });
    assert.equal(res.stats.doc_write_failures, 2);
    assert.equal(res.stats.docs_written, 2);
    assert.deepEqual(denied.sort(), ['s1:forbidden', 's2:forbidden']);
    const leaves = await leafMap(tgt);
    assert.equal(leaves.has('p1') && leaves.has('p2'), true);
    assert.equal(leaves.has('s1'), false);
  });

  for (const liveFeed of ['continuous', 'longpoll'] as const) {
    test(`continuous (${liveFeed} feed): writes during the run arrive, stop() checkpoints`, async () => {
      const src = db(await a.createDb(`live-${liveFeed}`));
      const tgtUrl = `${b.base}/live-${liveFeed}`;
      await seedPlain(src, 200);
      const rep = new Replication({
        source: src.url, target: tgtUrl, createTarget: true, continuous: true, liveFeed,
        heartbeatMs: 500, checkpointIntervalMs: 200, batchSize: 50, nodeUuid: NODE,
      });
      const done = rep.start();
      await waitFor(async () => rep.stats.docs_written === 200);
      await seedPlain(src, 50, { start: 1000 });
      await ok(src, 'PUT', '/late', { late: true });
      await waitFor(async () => rep.stats.docs_written === 251);
      await rep.stop();
      const res = await done;
      assert.equal(rep.state, 'stopped');
      assert.equal(res.stats.docs_written, 251);
      assert.equal(res.source_last_seq, 251);
      await assertSameDatabases(src, db(tgtUrl), ['late']);
      assert.match(res.replication_id, /\+continuous\+create_target$/);
    });
  }
});

async function waitFor(cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
