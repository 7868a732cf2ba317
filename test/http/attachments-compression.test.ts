/**
 * Attachment compression as CouchDB 3.x does it (couch_db with_stream/3, chttpd_db
 * db_attachment_req, couch_doc doc_to_multi_part_stream; src/couch/att-encoding.ts): every write
 * path stores compressible identity content gzip-compressed, gzip content as it came; reads send
 * identity or the stored gzip as CouchDB does. The CouchDB Elixir suites this follows:
 * attachments_multipart "compressed attachments", changes COUCHDB-1923, attachment_views,
 * replication COUCHDB-885.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { gzip as pakoGzip } from 'pako';
import { parseMultipart, parseOpenRevsMixed, parseRelatedDocument } from '../../src/couch/multipart.js';
import { buildRelated } from '../../src/couch/multipart-build.js';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';

const md5 = (b: string | Buffer): string => 'md5-' + createHash('md5').update(b).digest('base64');
// zlib's own deflate (pako 2.1.0, as src/couch/att-encoding.ts): the bytes CouchDB stores.
const gz = (b: string | Buffer, level: 8 | 9 = 8): Buffer => Buffer.from(pakoGzip(b, { level }));
const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');
const TEXT = 'This is a base64 encoded text';
const LOREM = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(40);

async function setConfig(f: CouchFixture, key: string, value: string): Promise<void> {
  const r = await f.req(`/_node/_local/_config/attachments/${key}`, { method: 'PUT', json: value });
  assert.equal(r.status, 200, r.text);
}

async function put(f: CouchFixture, path: string, json: unknown): Promise<string> {
  const r = await f.req(path, { method: 'PUT', json });
  assert.equal(r.status, 201, r.text);
  return String(obj(r.json).rev);
}

function att(doc: unknown, name: string): Record<string, unknown> {
  return obj(obj(obj(doc)._attachments)[name]);
}

describe('attachment compression', () => {
  test('inline writes: compressible types stored gzip (digest, length, encoded_length), others identity; reads decode', () =>
    withCouch(async (f) => {
      await createDb(f);
      await put(f, '/db/d', { _attachments: { 'foo.txt': { content_type: 'text/plain', data: b64(TEXT) }, 'bin.dat': { content_type: 'application/octet-stream', data: b64(TEXT) } } });
      const stub = att((await f.req('/db/d')).json, 'foo.txt');
      // Stubs show no encoding unless asked (COUCHDB-1923, attachment_views).
      assert.deepEqual(stub, { content_type: 'text/plain', revpos: 1, digest: md5(gz(TEXT)), length: 29, stub: true });
      // The values CouchDB's own tests (COUCHDB-1923, attachment_views) and PouchDB's expect.
      assert.equal(stub.digest, 'md5-qUUYqS41RhwF0TrCsTAxFg==');
      assert.equal(gz(TEXT).length, 47);
      const info = att((await f.req('/db/d?att_encoding_info=true')).json, 'foo.txt');
      assert.deepEqual(info, { content_type: 'text/plain', revpos: 1, digest: md5(gz(TEXT)), length: 29, stub: true, encoding: 'gzip', encoded_length: gz(TEXT).length });
      assert.deepEqual(att((await f.req('/db/d?att_encoding_info=true')).json, 'bin.dat'), { content_type: 'application/octet-stream', revpos: 1, digest: md5(TEXT), length: 29, stub: true });
      // Inline data is identity, with the encoding shown only on request (COUCHDB-885's read).
      const inline = att((await f.req('/db/d?attachments=true')).json, 'foo.txt');
      assert.equal(inline.data, b64(TEXT));
      assert.equal(inline.encoding, undefined);
      const both = att((await f.req('/db/d?attachments=true&att_encoding_info=true')).json, 'foo.txt');
      assert.equal(both.data, b64(TEXT));
      assert.equal(both.encoding, 'gzip');
      // _bulk_docs, _changes (include_docs, attachments, att_encoding_info), _all_docs, views.
      const bulk = await f.req('/db/_bulk_docs', { method: 'POST', json: { docs: [20, 21].map((i) => ({ _id: String(i), _attachments: { 'foo.txt': { content_type: 'text/plain', data: b64(TEXT) } } })) } });
      assert.equal(bulk.status, 201);
      const rows = async (path: string): Promise<Record<string, unknown>> => {
        const body = obj((await f.req(path)).json);
        const list = arr(body.results ?? body.rows);
        const row = obj(list.find((r) => obj(r).id === '20'));
        return att(row.doc, 'foo.txt');
      };
      assert.deepEqual(Object.keys(await rows('/db/_changes?include_docs=true')).sort(), ['content_type', 'digest', 'length', 'revpos', 'stub']);
      assert.equal((await rows('/db/_changes?include_docs=true&attachments=true')).data, b64(TEXT));
      assert.equal((await rows('/db/_changes?include_docs=true&attachments=true')).encoding, undefined);
      const withInfo = await rows('/db/_changes?include_docs=true&att_encoding_info=true');
      assert.equal(withInfo.encoding, 'gzip');
      assert.equal(withInfo.encoded_length, gz(TEXT).length);
      assert.equal((await rows('/db/_all_docs?include_docs=true&att_encoding_info=true')).encoding, 'gzip');
      assert.equal((await rows('/db/_all_docs?include_docs=true&attachments=true')).data, b64(TEXT));
      await put(f, '/db/_design/v', { views: { v: { map: 'function (doc) { if (doc._attachments) emit(doc._id, null); }' } } });
      assert.equal((await rows('/db/_design/v/_view/v?include_docs=true&att_encoding_info=true')).encoded_length, gz(TEXT).length);
      assert.equal((await rows('/db/_design/v/_view/v?include_docs=true&attachments=true')).data, b64(TEXT));
    }));

  test('standalone GET: gzip only to a client that accepts it; ranges, HEAD, ETag, Accept-Encoding errors', () =>
    withCouch(async (f) => {
      await createDb(f);
      const r1 = await put(f, '/db/d', { v: 1 });
      const p = await f.req(`/db/d/lorem.txt?rev=${r1}`, { method: 'PUT', body: LOREM, headers: { 'content-type': 'text/plain;charset=utf-8' } });
      assert.equal(p.status, 201);
      const stored = gz(LOREM);
      const plain = await f.req('/db/d/lorem.txt');
      assert.equal(plain.text, LOREM);
      assert.equal(plain.headers['content-length'], String(LOREM.length));
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.equal(plain.headers['content-md5'], undefined);
      assert.equal(plain.headers['accept-ranges'], 'none');
      assert.equal(plain.headers.etag, `"${md5(stored).slice(4)}"`);
      const zipped = await f.req('/db/d/lorem.txt', { headers: { 'accept-encoding': 'gzip, deflate' } });
      assert.equal(zipped.headers['content-encoding'], 'gzip');
      assert.deepEqual(zipped.body, stored);
      assert.equal(zipped.headers['content-length'], String(stored.length));
      assert.equal(zipped.headers['content-md5'], md5(stored).slice(4));
      // A Range of an encoded attachment is not served: the whole body.
      const ranged = await f.req('/db/d/lorem.txt', { headers: { range: 'bytes=0-4' } });
      assert.equal(ranged.status, 200);
      assert.equal(ranged.text, LOREM);
      const head = await f.req('/db/d/lorem.txt', { method: 'HEAD', headers: { 'accept-encoding': 'gzip' } });
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], String(stored.length));
      assert.equal(head.body.length, 0);
      assert.equal((await f.req('/db/d/lorem.txt', { headers: { 'if-none-match': String(plain.headers.etag) } })).status, 304);
      // mochiweb's picking: gzip refused or out of the list is identity; refusing both is 406.
      assert.equal((await f.req('/db/d/lorem.txt', { headers: { 'accept-encoding': 'gzip;q=0' } })).headers['content-encoding'], undefined);
      assert.equal((await f.req('/db/d/lorem.txt', { headers: { 'accept-encoding': '*' } })).headers['content-encoding'], 'gzip');
      assert.equal((await f.req('/db/d/lorem.txt', { headers: { 'accept-encoding': 'br' } })).headers['content-encoding'], undefined);
      const refused = await f.req('/db/d/lorem.txt', { headers: { 'accept-encoding': 'identity;q=0' } });
      assert.equal(refused.status, 406);
      assert.deepEqual(refused.json, { error: 'not_acceptable', reason: 'unsupported encoding' });
      assert.equal((await f.req('/db/d/lorem.txt', { headers: { 'accept-encoding': 'gzip;q=2' } })).status, 400);
      // Large content is compressed and decoded on zlib's thread pool: the same bytes.
      const big = randomBytes(100_000).toString('hex');
      const bigPut = await f.req(`/db/big/b.txt`, { method: 'PUT', body: big, headers: { 'content-type': 'text/plain' } });
      assert.equal(bigPut.status, 201);
      const bigGet = await f.req('/db/big/b.txt');
      assert.equal(bigGet.text, big);
      assert.equal(bigGet.headers['content-length'], String(big.length));
      assert.equal(att((await f.req('/db/big?att_encoding_info=true')).json, 'b.txt').digest, md5(gz(big)));
      // Identity attachments answer ranges as before, whatever Accept-Encoding says.
      const bin = await f.req(`/db/d/b.bin?rev=${String(obj(p.json).rev)}`, { method: 'PUT', body: '0123456789', headers: { 'content-type': 'application/octet-stream' } });
      assert.equal(bin.status, 201);
      const range = await f.req('/db/d/b.bin', { headers: { range: 'bytes=2-4', 'accept-encoding': 'gzip' } });
      assert.equal(range.status, 206);
      assert.equal(range.text, '234');
      assert.equal(range.headers['content-encoding'], undefined);
    }));

  test('standalone PUT: Content-Encoding gzip kept as sent (length = encoded length, chunked identity reads), Content-MD5 checked, others 415', () =>
    withCouch(async (f) => {
      await createDb(f);
      const body = gz(LOREM);
      const p = await f.req('/db/z/l.txt', { method: 'PUT', body, headers: { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-md5': md5(body).slice(4) } });
      assert.equal(p.status, 201, p.text);
      const info = att((await f.req('/db/z?att_encoding_info=true')).json, 'l.txt');
      assert.deepEqual(info, { content_type: 'text/plain', revpos: 1, digest: md5(body), length: body.length, stub: true, encoding: 'gzip', encoded_length: body.length });
      const plain = await f.req('/db/z/l.txt');
      assert.equal(plain.text, LOREM);
      assert.equal(plain.headers['content-length'], undefined);
      assert.equal(plain.headers['transfer-encoding'], 'chunked');
      assert.deepEqual((await f.req('/db/z/l.txt', { headers: { 'accept-encoding': 'gzip' } })).body, body);
      const mismatch = await f.req('/db/y/l.txt', { method: 'PUT', body: 'abc', headers: { 'content-type': 'application/octet-stream', 'content-md5': md5('abd').slice(4) } });
      assert.equal(mismatch.status, 500);
      assert.equal(obj(mismatch.json).reason, 'md5_mismatch');
      assert.equal((await f.req('/db/y')).status, 404);
      const md5ok = await f.req('/db/y/l.bin', { method: 'PUT', body: 'abc', headers: { 'content-type': 'application/octet-stream', 'content-md5': md5('abc').slice(4) } });
      assert.equal(md5ok.status, 201);
      assert.equal((await f.req('/db/y/l.bin')).headers['content-md5'], md5('abc').slice(4));
      const br = await f.req('/db/x/l.txt', { method: 'PUT', body: 'abc', headers: { 'content-encoding': 'br' } });
      assert.equal(br.status, 415);
      assert.deepEqual(br.json, { error: 'bad_content_type', reason: 'Only gzip and identity content-encodings are supported' });
    }));

  test('multipart: gzip parts stored as they came; multipart reads (doc, open_revs, _bulk_get) send stored bytes with their encoding', () =>
    withCouch(async (f) => {
      await createDb(f);
      const hash = 'a'.repeat(32);
      const stored = gz(LOREM);
      const json = {
        _id: 'm', _rev: `1-${hash}`, _revisions: { start: 1, ids: [hash] },
        _attachments: {
          'lorem.txt': { content_type: 'text/plain', follows: true, length: LOREM.length, encoding: 'gzip', encoded_length: stored.length, digest: md5(stored), revpos: 1 },
          'data.bin': { content_type: 'application/binary', follows: true, length: 11, revpos: 1 },
        },
      };
      const mp = buildRelated(JSON.stringify(json), [
        { name: 'lorem.txt', contentType: 'text/plain', data: stored, encoding: 'gzip' },
        { name: 'data.bin', contentType: 'application/binary', data: Buffer.from('hello world') },
      ]);
      // Compression off: a part that arrives gzip-encoded is kept so all the same.
      await setConfig(f, 'compression_level', '0');
      const w = await f.req('/db/m?new_edits=false', { method: 'PUT', body: Buffer.concat(mp.chunks), headers: { 'content-type': mp.contentType } });
      assert.equal(w.status, 201, w.text);
      await setConfig(f, 'compression_level', '8');
      assert.equal(att((await f.req('/db/m?att_encoding_info=true')).json, 'lorem.txt').digest, md5(stored));
      // open_revs multipart/mixed (the Elixir "compressed attachments" test's request).
      const mixed = await f.req(`/db/m?open_revs=${encodeURIComponent(JSON.stringify([`1-${hash}`]))}`, { headers: { accept: 'multipart/mixed', 'x-couchdb-send-encoded-atts': 'true' } });
      const outer = parseMultipart(mixed.body, String(mixed.headers['content-type']));
      assert.equal(outer.length, 1);
      const inner = parseMultipart(outer[0]!.body, outer[0]!.headers['content-type']!);
      assert.equal(inner.length, 3);
      const doc = obj(JSON.parse(inner[0]!.body.toString()));
      assert.deepEqual(att(doc, 'lorem.txt'), { content_type: 'text/plain', revpos: 1, digest: md5(stored), length: LOREM.length, follows: true, encoding: 'gzip', encoded_length: stored.length });
      assert.equal(att(doc, 'data.bin').encoding, undefined);
      assert.equal(inner[1]!.headers['content-encoding'], 'gzip');
      assert.equal(inner[1]!.headers['content-length'], String(stored.length));
      assert.deepEqual(inner[1]!.body, stored);
      assert.equal(inner[2]!.body.toString(), 'hello world');
      assert.equal(inner[2]!.headers['content-encoding'], undefined);
      assert.ok('ok' in parseOpenRevsMixed(mixed.body, String(mixed.headers['content-type']))[0]!);
      // GET ?attachments=true as multipart/related.
      const related = await f.req('/db/m?attachments=true', { headers: { accept: 'multipart/related' } });
      const rel = parseRelatedDocument(related.body, String(related.headers['content-type']));
      assert.deepEqual(rel.followsData.get('lorem.txt'), stored);
      assert.equal(att(rel.doc, 'lorem.txt').encoding, 'gzip');
      // _bulk_get: JSON inlines identity, multipart sends the stored bytes.
      const bg = (accept: string) => f.req('/db/_bulk_get?attachments=true', { method: 'POST', json: { docs: [{ id: 'm' }] }, headers: { accept } });
      const jsonAnswer = obj(arr(obj(arr(obj((await bg('application/json')).json).results)[0]).docs)[0]);
      assert.equal(att(jsonAnswer.ok, 'lorem.txt').data, b64(LOREM));
      const mpAnswer = await bg('multipart/mixed');
      const part = parseMultipart(mpAnswer.body, String(mpAnswer.headers['content-type']))[0]!;
      const bulkRel = parseRelatedDocument(part.body, part.headers['content-type']!);
      assert.deepEqual(bulkRel.followsData.get('lorem.txt'), stored);
      assert.equal(att(bulkRel.doc, 'lorem.txt').encoded_length, stored.length);
      // An identity part of a compressible type is compressed on write; its digest is checked first.
      const plainJson = { _attachments: { 'n.txt': { content_type: 'text/plain', follows: true, length: LOREM.length, digest: md5(LOREM) } } };
      const plainMp = buildRelated(JSON.stringify(plainJson), [{ name: 'n.txt', contentType: 'text/plain', data: Buffer.from(LOREM) }]);
      const pw = await f.req('/db/n', { method: 'PUT', body: Buffer.concat(plainMp.chunks), headers: { 'content-type': plainMp.contentType } });
      assert.equal(pw.status, 201, pw.text);
      assert.deepEqual(att((await f.req('/db/n?att_encoding_info=true')).json, 'n.txt'), { content_type: 'text/plain', revpos: 1, digest: md5(stored), length: LOREM.length, stub: true, encoding: 'gzip', encoded_length: stored.length });
    }));

  test('form uploads and COPY; _config [attachments]; identity attachments stay identity; the rev hashes the stored digest', () =>
    withCouch(async (f) => {
      await createDb(f);
      const section = obj((await f.req('/_node/_local/_config/attachments')).json);
      assert.deepEqual(section, { compression_level: '8', compressible_types: 'text/*, application/javascript, application/json, application/xml' });
      assert.equal((await f.req('/_node/_local/_config/attachments/compression_level', { method: 'PUT', json: 'high' })).status, 400);
      // Written with compression off: identity, and kept so by later edits and COPY.
      await setConfig(f, 'compression_level', '0');
      const r1 = await put(f, '/db/old', { _attachments: { 'a.txt': { content_type: 'text/plain', data: b64(LOREM) } } });
      await setConfig(f, 'compression_level', '8');
      const r2 = await put(f, '/db/old', { _rev: r1, v: 2, _attachments: { 'a.txt': { stub: true } } });
      assert.match(r2, /^2-/);
      const kept = att((await f.req('/db/old?att_encoding_info=true')).json, 'a.txt');
      assert.deepEqual(kept, { content_type: 'text/plain', revpos: 1, digest: md5(LOREM), length: LOREM.length, stub: true });
      assert.equal((await f.req('/db/old/a.txt', { headers: { 'accept-encoding': 'gzip' } })).headers['content-encoding'], undefined);
      // The same edit with compression on and off: the rev hashes the stored bytes' md5.
      const on = await put(f, '/db/same1', { _attachments: { 'a.txt': { content_type: 'text/plain', data: b64(LOREM) } } });
      const on2 = await put(f, '/db/same2', { _attachments: { 'a.txt': { content_type: 'text/plain', data: b64(LOREM) } } });
      await setConfig(f, 'compression_level', '0');
      const off = await put(f, '/db/same3', { _attachments: { 'a.txt': { content_type: 'text/plain', data: b64(LOREM) } } });
      assert.equal(on, on2);
      assert.notEqual(on, off);
      assert.equal(off, r1);
      // compressible_types decides which types; application/json is not in this list.
      await setConfig(f, 'compression_level', '9');
      await setConfig(f, 'compressible_types', 'text/plain');
      await put(f, '/db/types', { _attachments: { 'a.txt': { content_type: 'text/plain', data: b64(LOREM) }, 'a.json': { content_type: 'application/json', data: b64(LOREM) } } });
      const types = obj(obj((await f.req('/db/types?att_encoding_info=true')).json)._attachments);
      assert.deepEqual(gunzipSync((await f.req('/db/types/a.txt', { headers: { 'accept-encoding': 'gzip' } })).body).toString(), LOREM);
      assert.equal(obj(types['a.txt']).digest, md5(gz(LOREM, 9)));
      assert.equal(obj(types['a.json']).encoding, undefined);
      await setConfig(f, 'compressible_types', 'text/*, application/javascript, application/json, application/xml');
      await setConfig(f, 'compression_level', '8');
      // A form upload of a text file is compressed too.
      const boundary = 'XyZ';
      const form = `--${boundary}\r\nContent-Disposition: form-data; name="_attachments"; filename="f.txt"\r\nContent-Type: text/plain\r\n\r\n${LOREM}\r\n--${boundary}--`;
      const up = await f.req('/db/form', { method: 'POST', body: form, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
      assert.equal(up.status, 201, up.text);
      const upInfo = att((await f.req('/db/form?att_encoding_info=true')).json, 'f.txt');
      assert.equal(upInfo.encoding, 'gzip');
      assert.equal(upInfo.length, LOREM.length);
      // COPY keeps each attachment as stored: digest and encoding, identity ones identity.
      await put(f, '/db/src', { _attachments: { 'z.txt': { content_type: 'text/plain', data: b64(TEXT) } } });
      for (const [from, name] of [['src', 'z.txt'], ['old', 'a.txt']] as const) {
        const copy = await f.req(`/db/${from}`, { method: 'COPY', headers: { destination: `${from}-copy` } });
        assert.equal(copy.status, 201, copy.text);
        const a = att((await f.req(`/db/${from}?att_encoding_info=true`)).json, name);
        const b = att((await f.req(`/db/${from}-copy?att_encoding_info=true`)).json, name);
        assert.deepEqual({ ...b, revpos: a.revpos }, a);
        assert.equal(b.revpos, 1);
        assert.equal((await f.req(`/db/${from}-copy/${name}`)).text, from === 'src' ? TEXT : LOREM);
      }
    }));
});
