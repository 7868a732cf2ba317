/**
 * Attachments up to the value limit (src/engine/limits.ts MAX_VALUE_BYTES, 20 MiB), over real
 * HTTP: every way a client can send attachment bytes (inline base64 in PUT, POST, `_bulk_docs`
 * with and without `new_edits:false`, a standalone body, multipart/related with
 * `new_edits=false`) at 4, 8 and ~19 MiB, each read back byte-identical (by digest) through the
 * standalone GET, `attachments=true` JSON, multipart/related and `open_revs` multipart/mixed.
 * Beyond the limit: CouchDB's 413s (`attachment_too_large`, `document_too_large`, `too_large`),
 * never a 500, and the server goes on serving. Then a PouchDB push replication of a 5 MiB
 * attachment (PouchDB sends it inline in `_bulk_docs` with `new_edits:false`).
 *
 * 4 MiB and more used to fail with 500 "Maximum call stack size exceeded" (a backtracking
 * base64 regex over the whole string).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { parseOpenRevsMixed, parseRelatedDocument } from '../../src/couch/multipart.js';
import { buildRelated } from '../../src/couch/multipart-build.js';
import { MAX_VALUE_BYTES } from '../../src/engine/limits.js';
import { ADMIN } from '../helpers/server.js';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';
import { PouchDB } from './pouch.js';

const MiB = 1024 * 1024;
const md5 = (b: Buffer): string => 'md5-' + createHash('md5').update(b).digest('base64');

/** Every way of writing `data` as attachment `att.bin` of a new document; returns the doc ids. */
async function writeEveryWay(f: CouchFixture, tag: string, data: Buffer): Promise<string[]> {
  const b64 = data.toString('base64');
  const inline = { 'att.bin': { content_type: 'application/x-test', data: b64 } };
  const ids: string[] = [];
  const expect201 = (what: string, r: { status: number; text: string }): void => {
    assert.equal(r.status, 201, `${what}: ${r.text.slice(0, 300)}`);
  };

  expect201('PUT', await f.req(`/db/put-${tag}`, { method: 'PUT', json: { kind: 'put', _attachments: inline } }));
  ids.push(`put-${tag}`);

  expect201('POST', await f.req('/db', { method: 'POST', json: { _id: `post-${tag}`, kind: 'post', _attachments: inline } }));
  ids.push(`post-${tag}`);

  const bulk = await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: [{ _id: `bulk-${tag}`, _attachments: inline }] } });
  expect201('_bulk_docs', bulk);
  assert.equal(obj(arr(bulk.json)[0]).ok, true, bulk.text);
  ids.push(`bulk-${tag}`);

  const hash = createHash('md5').update(tag).digest('hex');
  const replicated = await f.req('/db/_bulk_docs', {
    method: 'POST',
    json: { new_edits: false, docs: [{ _id: `ne-${tag}`, _rev: `1-${hash}`, _revisions: { start: 1, ids: [hash] }, _attachments: { 'att.bin': { ...inline['att.bin'], revpos: 1 } } }] },
  });
  expect201('_bulk_docs new_edits:false', replicated);
  assert.deepEqual(replicated.json, [], replicated.text);
  ids.push(`ne-${tag}`);

  expect201('standalone PUT', await f.req(`/db/raw-${tag}/att.bin`, { method: 'PUT', body: data, headers: { 'content-type': 'application/x-test' } }));
  ids.push(`raw-${tag}`);

  const json = {
    _id: `mp-${tag}`,
    _rev: `1-${hash}`,
    _revisions: { start: 1, ids: [hash] },
    _attachments: { 'att.bin': { content_type: 'application/x-test', follows: true, length: data.length, digest: md5(data), revpos: 1 } },
  };
  const mp = buildRelated(JSON.stringify(json), [{ name: 'att.bin', contentType: 'application/x-test', data }]);
  expect201('multipart PUT', await f.req(`/db/mp-${tag}?new_edits=false`, { method: 'PUT', body: Buffer.concat(mp.chunks), headers: { 'content-type': mp.contentType } }));
  ids.push(`mp-${tag}`);
  return ids;
}

