/**
 * The replicator against Freshet's own CouchDB face: Freshet to pouchdb-server and back (10k
 * documents, conflicts, deletions, attachments, identical rev trees), and Freshet to Freshet in
 * continuous mode with writes during the run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { startPouchServer, type PouchServer } from './helpers/pouchdb-server.js';
import {
  assertSameDatabases, attachment, attachmentBytes, db, ok, sameLeaves, seedAttachments, seedConflicts, seedDeletions, seedPlain,
} from './helpers/data.js';
import { Replication, replicate } from '../../src/replicator/replicator.js';

const NODE = 'freshet-test-node';
let fa: TestServer;
let fb: TestServer;
let p: PouchServer;

const base = (s: TestServer): string => `http://Administrator:password@127.0.0.1:${s.server.ports.http}`;
const special = [
  ...Array.from({ length: 30 }, (_, i) => `conflict-${i}`),
  ...Array.from({ length: 5 }, (_, i) => `deleted-${i}`),
  ...Array.from({ length: 10 }, (_, i) => `att-${i}`),
  'doc-000000', 'doc-009999',
];

before(async () => {
  [fa, fb, p] = await Promise.all([startTestServer(), startTestServer(), startPouchServer()]);
});
after(async () => {
  await Promise.all([fa?.close(), fb?.close(), p?.stop()]);
});

describe('Freshet as a replication peer', () => {
  test('Freshet to pouchdb-server and back: 10k documents, conflicts, deletions, attachments', async () => {
    const fUrl = `${base(fa)}/origin`;
    await ok(db(fUrl), 'PUT', '');
    const f = db(fUrl);
    await seedPlain(f, 10_000);
    await seedConflicts(f, 30);
    await seedDeletions(f, 30);
    await seedAttachments(f, 10);
    const pUrl = `${p.base}/from-freshet`;
    const out = await replicate({ source: fUrl, target: pUrl, createTarget: true, nodeUuid: NODE });
    assert.equal(out.stats.doc_write_failures, 0);
    assert.equal(out.stats.docs_written, 10_000 + 90 + 30 + 10);
    await assertSameDatabases(f, db(pUrl), special);
    assert.deepEqual(await attachment(db(pUrl), 'att-4', 'blob.bin'), attachmentBytes(4));

    // Back into a fresh Freshet database: the same trees again.
    const backUrl = `${base(fa)}/round-trip`;
    const back = await replicate({ source: pUrl, target: backUrl, createTarget: true, nodeUuid: NODE });
    assert.equal(back.stats.docs_written, out.stats.docs_written);
    await assertSameDatabases(f, db(backUrl), special);
    assert.deepEqual(await attachment(db(backUrl), 'att-9', 'blob.bin'), attachmentBytes(9));
    assert.equal((await attachment(db(backUrl), 'att-9', 'note.txt')).toString(), 'note 9');
  });

  test('Freshet to Freshet, continuous, with writes during the run', async () => {
    const srcUrl = `${base(fa)}/live`;
    const tgtUrl = `${base(fb)}/live-copy`;
    const src = db(srcUrl);
    await ok(src, 'PUT', '');
    await seedPlain(src, 2000);
    const rep = new Replication({
      source: srcUrl, target: tgtUrl, createTarget: true, continuous: true,
      heartbeatMs: 500, checkpointIntervalMs: 200, nodeUuid: NODE,
    });
    const done = rep.start();
    // Writes while the initial transfer runs, and after it caught up.
    await seedPlain(src, 500, { start: 5000 });
    await waitFor(async () => rep.stats.docs_written >= 2500);
    await seedConflicts(src, 5);
    await seedAttachments(src, 3);
    await waitFor(() => sameLeaves(db(tgtUrl), src));
    await rep.stop();
    const res = await done;
    assert.equal(rep.state, 'stopped');
    assert.equal(res.stats.doc_write_failures, 0);
    await assertSameDatabases(src, db(tgtUrl), ['conflict-0', 'conflict-4', 'att-2', 'doc-000000']);
    const log = (await ok(db(tgtUrl), 'GET', `/_local/${res.replication_id.split('+')[0]}`)) as Record<string, unknown>;
    assert.equal(log.session_id, res.session_id);
  });
});

async function waitFor(cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
