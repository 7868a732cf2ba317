import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CouchError } from '../../src/couch/errors.js';
import {
  parseContentType,
  parseMultipart,
  parseOpenRevsMixed,
  parseRelatedDocument,
} from '../../src/couch/multipart.js';
import { buildOpenRevsMixed, buildRelated, randomBoundary } from '../../src/couch/multipart-build.js';

// A CouchDB `open_revs` multipart/mixed answer with three gzip attachments,
// captured for pouchdb tests/unit/test.multipart.js. (The gzip bytes went
// through a text decoder there: invalid UTF-8 sequences became single 0xFD
// bytes, so foo.txt and baz.txt hold 45 bytes where Content-Length says 47.
// The structure and every header are CouchDB's.)
const capture = Buffer.from(
  readFileSync(new URL('./fixtures/couchdb-open-revs-multipart.b64', import.meta.url), 'utf8').replace(/\s/g, ''),
  'base64',
);
const OUTER = 'e50568734e356997d22959593607b838';
const INNER = 'c2dc2aefa40162df0bcf09aa65f7f619';

function isBadRequest(e: unknown): boolean {
  return e instanceof CouchError && e.status === 400;
}

describe('parseContentType', () => {
  test('quoted and unquoted parameters, case-insensitive names', () => {
    assert.deepEqual(parseContentType('Multipart/Related; BOUNDARY="a b;c\\"d"; charset=utf-8'), {
      type: 'multipart/related',
      params: { boundary: 'a b;c"d', charset: 'utf-8' },
    });
    assert.deepEqual(parseContentType('application/json; error="true"'), {
      type: 'application/json',
      params: { error: 'true' },
    });
    assert.deepEqual(parseContentType('text/plain'), { type: 'text/plain', params: {} });
  });
});

describe('a real CouchDB open_revs body', () => {
  test('outer part is a nested multipart/related', () => {
    const parts = parseMultipart(capture, `multipart/mixed; boundary="${OUTER}"`);
    assert.equal(parts.length, 1);
    assert.equal(parts[0].headers['content-type'], `multipart/related; boundary="${INNER}"`);
    const inner = parseMultipart(parts[0].body, parts[0].headers['content-type']);
    assert.equal(inner.length, 4);
    assert.equal(inner[0].headers['content-type'], 'application/json');
    assert.deepEqual(
      inner.slice(1).map((p) => [p.headers['content-disposition'], p.headers['content-length'], p.body.length]),
      [
        ['attachment; filename="foo.txt"', '47', 45],
        ['attachment; filename="bar.txt"', '20', 20],
        ['attachment; filename="baz.txt"', '47', 45],
      ],
    );
    assert.equal(inner[2].headers['content-encoding'], 'gzip');
    assert.equal(inner[1].body[0], 0x1f);
  });

  test('parseOpenRevsMixed gives the doc and its attachment bodies by name', () => {
    const [entry] = parseOpenRevsMixed(capture, `multipart/mixed; boundary=${OUTER}`);
    assert.ok('ok' in entry);
    assert.equal(entry.ok._id, 'bin_doc');
    assert.deepEqual(entry.ok._revisions, {
      start: 3,
      ids: ['7cc3acc97107948e02b0061d4d3233a9', '4c33fdbefe528298dd2f37b3e2a8ab25', '507ca61ff36ce1049740748a87cc57a1'],
    });
    assert.deepEqual([...entry.followsData].map(([k, v]) => [k, v.length]), [['foo.txt', 45], ['bar.txt', 20], ['baz.txt', 45]]);
  });

  test('our builder reproduces the capture byte for byte', () => {
    const [entry] = parseOpenRevsMixed(capture, `multipart/mixed; boundary=${OUTER}`);
    assert.ok('ok' in entry);
    const inner = parseMultipart(parseMultipart(capture, `multipart/mixed; boundary=${OUTER}`)[0].body, `multipart/related; boundary=${INNER}`);
    const built = buildOpenRevsMixed(
      [
        {
          ok: {
            json: inner[0].body,
            attachments: [...entry.followsData].map(([name, data]) => ({ name, contentType: 'text/plain', data, encoding: 'gzip' })),
          },
        },
      ],
      OUTER,
      INNER,
    );
    assert.equal(built.contentType, `multipart/mixed; boundary="${OUTER}"`);
    const bytes = Buffer.concat(built.chunks);
    assert.equal(built.length, bytes.length);
    // Our Content-Length is the real byte count (45, see the note above).
    const expected = Buffer.from(capture.toString('latin1').replaceAll('Content-Length: 47', 'Content-Length: 45'), 'latin1');
    assert.ok(bytes.equals(expected), 'built body differs from the CouchDB capture');
  });

  test('every truncation fails cleanly with a 400', () => {
    const ct = `multipart/mixed; boundary=${OUTER}`;
    for (let cut = 0; cut < capture.length - 1; cut++) {
      assert.throws(() => parseOpenRevsMixed(capture.subarray(0, cut), ct), isBadRequest, `cut at ${cut}`);
    }
  });
});

