/**
 * A target's validate_doc_update that throws an object (`{forbidden: {…}}`): CouchDB keeps the
 * object as the error row's `reason` (chttpd error_info/1), and its replicator counts the document
 * in `doc_write_failures` and logs it (couch_replicator_worker handle_flush_docs_result/3,
 * flush_doc/2). A local (in-process) target reports the same failures, reason objects included, as
 * the HTTP target does: for `_bulk_docs` rows and for documents with attachments (multipart PUT).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import { call, db, ok, type Db } from './helpers/data.js';
import { localDatabase } from '../../src/replicator/local-peer.js';
import { replicate } from '../../src/replicator/replicator.js';
import type { WriteFailure } from '../../src/replicator/peer.js';

const NODE = 'vdu-write-failures';
const REASON = { code: 'no_secrets', fields: ['secret'], hint: { level: 2 } };
const VDU = `function (doc) { if (doc.secret) throw({ forbidden: ${JSON.stringify(REASON)} }); }`;

let fa: TestServer;
const base = (): string => `http://${ADMIN.username}:${ADMIN.password}@127.0.0.1:${fa.server.ports.http}`;
const http = (name: string): Db => db(`${base()}/${name}`);

before(async () => {
  fa = await startTestServer();
  const src = http('vsrc');
  await ok(src, 'PUT', '');
  await ok(src, 'PUT', '/fine', { n: 1 });
  await ok(src, 'PUT', '/bad-plain', { secret: true });
  await ok(src, 'PUT', '/bad-att', { secret: true, _attachments: { 'a.bin': { content_type: 'application/octet-stream', data: Buffer.from('bytes').toString('base64') } } });
});
after(async () => {
  await fa?.close();
});

async function guardedTarget(name: string): Promise<Db> {
  const t = http(name);
  await ok(t, 'PUT', '');
  await ok(t, 'PUT', '/_design/guard', { validate_doc_update: VDU });
  return t;
}

const byId = (fs: WriteFailure[]): WriteFailure[] => [...fs].sort((a, b) => a.id.localeCompare(b.id));

describe('validate_doc_update refusals through replication', () => {
  test('CouchDB keeps the thrown object as the `_bulk_docs` row reason', async () => {
    const t = await guardedTarget('vprobe');
    const res = await call(t, 'POST', '/_bulk_docs', { new_edits: false, docs: [{ _id: 'x', _rev: '1-abc', secret: true }] });
    assert.equal(res.status, 201);
    const [row] = res.json as Array<Record<string, unknown>>;
    assert.deepEqual(row, { id: 'x', rev: '1-abc', error: 'forbidden', reason: REASON });
  });

  test('a local target reports the failures as the HTTP target does, reason objects kept', async () => {
    await guardedTarget('vtgt-http');
    await guardedTarget('vtgt-local');
    const overHttp: WriteFailure[] = [];
    const viaHttp = await replicate({ source: `${base()}/vsrc`, target: `${base()}/vtgt-http`, nodeUuid: NODE, onDenied: (f) => overHttp.push(f) });
    const local: WriteFailure[] = [];
    const viaLocal = await replicate({ source: localDatabase(fa.server, 'vsrc'), target: localDatabase(fa.server, 'vtgt-local'), nodeUuid: NODE, onDenied: (f) => local.push(f) });

    const expected = [];
    for (const id of ['bad-att', 'bad-plain']) {
      const { _rev } = (await ok(http('vsrc'), 'GET', `/${id}`)) as { _rev: string };
      expected.push({ id, rev: _rev, error: 'forbidden', reason: REASON });
    }
    // Each target names each refused revision (the `_bulk_docs` row and the multipart PUT's answer).
    assert.deepEqual(byId(local), expected);
    assert.deepEqual(byId(overHttp), expected);
    for (const out of [viaHttp, viaLocal]) {
      assert.equal(out.stats.doc_write_failures, 2);
      // `fine` is written; the refused ones are not.
      assert.equal(out.stats.docs_written, 1);
    }
    assert.equal((await call(http('vtgt-local'), 'GET', '/bad-plain')).status, 404);
    assert.equal((await call(http('vtgt-local'), 'GET', '/fine')).status, 200);
  });
});
