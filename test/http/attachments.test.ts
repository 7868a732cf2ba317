import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gzip as pakoGzip } from 'pako';
import { parseOpenRevsMixed, parseRelatedDocument } from '../../src/couch/multipart.js';
import { buildRelated } from '../../src/couch/multipart-build.js';
import { arr, createDb, obj, withCouch } from './helpers.js';

const md5 = (s: string | Buffer): string => 'md5-' + createHash('md5').update(s).digest('base64');

describe('attachments', () => {
  test('inline base64 becomes a stub; attachments=true inlines data; standalone GET serves bytes', () =>
    withCouch(async (f) => {
      await createDb(f);
      const put = await f.req('/db/d', {
        method: 'PUT',
        json: { t: 1, _attachments: { 'note.txt': { content_type: 'text/plain', data: Buffer.from('hello').toString('base64') } } },
      });
      assert.equal(put.status, 201, put.text);
      const rev = String(obj(put.json).rev);
      const doc = obj((await f.req('/db/d')).json);
      // text/plain is compressible: stored gzip, its digest the gzip bytes' (attachments-compression.test.ts).
      assert.deepEqual(obj(doc._attachments)['note.txt'], {
        content_type: 'text/plain', revpos: 1, digest: md5(Buffer.from(pakoGzip('hello', { level: 8 }))), length: 5, stub: true,
      });
      const full = obj((await f.req('/db/d?attachments=true')).json);
      assert.equal(obj(obj(full._attachments)['note.txt']).data, Buffer.from('hello').toString('base64'));
      const raw = await f.req(`/db/d/note.txt?rev=${rev}`);
      assert.equal(raw.status, 200);
      assert.equal(raw.text, 'hello');
      assert.equal(raw.headers['content-type'], 'text/plain');
      assert.equal((await f.req('/db/d/missing.txt')).status, 404);
    }));

  test('Range requests: 206 with Content-Range for one range, multipart/byteranges for several, 416', () =>
    withCouch(async (f) => {
      await createDb(f);
      const put = await f.req('/db/r', { method: 'PUT', json: { _attachments: { 'd.txt': { content_type: 'application/x-digits', data: Buffer.from('0123456789').toString('base64') } } } });
      assert.equal(put.status, 201);
      const whole = await f.req('/db/r/d.txt');
      assert.equal(whole.status, 200);
      assert.equal(whole.headers['accept-ranges'], 'bytes');
      const one = await f.req('/db/r/d.txt', { headers: { range: 'bytes=2-4' } });
      assert.equal(one.status, 206);
      assert.equal(one.text, '234');
      assert.equal(one.headers['content-range'], 'bytes 2-4/10');
      const two = await f.req('/db/r/d.txt', { headers: { range: 'bytes=0-0,-2' } });
      assert.equal(two.status, 206);
      assert.match(String(two.headers['content-type']), /^multipart\/byteranges; boundary=/);
      assert.match(two.text, /Content-Range: bytes 8-9\/10\r\n\r\n89/);
      const bad = await f.req('/db/r/d.txt', { headers: { range: 'bytes=20-30' } });
      assert.equal(bad.status, 416);
      assert.equal((await f.req('/db/r/d.txt', { headers: { range: 'bytes=0-' } })).status, 200);
      // A `0-` anywhere among the ranges is the whole body (chttpd_db:parse_ranges/3, in order).
      for (const range of ['bytes=0-,0-,0-', 'bytes=2-3,0-', 'bytes=1-1, ,0-']) {
        const full = await f.req('/db/r/d.txt', { headers: { range } });
        assert.equal(full.status, 200, range);
        assert.equal(full.text, '0123456789', range);
        assert.equal(full.headers['content-range'], undefined, range);
      }
      // ... unless an unsatisfiable range comes first; blank ranges are dropped.
      assert.equal((await f.req('/db/r/d.txt', { headers: { range: 'bytes=5-3,0-' } })).status, 416);
      assert.equal((await f.req('/db/r/d.txt', { headers: { range: 'bytes=,2-4,' } })).text, '234');
      // Distinct ranges: multipart/byteranges framed as send_ranges_multipart/5 frames it.
      const multi = await f.req('/db/r/d.txt', { headers: { range: 'bytes=0-1,5-5' } });
      assert.equal(multi.status, 206);
      const boundary = /^multipart\/byteranges; boundary="(\w+)"$/.exec(String(multi.headers['content-type']))![1]!;
      assert.equal(
        multi.text,
        `--${boundary}\r\nContent-Type: application/x-digits\r\nContent-Range: bytes 0-1/10\r\n\r\n01\r\n--${boundary}` +
          `\r\nContent-Type: application/x-digits\r\nContent-Range: bytes 5-5/10\r\n\r\n5\r\n--${boundary}--`,
      );
    }));

  test('standalone PUT and DELETE make new revisions; stubs keep data and revpos; atts_since', () =>
    withCouch(async (f) => {
      await createDb(f);
      const r1 = String(obj((await f.req('/db/d', { method: 'PUT', json: { v: 1 } })).json).rev);
      const a = await f.req(`/db/d/dir/img.png?rev=${r1}`, { method: 'PUT', body: Buffer.from([1, 2, 3]), headers: { 'content-type': 'image/png' } });
      assert.equal(a.status, 201, a.text);
      const r2 = String(obj(a.json).rev);
      assert.match(r2, /^2-/);
      const bytes = await f.req('/db/d/dir/img.png');
      assert.deepEqual([...bytes.body], [1, 2, 3]);
      assert.equal(bytes.headers['content-type'], 'image/png');
      // An update that sends the attachment as a stub keeps it, at its original revpos.
      const doc = obj((await f.req('/db/d')).json);
      assert.equal(doc.v, 1);
      const r3 = String(obj((await f.req('/db/d', { method: 'PUT', json: { ...doc, v: 2 } })).json).rev);
      const att = obj(obj(obj((await f.req('/db/d')).json)._attachments)['dir/img.png']);
      assert.equal(att.revpos, 2);
      assert.equal(att.stub, true);
      // atts_since: data only for attachments newer than the revisions the client has.
      const since2 = obj((await f.req(`/db/d?atts_since=${encodeURIComponent(JSON.stringify([r2]))}`)).json);
      assert.equal(obj(obj(since2._attachments)['dir/img.png']).stub, true);
      const since1 = obj((await f.req(`/db/d?atts_since=${encodeURIComponent(JSON.stringify([r1]))}`)).json);
      assert.equal(obj(obj(since1._attachments)['dir/img.png']).data, Buffer.from([1, 2, 3]).toString('base64'));
      assert.equal((await f.req(`/db/d/dir/img.png?rev=${r1}`, { method: 'DELETE' })).status, 409);
      const del = await f.req(`/db/d/dir/img.png?rev=${r3}`, { method: 'DELETE' });
      assert.equal(del.status, 200);
      assert.equal(obj((await f.req('/db/d')).json)._attachments, undefined);
      assert.equal((await f.req('/db/d/dir/img.png')).status, 404);
      // A stub the parent does not have is 412.
      const bad = await f.req('/db/d', { method: 'PUT', json: { _rev: String(obj(del.json).rev), _attachments: { x: { stub: true } } } });
      assert.equal(bad.status, 412);
    }));

  test('multipart/related PUT with new_edits=false, then open_revs as multipart/mixed', () =>
    withCouch(async (f) => {
      await createDb(f);
      const hash = 'a'.repeat(32);
      const data = Buffer.from('attachment bytes');
      const json = {
        _id: 'm',
        _rev: `1-${hash}`,
        _revisions: { start: 1, ids: [hash] },
        title: 'multi',
        _attachments: { 'a.bin': { content_type: 'application/octet-stream', follows: true, length: data.length, digest: md5(data), revpos: 1 } },
      };
      const body = buildRelated(JSON.stringify(json), [{ name: 'a.bin', contentType: 'application/octet-stream', data }]);
      const put = await f.req('/db/m?new_edits=false', { method: 'PUT', body: Buffer.concat(body.chunks), headers: { 'content-type': body.contentType } });
      assert.equal(put.status, 201, put.text);
      assert.equal(obj(put.json).rev, `1-${hash}`);
      assert.deepEqual((await f.req('/db/m/a.bin')).body, data);
      const mixed = await f.req(`/db/m?open_revs=${encodeURIComponent(JSON.stringify([`1-${hash}`, '2-' + 'b'.repeat(32)]))}&revs=true&attachments=true`, {
        headers: { accept: 'multipart/mixed' },
      });
      assert.equal(mixed.status, 200);
      const parts = parseOpenRevsMixed(mixed.body, String(mixed.headers['content-type']));
      assert.equal(parts.length, 2);
      const first = parts[0]!;
      assert.ok('ok' in first);
      assert.equal(first.ok.title, 'multi');
      assert.deepEqual(first.followsData.get('a.bin'), data);
      assert.deepEqual(parts[1], { missing: '2-' + 'b'.repeat(32) });
      const related = await f.req('/db/m?attachments=true', { headers: { accept: 'multipart/related' } });
      const parsed = parseRelatedDocument(related.body, String(related.headers['content-type']));
      assert.deepEqual(parsed.followsData.get('a.bin'), data);
      // A digest that does not match the bytes is refused.
      const wrong = buildRelated(JSON.stringify({ ...json, _rev: `1-${'c'.repeat(32)}`, _revisions: { start: 1, ids: ['c'.repeat(32)] }, _attachments: { 'a.bin': { ...json._attachments['a.bin'], digest: md5('other') } } }), [{ name: 'a.bin', contentType: 'application/octet-stream', data }]);
      const refused = await f.req('/db/m2?new_edits=false', { method: 'PUT', body: Buffer.concat(wrong.chunks), headers: { 'content-type': wrong.contentType } });
      assert.equal(refused.status, 500);
      assert.equal(obj(refused.json).reason, 'md5_mismatch');
      const garbage = await f.req('/db/m3', { method: 'PUT', body: 'not multipart', headers: { 'content-type': 'multipart/related; boundary=zz' } });
      assert.equal(garbage.status, 400);
    }));

  test('_bulk_get and _changes carry attachment stubs or data as asked', () =>
    withCouch(async (f) => {
      await createDb(f);
      await f.req('/db/d', { method: 'PUT', json: { _attachments: { 'x.txt': { content_type: 'text/plain', data: Buffer.from('xyz').toString('base64') } } } });
      const bg = obj((await f.req('/db/_bulk_get?attachments=true', { method: 'POST', json: { docs: [{ id: 'd' }] } })).json);
      const doc = obj(obj(arr(obj(arr(bg.results)[0]).docs)[0]).ok);
      assert.equal(obj(obj(doc._attachments)['x.txt']).data, Buffer.from('xyz').toString('base64'));
      const ch = obj((await f.req('/db/_changes?include_docs=true&attachments=true')).json);
      const row = obj(arr(ch.results)[0]);
      assert.equal(obj(obj(obj(row.doc)._attachments)['x.txt']).data, Buffer.from('xyz').toString('base64'));
      const stub = obj((await f.req('/db/_changes?include_docs=true')).json);
      assert.equal(obj(obj(obj(obj(arr(stub.results)[0]).doc)._attachments)['x.txt']).stub, true);
    }));
});