describe('boundary edge cases', () => {
  const part = (headers: string, body: string) => `${headers}\r\n\r\n${body}`;

  test('special characters in a quoted boundary, preamble, padding and epilogue', () => {
    const b = "a'()+_,-./:=?b";
    const body = Buffer.from(
      `preamble\r\n--${b}  \t\r\n${part('X-A: 1', 'one')}\r\n--${b}\r\n${part('X-A: 2', 'two')}\r\n--${b}--\r\nepilogue`,
    );
    const parts = parseMultipart(body, `multipart/mixed; boundary="${b}"`);
    assert.deepEqual(parts.map((p) => [p.headers['x-a'], p.body.toString()]), [['1', 'one'], ['2', 'two']]);
  });

  test('the boundary inside content is content unless it starts a line and ends properly', () => {
    const b = 'xyz';
    const tricky = `a--xyz\r\n--xyzzy\r\n--xyz-\r\n\r\n\r\n--xy`;
    const body = Buffer.from(`--${b}\r\n${part('Content-Type: text/plain', tricky)}\r\n--${b}--`);
    const parts = parseMultipart(body, `multipart/related; boundary=${b}`);
    assert.equal(parts.length, 1);
    assert.equal(parts[0].body.toString(), tricky);
  });

  test('binary bodies with CRLFs and every byte value survive', () => {
    const data = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
    const built = buildRelated('{"_attachments":{"bin":{"follows":true}}}', [{ name: 'bin', contentType: 'application/octet-stream', data }], 'bnd');
    const parsed = parseRelatedDocument(Buffer.concat(built.chunks), built.contentType);
    assert.ok(parsed.followsData.get('bin')?.equals(data));
  });

  test('empty parts, parts without headers and folded headers', () => {
    const body = Buffer.from('--b\r\n\r\n\r\n--b\r\nX-Long: one\r\n two\r\n\r\nx\r\n--b\r\n--b--');
    const parts = parseMultipart(body, 'multipart/mixed; boundary=b');
    assert.deepEqual(parts.map((p) => [p.headers, p.body.toString()]), [[{}, ''], [{ 'x-long': 'one two' }, 'x'], [{}, '']]);
  });

  test('malformed bodies are 400 bad_request', () => {
    const cases: Array<[string, string]> = [
      ['--b\r\nX: 1\r\n\r\nbody', 'multipart/mixed; boundary=b'],
      ['no boundary at all', 'multipart/mixed; boundary=b'],
      ['--b\r\nbroken header\r\n\r\nx\r\n--b--', 'multipart/mixed; boundary=b'],
      ['--b\r\nX: 1\r\n\r\nx\r\n--b--', 'multipart/mixed'],
      ['--b\r\nX: 1\r\n\r\nx\r\n--b--', 'application/json'],
      ['--b\r\nX: 1 no blank line\r\n--b--', 'multipart/mixed; boundary=b'],
    ];
    for (const [body, ct] of cases) assert.throws(() => parseMultipart(Buffer.from(body), ct), isBadRequest, body);
  });
});