/** Reads `att.bin` of `id` back every way and compares digests with `data`'s. */
async function readEveryWay(f: CouchFixture, id: string, data: Buffer): Promise<void> {
  const want = md5(data);
  const raw = await f.req(`/db/${id}/att.bin`);
  assert.equal(raw.status, 200, `${id}: ${raw.text.slice(0, 200)}`);
  assert.equal(raw.body.length, data.length, id);
  assert.equal(md5(raw.body), want, `${id}: standalone GET`);
  assert.equal(raw.headers['content-md5'], want.slice(4));

  const stub = obj(obj(obj((await f.req(`/db/${id}`)).json)._attachments)['att.bin']);
  assert.equal(stub.digest, want, `${id}: stub digest`);
  assert.equal(stub.length, data.length);

  const full = await f.req(`/db/${id}?attachments=true`);
  assert.equal(full.status, 200);
  const inline = obj(obj(obj(full.json)._attachments)['att.bin']);
  assert.equal(md5(Buffer.from(String(inline.data), 'base64')), want, `${id}: attachments=true`);

  const related = await f.req(`/db/${id}?attachments=true`, { headers: { accept: 'multipart/related' } });
  assert.equal(related.status, 200);
  const rel = parseRelatedDocument(related.body, String(related.headers['content-type']));
  assert.equal(md5(rel.followsData.get('att.bin') ?? Buffer.alloc(0)), want, `${id}: multipart/related`);

  const mixed = await f.req(`/db/${id}?open_revs=all&revs=true&attachments=true`, { headers: { accept: 'multipart/mixed' } });
  assert.equal(mixed.status, 200);
  const parts = parseOpenRevsMixed(mixed.body, String(mixed.headers['content-type']));
  assert.equal(parts.length, 1);
  const part = parts[0]!;
  assert.ok('ok' in part);
  assert.equal(md5(part.followsData.get('att.bin') ?? Buffer.alloc(0)), want, `${id}: open_revs multipart/mixed`);
}

