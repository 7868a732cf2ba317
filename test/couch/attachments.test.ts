import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CouchError } from '../../src/couch/errors.js';
import {
  attachmentsToJson,
  attsSinceRevpos,
  checkAttachmentSize,
  checkRevisionSize,
  decodeBase64,
  isBase64,
  md5Digest,
  parseAttachments,
  prepareAttachments,
  resolveAttachments,
  type AttachmentMeta,
} from '../../src/couch/attachments.js';
import { compressibleType, DEFAULT_ATTACHMENT_COMPRESSION, DEFAULT_COMPRESSIBLE_TYPES, gzipAttachment } from '../../src/couch/att-encoding.js';

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CouchError, String(e));
    return `${e.status} ${e.error} ${e.reason}`;
  }
  assert.fail('expected a CouchError');
}

describe('digests', () => {
  test('md5 of known values', () => {
    assert.equal(md5Digest(Buffer.from('hello')), 'md5-XUFAKrxLKna5cZ2REBfFkg==');
    assert.equal(md5Digest(Buffer.alloc(0)), 'md5-1B2M2Y8AsgTpgAmY7PhCfg==');
  });

  test('strict base64', () => {
    assert.equal(decodeBase64('aGVsbG8=')?.toString(), 'hello');
    assert.equal(decodeBase64('aGVs\nbG8')?.toString(), 'hello');
    assert.equal(decodeBase64('!Base64Encoded$'), null);
    assert.equal(decodeBase64('a'), null);
  });
});