describe('form uploads (POST /db/docid, multipart/form-data)', () => {
  test('the _attachments files become attachments of the _rev named; other content types are 415', () =>
    withCouch(async (f) => {
      await createDb(f);
      const rev = String(obj((await f.req('/db/formdoc', { method: 'PUT', json: { v: 1, _attachments: { 'keep.txt': { content_type: 'text/plain', data: Buffer.from('kept').toString('base64') } } } })).json).rev);
      const boundary = 'XyZ';
      const body = [
        `--${boundary}\r\nContent-Disposition: form-data; name="_rev"\r\n\r\n${rev}\r\n`,
        `--${boundary}\r\nContent-Disposition: form-data; name="_attachments"; filename="hello.txt"\r\nContent-Type: text/plain\r\n\r\nhello form\r\n`,
        `--${boundary}--\r\n`,
      ].join('');
      const r = await f.req('/db/formdoc', { method: 'POST', body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
      assert.equal(r.status, 201, r.text);
      assert.match(String(obj(r.json).rev), /^2-/);
      assert.equal((await f.req('/db/formdoc/hello.txt')).text, 'hello form');
      assert.equal((await f.req('/db/formdoc/keep.txt')).text, 'kept');
      assert.equal(obj((await f.req('/db/formdoc')).json).v, 1);
      const wrong = await f.req('/db/formdoc', { method: 'POST', body: '{}', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.deepEqual([wrong.status, wrong.json], [415, { error: 'bad_content_type', reason: 'Content-Type must be multipart/form-data' }]);
      const stale = await f.req('/db/formdoc', { method: 'POST', body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
      assert.equal(stale.status, 409, 'the old rev is no longer a leaf');
    }));
});
