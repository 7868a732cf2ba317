// Which document reads answer multipart: chttpd_db send_doc_efficiently (`attachments=true` or
// `atts_since` on a document with attachments → multipart/related) and the `open_revs` branch of
// db_doc_req (→ multipart/mixed), both asking mochiweb's accepts_content_type, which reads a
// missing Accept header as */*.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { parseMultipart, parseOpenRevsMixed, parseRelatedDocument } from '../../src/couch/multipart.js';
import { basic, createDb, obj, withCouch, type CouchFixture } from './helpers.js';
import { ADMIN } from '../helpers/server.js';

/** A GET with exactly these headers (the fixture's `req` adds `Accept: application/json`). */
async function rawGet(f: CouchFixture, path: string, accept?: string): Promise<{ type: string; body: Buffer }> {
  const headers: Record<string, string> = { authorization: basic(ADMIN.username, ADMIN.password) };
  if (accept !== undefined) headers.accept = accept;
  const res = await request(f.base + path, { headers, dispatcher: f.agent });
  const body = Buffer.from(await res.body.arrayBuffer());
  assert.equal(res.statusCode, 200, body.toString());
  return { type: String(res.headers['content-type']), body };
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('Accept and multipart document reads', () => {
  test('attachments=true: multipart/related without an Accept header, for */* and multipart/*; JSON otherwise', () =>
    withCouch(async (f) => {
      await createDb(f);
      await f.req('/db/a', { method: 'PUT', json: { v: 1, _attachments: { 't.txt': { content_type: 'text/plain', data: b64('hello') } } } });
      await f.req('/db/plain', { method: 'PUT', json: { v: 2 } });
      for (const accept of [undefined, '*/*', 'multipart/*', 'application/json, multipart/related', 'text/html;q=0.5, */*;q=0.1']) {
        const r = await rawGet(f, '/db/a?attachments=true', accept);
        assert.match(r.type, /^multipart\/related; boundary=/, `Accept ${accept}`);
        // Parts carry the stored bytes: text/plain is stored gzip (attachments-compression.test.ts).
        assert.deepEqual(gunzipSync(parseRelatedDocument(r.body, r.type).followsData.get('t.txt')!), Buffer.from('hello'));
      }
      for (const accept of ['application/json', 'text/plain, */*;q=0', 'multipart/related;q=0, */*', 'multipart/*;q=0.0, */*']) {
        const r = await rawGet(f, '/db/a?attachments=true', accept);
        assert.match(r.type, /^application\/json/, `Accept ${accept}`);
        assert.equal(obj(obj(JSON.parse(r.body.toString()))._attachments)['t.txt'] !== undefined, true);
      }
      // A document without attachments is JSON whatever the Accept header says.
      const plain = await rawGet(f, '/db/plain?attachments=true');
      assert.match(plain.type, /^application\/json/);
      assert.equal(JSON.parse(plain.body.toString()).v, 2);
    }));

  test('atts_since alone sends attachment data, as multipart/related when accepted', () =>
    withCouch(async (f) => {
      await createDb(f);
      const r1 = String(obj((await f.req('/db/d', { method: 'PUT', json: { _attachments: { 'old.txt': { content_type: 'text/plain', data: b64('old') } } } })).json).rev);
      const put2 = await f.req(`/db/d/new.txt?rev=${r1}`, { method: 'PUT', body: 'new', headers: { 'content-type': 'text/plain' } });
      assert.equal(put2.status, 201, put2.text);
      const since = encodeURIComponent(JSON.stringify([r1]));
      const related = await rawGet(f, `/db/d?atts_since=${since}`, 'multipart/related');
      assert.match(related.type, /^multipart\/related/);
      const parsed = parseRelatedDocument(related.body, related.type);
      assert.deepEqual(gunzipSync(parsed.followsData.get('new.txt')!), Buffer.from('new'));
      assert.equal(parsed.followsData.has('old.txt'), false);
      const atts = obj(parsed.doc._attachments);
      assert.equal(obj(atts['old.txt']).stub, true);
      assert.equal(obj(atts['new.txt']).follows, true);
      const json = obj((await f.req(`/db/d?atts_since=${since}`)).json);
      assert.equal(obj(obj(json._attachments)['new.txt']).data, b64('new'));
      assert.equal(obj(obj(json._attachments)['old.txt']).stub, true);
      // With open_revs, atts_since does not apply: multipart/mixed sends every attachment.
      const head = String(obj(put2.json).rev);
      const mixed = await rawGet(f, `/db/d?open_revs=${encodeURIComponent(JSON.stringify([head]))}&atts_since=${since}`, 'multipart/mixed');
      const [only] = parseOpenRevsMixed(mixed.body, mixed.type);
      assert.ok(only !== undefined && 'ok' in only);
      assert.deepEqual([...only.followsData.keys()].sort(), ['new.txt', 'old.txt']);
    }));

  test('open_revs: multipart/mixed without an Accept header and for multipart/related,*/*; JSON for application/json', () =>
    withCouch(async (f) => {
      await createDb(f);
      const rev = String(obj((await f.req('/db/o', { method: 'PUT', json: { v: 1 } })).json).rev);
      const path = `/db/o?open_revs=${encodeURIComponent(JSON.stringify([rev]))}`;
      for (const accept of [undefined, 'multipart/related,*/*', 'multipart/mixed']) {
        const r = await rawGet(f, path, accept);
        assert.match(r.type, /^multipart\/mixed; boundary=/, `Accept ${accept}`);
        const parts = parseOpenRevsMixed(r.body, r.type);
        assert.equal(parts.length, 1);
        const first = parts[0]!;
        assert.ok('ok' in first);
        assert.equal(first.ok._rev, rev);
      }
      const json = await rawGet(f, path, 'application/json');
      assert.match(json.type, /^application\/json/);
      assert.equal(JSON.parse(json.body.toString())[0].ok._rev, rev);
    }));

  test('_bulk_get answers multipart only to a client that accepts multipart and not JSON', () =>
    withCouch(async (f) => {
      await createDb(f);
      const a = String(obj((await f.req('/db/a', { method: 'PUT', json: { v: 1, _attachments: { 't.txt': { content_type: 'text/plain', data: b64('hello') } } } })).json).rev);
      const p = String(obj((await f.req('/db/p', { method: 'PUT', json: { v: 2 } })).json).rev);
      const docs = [{ id: 'a', rev: a }, { id: 'p' }, { id: 'p', rev: '9-' + 'f'.repeat(32) }, { id: 'nope' }];
      const post = (accept?: string): Promise<{ status: number; type: string; body: Buffer }> =>
        request(`${f.base}/db/_bulk_get?revs=true`, {
          method: 'POST',
          dispatcher: f.agent,
          headers: { authorization: basic(ADMIN.username, ADMIN.password), 'content-type': 'application/json', ...(accept === undefined ? {} : { accept }) },
          body: JSON.stringify({ docs }),
        }).then(async (res) => ({ status: res.statusCode, type: String(res.headers['content-type']), body: Buffer.from(await res.body.arrayBuffer()) }));
      for (const accept of [undefined, '*/*', 'application/json, multipart/mixed']) {
        const r = await post(accept);
        assert.match(r.type, /^application\/json/, `Accept ${accept}`);
        assert.equal(JSON.parse(r.body.toString()).results.length, 4);
      }
      const mixed = await post('multipart/mixed');
      assert.equal(mixed.status, 200);
      assert.match(mixed.type, /^multipart\/mixed; boundary="--[0-9a-f]{32}"$/);
      assert.ok(mixed.body.toString().endsWith('--\r\n'));
      const parts = parseMultipart(mixed.body, mixed.type);
      assert.equal(parts.length, 4);
      const [withAtt, plain, missingRev, missingDoc] = parts as [typeof parts[0], typeof parts[0], typeof parts[0], typeof parts[0]];
      assert.equal(withAtt.headers['x-doc-id'], 'a');
      assert.equal(withAtt.headers['x-rev-id'], a);
      const related = parseRelatedDocument(withAtt.body, String(withAtt.headers['content-type']));
      assert.deepEqual(gunzipSync(related.followsData.get('t.txt')!), Buffer.from('hello'));
      assert.equal(obj(obj(related.doc._attachments)['t.txt']).follows, true);
      assert.deepEqual(obj(related.doc._revisions).start, 1);
      assert.equal(plain.headers['content-type'], 'application/json');
      assert.equal(JSON.parse(plain.body.toString())._rev, p);
      assert.equal(missingRev.headers['content-type'], 'application/json; error="true"');
      assert.deepEqual(JSON.parse(missingRev.body.toString()), { rev: '9-' + 'f'.repeat(32), error: 'not_found', reason: 'missing' });
      assert.equal(JSON.parse(missingDoc.body.toString()).id, 'nope');
      assert.equal(JSON.parse(missingDoc.body.toString()).error, 'not_found');
      const related2 = await post('multipart/related');
      assert.match(related2.type, /^multipart\/related; boundary=/);
    }));
});