describe('base64 validator', () => {
  test('valid: every padding form, with or without padding', () => {
    for (const [text, plain] of [
      ['aGVsbG8=', 'hello'],
      ['aGVsbG8', 'hello'],
      ['aGVsbA==', 'hell'],
      ['aGVsbA', 'hell'],
      ['aGVs', 'hel'],
      ['+/+/', '\xfb\xff\xbf'],
    ] as const) {
      assert.equal(isBase64(text), true, text);
      assert.equal(decodeBase64(text)?.toString('latin1'), plain, text);
    }
  });

  test('empty is valid and decodes to no bytes', () => {
    assert.equal(isBase64(''), true);
    assert.equal(decodeBase64('')?.length, 0);
    assert.equal(isBase64(' \r\n'), true);
  });

  test('whitespace anywhere is skipped, padding included', () => {
    assert.equal(decodeBase64(' aGVs\r\nbG8=\n')?.toString(), 'hello');
    assert.equal(decodeBase64('aG\tVs bA=\n=')?.toString(), 'hell');
    // Only space, tab, CR and LF count as whitespace.
    assert.equal(isBase64('aGVs\vbG8='), false);
    assert.equal(isBase64('aGVs\u00a0bG8='), false);
  });

  test('invalid characters: URL-safe alphabet, punctuation, non-ASCII', () => {
    for (const text of ['aGV-bG8=', 'aGV_bG8=', 'aGVs.G8=', 'aGVsbG8é', 'aGVs\u0000bG8=', '\ud83d\ude00AAA']) {
      assert.equal(isBase64(text), false, JSON.stringify(text));
      assert.equal(decodeBase64(text), null, JSON.stringify(text));
    }
  });

  test('bad padding or length', () => {
    for (const text of ['a', 'aGVsb', 'aGVsbG8==', 'aGVsbA=', 'aGVsbA===', 'aGVs=', '=', '==', 'aG=Vs', 'aGVsbG8=A', 'aGVsbA==bG8=']) {
      assert.equal(isBase64(text), false, text);
      assert.equal(decodeBase64(text), null, text);
    }
  });

  test('huge input: linear, no stack overflow, byte-identical', () => {
    // 24 MiB of bytes is 32 MiB of text; the former regex overflowed V8's stack from ~4 MiB.
    const bytes = Buffer.alloc(24 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i & 0xff;
    const text = bytes.toString('base64');
    const started = process.hrtime.bigint();
    const decoded = decodeBase64(text);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.ok(decoded !== null && decoded.equals(bytes));
    assert.ok(ms < 5000, `took ${ms} ms`);
    // An invalid character at the very end is still found.
    assert.equal(isBase64(text.slice(0, -4) + 'AAA!'), false);
    // Whitespace every 76 characters (MIME line length) over the whole string.
    const wrapped = text.slice(0, 4 * 1024 * 1024).replace(/.{76}/g, '$&\r\n');
    assert.ok(decodeBase64(wrapped)?.equals(bytes.subarray(0, 3 * 1024 * 1024)));
  });
});

describe('size limits', () => {
  const meta = (name: string, length: number): AttachmentMeta => ({ name, contentType: 'x/y', length, digest: 'md5-x', revpos: 1 });

  test('one attachment over the limit is 413 attachment_too_large, naming it', () => {
    assert.doesNotThrow(() => checkAttachmentSize('a', 100, 100));
    assert.equal(reason(() => checkAttachmentSize('big.bin', 101, 100)), '413 attachment_too_large big.bin');
    assert.equal(reason(() => checkRevisionSize('d', 2, [meta('ok', 10), meta('big.bin', 101)], 100)), '413 attachment_too_large big.bin');
  });

  test('body plus attachments over the limit is 413 document_too_large, naming the document', () => {
    assert.doesNotThrow(() => checkRevisionSize('d', 40, [meta('a', 30), meta('b', 30)], 100));
    assert.equal(reason(() => checkRevisionSize('doc1', 41, [meta('a', 30), meta('b', 30)], 100)), '413 document_too_large doc1');
    assert.equal(reason(() => checkRevisionSize('doc1', 2, [meta('a', 60), meta('b', 60)], 100)), '413 document_too_large doc1');
  });
});

describe('parseAttachments', () => {
  test('inline, stub and follows entries keep document order', () => {
    const atts = parseAttachments({
      'l.txt': { data: 'bG9jYWw=', digest: 'md5-whatever', content_type: 'text/plain', revpos: 1 },
      old: { stub: true, revpos: 2 },
      big: { follows: true, content_type: 'image/png', length: 3, digest: 'md5-x' },
      ignored: 'not an object',
    });
    assert.deepEqual(atts.map((a) => [a.name, a.kind, a.contentType]), [
      ['l.txt', 'inline', 'text/plain'],
      ['old', 'stub', 'application/octet-stream'],
      ['big', 'follows', 'image/png'],
    ]);
    const inline = atts[0];
    assert.ok(inline.kind === 'inline');
    assert.equal(inline.data.toString(), 'local');
    // couch_att inline_from_json/2 reads no digest: inline data is never checked against one.
    assert.equal(inline.digest, undefined);
  });

  test('missing or invalid data', () => {
    assert.equal(reason(() => parseAttachments({ a: {} })), '400 bad_request Invalid attachment data for a');
    assert.equal(reason(() => parseAttachments({ a: { data: 5 } })), '400 bad_request Invalid attachment data for a');
  });
});

describe('resolveAttachments', () => {
  const parent: AttachmentMeta[] = [
    { name: 'old', contentType: 'text/plain', length: 3, digest: md5Digest(Buffer.from('old')), revpos: 2 },
  ];

  test('stubs keep the parent attachment; new data gets the new revpos', () => {
    const incoming = parseAttachments({ old: { stub: true, revpos: 2 }, n: { data: 'aGVsbG8=' } });
    const r = resolveAttachments(incoming, { docId: 'd', newRevpos: 3, parent });
    assert.deepEqual(r.attachments, [
      parent[0],
      { name: 'n', contentType: 'application/octet-stream', length: 5, digest: md5Digest(Buffer.from('hello')), revpos: 3 },
    ]);
    assert.equal(r.data.get('n')?.toString(), 'hello');
    assert.equal(r.data.has('old'), false);
  });

  test('replicated writes keep the sender revpos', () => {
    const incoming = parseAttachments({ n: { data: 'aGVsbG8=', revpos: 7 } });
    assert.equal(resolveAttachments(incoming, { docId: 'd', newRevpos: null, parent: null }).attachments[0].revpos, 7);
  });

  test('412 missing_stub with CouchDB reasons', () => {
    const stub = parseAttachments({ old: { stub: true, revpos: 1 } });
    assert.equal(
      reason(() => resolveAttachments(stub, { docId: 'd', newRevpos: 3, parent })),
      '412 missing_stub Invalid attachment stub in d for old',
    );
    const unknown = parseAttachments({ nope: { stub: true } });
    assert.equal(
      reason(() => resolveAttachments(unknown, { docId: 'd', newRevpos: 3, parent })),
      '412 missing_stub Invalid attachment stub in d for nope',
    );
    assert.equal(
      reason(() => resolveAttachments(unknown, { docId: 'd', newRevpos: 3, parent: null })),
      '412 missing_stub Previous revision missing for document d',
    );
  });

  test('follows: length and digest (of the bytes as sent) are checked; gzip is stored as it came', () => {
    const hello = Buffer.from('hello');
    const follows = parseAttachments({ f: { follows: true, length: 5, digest: md5Digest(hello) } });
    const ok = resolveAttachments(follows, { docId: 'd', newRevpos: null, parent: null, followsData: new Map([['f', hello]]) });
    assert.equal(ok.attachments[0].digest, md5Digest(hello));
    const run = (data: Buffer, atts = follows) =>
      reason(() => resolveAttachments(atts, { docId: 'd', newRevpos: null, parent: null, followsData: new Map([['f', data]]) }));
    assert.equal(run(Buffer.from('hello!')), '400 bad_request attachment longer than expected');
    assert.equal(run(Buffer.from('hell')), '400 bad_request attachment shorter than expected');
    assert.equal(run(Buffer.from('jello')), '500 unknown_error md5_mismatch');
    const gz = gzipSync(hello);
    const gzipped = parseAttachments({
      f: { follows: true, content_type: 'text/plain', length: 5, encoding: 'gzip', encoded_length: gz.length, digest: md5Digest(gz) },
    });
    // Kept compressed, whatever the settings: the digest is the gzip bytes', as the sender's.
    const kept = resolveAttachments(gzipped, { docId: 'd', newRevpos: 1, parent: null, followsData: new Map([['f', gz]]), compression: DEFAULT_ATTACHMENT_COMPRESSION });
    assert.equal(kept.data.get('f'), gz);
    assert.deepEqual(kept.attachments[0], { name: 'f', contentType: 'text/plain', revpos: 1, length: 5, digest: md5Digest(gz), encoding: 'gzip', encodedLength: gz.length });
    // A digest of the identity bytes does not match what was sent (couch_stream IdentityMd5).
    const wrongDigest = parseAttachments({ f: { follows: true, length: 5, encoding: 'gzip', encoded_length: gz.length, digest: md5Digest(hello) } });
    assert.equal(run(gz, wrongDigest), '500 unknown_error md5_mismatch');
    // Without a declared length, the identity length is unknown: the encoded one stands in.
    const bare = parseAttachments({ f: { follows: true, encoding: 'gzip' } });
    assert.equal(resolveAttachments(bare, { docId: 'd', newRevpos: 1, parent: null, followsData: new Map([['f', gz]]) }).attachments[0].length, gz.length);
    const corrupt = parseAttachments({ f: { follows: true, encoding: 'gzip', encoded_length: 5 } });
    assert.equal(run(Buffer.from('nogz!'), corrupt), '400 bad_request Invalid attachment data for f');
    const br = parseAttachments({ f: { follows: true, encoding: 'br', encoded_length: 5 } });
    assert.equal(run(Buffer.from('12345'), br), '400 bad_request Unsupported attachment encoding: br');
  });

  test('identity content of a compressible type is stored gzip-compressed (couch_db with_stream/3)', () => {
    const text = Buffer.from('This is a base64 encoded text');
    const incoming = parseAttachments({
      't.txt': { content_type: 'text/plain', data: text.toString('base64') },
      'b.bin': { content_type: 'application/octet-stream', data: text.toString('base64') },
      'j.json': { content_type: 'application/json; charset=utf-8', follows: true, length: text.length, digest: md5Digest(text) },
    });
    const opts = { docId: 'd', newRevpos: 1, parent: null, followsData: new Map([['j.json', text]]), compression: DEFAULT_ATTACHMENT_COMPRESSION };
    const r = resolveAttachments(incoming, opts);
    const [t, b, j] = r.attachments;
    const stored = r.data.get('t.txt')!;
    assert.deepEqual(gunzipSync(stored), text);
    assert.deepEqual(stored, gzipAttachment(text, 8));
    assert.deepEqual(t, { name: 't.txt', contentType: 'text/plain', revpos: 1, length: 29, digest: md5Digest(stored), encoding: 'gzip', encodedLength: stored.length });
    // The client's digest is the identity one, checked before compression; the stored one is the gzip's.
    assert.equal(j!.encoding, 'gzip');
    assert.equal(j!.digest, md5Digest(r.data.get('j.json')!));
    assert.deepEqual(b, { name: 'b.bin', contentType: 'application/octet-stream', revpos: 1, length: 29, digest: md5Digest(text) });
    // Level 0 (or none given) stores everything as sent.
    const { compression: _default, ...noCompression } = opts;
    for (const compression of [{ level: 0, types: 'text/*' }, undefined]) {
      const plain = resolveAttachments(incoming, { ...noCompression, ...(compression ? { compression } : {}) });
      assert.equal(plain.attachments[0]!.encoding, undefined);
      assert.equal(plain.attachments[0]!.digest, md5Digest(text));
    }
  });

  test('prepareAttachments does the zlib work of large content first, with the same outcome', async () => {
    const text = Buffer.from(randomBytes(100_000).toString('hex'));
    const gz = gzipSync(text);
    assert.ok(gz.length >= 64 * 1024);
    const incoming = parseAttachments({
      'big.txt': { content_type: 'text/plain', data: text.toString('base64') },
      'small.txt': { content_type: 'text/plain', data: 'aGVsbG8=' },
      'big.gz': { content_type: 'text/plain', follows: true, encoding: 'gzip', length: text.length, encoded_length: gz.length },
    });
    const opts = { docId: 'd', newRevpos: 1, parent: null, followsData: new Map([['big.gz', gz]]), compression: DEFAULT_ATTACHMENT_COMPRESSION, maxLength: 1 << 20 };
    const prepared = await prepareAttachments(incoming, opts);
    assert.deepEqual([...prepared.gzip.keys()], ['big.txt']);
    assert.deepEqual([...prepared.decodable], ['big.gz']);
    assert.deepEqual(resolveAttachments(incoming, { ...opts, prepared }), resolveAttachments(incoming, opts));
    const rejects = async (p: Promise<unknown>): Promise<string> => {
      try {
        await p;
      } catch (e) {
        assert.ok(e instanceof CouchError);
        return `${e.status} ${e.error} ${e.reason}`;
      }
      return assert.fail('expected a CouchError');
    };
    assert.equal(await rejects(prepareAttachments(incoming, { ...opts, maxLength: 1000 })), '413 attachment_too_large big.gz');
    const corrupt = Buffer.from(gz);
    corrupt.fill(0, 10, 2000);
    assert.equal(await rejects(prepareAttachments(incoming, { ...opts, followsData: new Map([['big.gz', corrupt]]) })), '400 bad_request Invalid attachment data for big.gz');
  });

  test('compressible_types: wildcards, parameters and case ignored, literal otherwise', () => {
    for (const t of ['text/plain', 'TEXT/HTML', 'text/plain;charset=utf-8', ' text/css ; q=1', 'application/json', 'application/xml']) {
      assert.ok(compressibleType(t, DEFAULT_COMPRESSIBLE_TYPES), t);
    }
    for (const t of ['application/octet-stream', 'image/png', 'application/jsonx', 'xtext/plain']) {
      assert.equal(compressibleType(t, DEFAULT_COMPRESSIBLE_TYPES), false, t);
    }
    assert.ok(compressibleType('application/xhtml+xml', 'application/xhtml+xml'));
    assert.equal(compressibleType('application/xhtmlxml', 'application/xhtml+xml'), false);
    assert.equal(compressibleType('text/plain', ''), false);
    assert.ok(compressibleType('anything/at-all', '*'));
  });
});

describe('responses', () => {
  const metas: AttachmentMeta[] = [
    { name: 'a', contentType: 'text/plain', length: 5, digest: md5Digest(Buffer.from('hello')), revpos: 1 },
    { name: 'b', contentType: 'text/plain', length: 3, digest: md5Digest(Buffer.from('new')), revpos: 3 },
  ];
  const data = (m: AttachmentMeta) => Buffer.from(m.name === 'a' ? 'hello' : 'new');
  const history = { start: 3, ids: ['c', 'b', 'a'] };

  test('stubs by default, in couch_att:to_json/4 member order', () => {
    const json = attachmentsToJson(metas, {}, data);
    assert.deepEqual(Object.keys(json.a), ['content_type', 'revpos', 'digest', 'length', 'stub']);
    assert.equal(json.b.stub, true);
  });

  test('attachments=true inlines base64 data', () => {
    const json = attachmentsToJson(metas, { attachments: true }, data);
    assert.deepEqual(json.a, { content_type: 'text/plain', revpos: 1, digest: metas[0].digest, data: 'aGVsbG8=' });
  });

  test('atts_since sends only content newer than the newest known ancestor', () => {
    assert.equal(attsSinceRevpos(history, ['2-b', '1-a']), 2);
    assert.equal(attsSinceRevpos(history, ['9-zz']), 0);
    const json = attachmentsToJson(metas, { attsSince: ['2-b'], history }, data);
    assert.equal(json.a.stub, true);
    assert.equal(json.b.data, Buffer.from('new').toString('base64'));
  });

  test('multipart responses announce follows', () => {
    const json = attachmentsToJson(metas, { attachments: true, follows: true }, data);
    assert.deepEqual(json.b, { content_type: 'text/plain', revpos: 3, digest: metas[1].digest, length: 3, follows: true });
  });
});