describe('documents', () => {
  test('build -> parse round trip of multipart/related', () => {
    const doc = { _id: 'd', _attachments: { 'a.txt': { follows: true, length: 5 }, stubbed: { stub: true }, 'b.bin': { follows: true } } };
    const built = buildRelated(JSON.stringify(doc), [
      { name: 'a.txt', contentType: 'text/plain', data: Buffer.from('hello') },
      { name: 'b.bin', contentType: 'image/png', data: Buffer.from([0, 13, 10, 45, 45]) },
    ]);
    assert.match(built.contentType, /^multipart\/related; boundary="[0-9a-f]{32}"$/);
    const parsed = parseRelatedDocument(Buffer.concat(built.chunks), built.contentType);
    assert.deepEqual(parsed.doc, doc);
    assert.deepEqual([...parsed.followsData].map(([k, v]) => [k, [...v]]), [['a.txt', [104, 101, 108, 108, 111]], ['b.bin', [0, 13, 10, 45, 45]]]);
  });

  test('without attachments a document is plain JSON', () => {
    const built = buildRelated('{"a":1}', []);
    assert.equal(built.contentType, 'application/json');
    assert.equal(Buffer.concat(built.chunks).toString(), '{"a":1}');
  });

  test('open_revs round trip with a missing revision', () => {
    const built = buildOpenRevsMixed([
      { ok: { json: '{"_id":"x","_rev":"1-a"}', attachments: [] } },
      { missing: '3-6bcedf1' },
      { ok: { json: '{"_id":"x","_rev":"1-b","_attachments":{"f":{"follows":true}}}', attachments: [{ name: 'f', contentType: 'text/plain', data: Buffer.from('F') }] } },
    ]);
    const parsed = parseOpenRevsMixed(Buffer.concat(built.chunks), built.contentType);
    assert.deepEqual(parsed[0], { ok: { _id: 'x', _rev: '1-a' }, followsData: new Map() });
    assert.deepEqual(parsed[1], { missing: '3-6bcedf1' });
    assert.ok('ok' in parsed[2] && parsed[2].followsData.get('f')?.toString() === 'F');
    const text = Buffer.concat(built.chunks).toString();
    assert.ok(text.includes('\r\nContent-Type: application/json; error="true"\r\n\r\n{"missing":"3-6bcedf1"}\r\n--'));
  });

  test('document part errors match CouchDB', () => {
    const b = randomBoundary();
    const wrongType = Buffer.from(`--${b}\r\nContent-Type: text/plain\r\n\r\n{}\r\n--${b}--`);
    assert.throws(
      () => parseRelatedDocument(wrongType, `multipart/related; boundary=${b}`),
      (e: unknown) => e instanceof CouchError && e.status === 415 && e.reason === 'Content-Type must be application/json',
    );
    const badJson = Buffer.from(`--${b}\r\nContent-Type: application/json\r\n\r\n{nope\r\n--${b}--`);
    assert.throws(
      () => parseRelatedDocument(badJson, `multipart/related; boundary=${b}`),
      (e: unknown) => e instanceof CouchError && e.reason === 'invalid UTF-8 JSON',
    );
    const missingAtt = Buffer.from(`--${b}\r\nContent-Type: application/json\r\n\r\n{"_attachments":{"a":{"follows":true}}}\r\n--${b}--`);
    assert.throws(
      () => parseRelatedDocument(missingAtt, `multipart/related; boundary=${b}`),
      (e: unknown) => e instanceof CouchError && e.reason === 'attachment shorter than expected',
    );
  });
});