describe('attachments up to the value limit', () => {
  for (const size of [4 * MiB, 8 * MiB, 19 * MiB + 12345]) {
    test(`${(size / MiB).toFixed(1)} MiB through every write and read path`, () =>
      withCouch(async (f) => {
        await createDb(f);
        const data = randomBytes(size);
        const ids = await writeEveryWay(f, String(size), data);
        assert.equal(ids.length, 6);
        for (const id of ids) await readEveryWay(f, id, data);
      }));
  }

  test('beyond the limit: CouchDB 413 bodies, never a 500, and the server keeps serving', () =>
    withCouch(async (f) => {
      await createDb(f);
      const over = randomBytes(MAX_VALUE_BYTES + 1);
      const tooLarge = (name: string) => ({ error: 'attachment_too_large', reason: name });

      const put = await f.req('/db/big', { method: 'PUT', json: { _attachments: { 'huge.bin': { data: over.toString('base64') } } } });
      assert.equal(put.status, 413, put.text);
      assert.deepEqual(put.json, tooLarge('huge.bin'));

      const raw = await f.req('/db/big/huge.bin', { method: 'PUT', body: over });
      assert.equal(raw.status, 413, raw.text);
      assert.deepEqual(raw.json, tooLarge('huge.bin'));

      const hash = 'e'.repeat(32);
      const mp = buildRelated(
        JSON.stringify({ _id: 'big', _rev: `1-${hash}`, _revisions: { start: 1, ids: [hash] }, _attachments: { 'huge.bin': { follows: true, length: over.length, revpos: 1 } } }),
        [{ name: 'huge.bin', contentType: 'application/octet-stream', data: over }],
      );
      const multi = await f.req('/db/big?new_edits=false', { method: 'PUT', body: Buffer.concat(mp.chunks), headers: { 'content-type': mp.contentType } });
      assert.equal(multi.status, 413, multi.text);
      assert.deepEqual(multi.json, tooLarge('huge.bin'));

      // `_bulk_docs` reports it on the document's row (Freshet answers per document).
      const bulk = await f.req('/db/_bulk_docs', { method: 'POST', json: { new_edits: false, docs: [{ _id: 'big', _rev: `1-${hash}`, _attachments: { 'huge.bin': { data: over.toString('base64') } } }] } });
      assert.equal(bulk.status, 201, bulk.text);
      assert.deepEqual(bulk.json, [{ id: 'big', rev: `1-${hash}`, ...tooLarge('huge.bin') }]);

      // Each attachment fits, but the revision (body + attachments) does not.
      const half = randomBytes(MAX_VALUE_BYTES / 2).toString('base64');
      const both = await f.req('/db/pair', { method: 'PUT', json: { _attachments: { a: { data: half }, b: { data: half } } } });
      assert.equal(both.status, 413, both.text);
      assert.deepEqual(both.json, { error: 'document_too_large', reason: 'pair' });
      // ...also when the second one is added to an existing revision (the first is a stub).
      const one = await f.req('/db/pair', { method: 'PUT', json: { _attachments: { a: { data: half } } } });
      assert.equal(one.status, 201, one.text);
      const second = await f.req(`/db/pair/b?rev=${String(obj(one.json).rev)}`, { method: 'PUT', body: Buffer.from(half, 'base64') });
      assert.equal(second.status, 413, second.text);
      assert.deepEqual(second.json, { error: 'document_too_large', reason: 'pair' });

      // A body beyond the request limit (maxBodyBytes, 64 MiB) is refused before it is read.
      const request = await f.req('/db/huge/att', { method: 'PUT', body: Buffer.alloc(65 * MiB) });
      assert.equal(request.status, 413, request.text);
      assert.deepEqual(obj(request.json).error, 'too_large');

      // Nothing was written, and the server still serves reads and writes.
      assert.equal((await f.req('/db/big')).status, 404);
      assert.equal(arr(obj((await f.req('/db/_all_docs')).json).rows).length, 1);
      const after = await f.req('/db/after', { method: 'PUT', json: { _attachments: { 'x.txt': { data: Buffer.from('ok').toString('base64') } } } });
      assert.equal(after.status, 201, after.text);
      assert.equal((await f.req('/db/after/x.txt')).text, 'ok');
    }));

  test('PouchDB push replication of a 5 MiB attachment, and pull back', () =>
    withCouch(async (f) => {
      await createDb(f);
      const data = randomBytes(5 * MiB);
      const src = new PouchDB(`large-att-${process.pid}-src`, { adapter: 'memory' });
      const dst = new PouchDB(`large-att-${process.pid}-dst`, { adapter: 'memory' });
      const remote = new PouchDB(`${f.base}/db`, { auth: { username: ADMIN.username, password: ADMIN.password }, skip_setup: true });
      try {
        await src.put({ _id: 'photo', title: 'five MiB', _attachments: { 'img.bin': { content_type: 'image/x-test', data } } });
        const push = await src.replicate.to(remote);
        assert.equal(push.ok, true);
        assert.equal(push.docs_written, 1);
        assert.equal(push.doc_write_failures, 0);
        const raw = await f.req('/db/photo/img.bin');
        assert.equal(raw.status, 200);
        assert.equal(md5(raw.body), md5(data));
        assert.equal(raw.headers['content-type'], 'image/x-test');

        const pull = await dst.replicate.from(remote);
        assert.equal(pull.ok, true);
        assert.equal(pull.doc_write_failures, 0);
        const back = await dst.get('photo', { attachments: true, binary: true });
        assert.equal(md5(Buffer.from(back._attachments!['img.bin']!.data)), md5(data));
      } finally {
        await src.destroy();
        await dst.destroy();
      }
    }));
});
