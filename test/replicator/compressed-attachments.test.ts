/**
 * Attachments stored gzip-compressed (src/couch/att-encoding.ts) through replication: Freshet to
 * Freshet keeps them compressed, digest included, even when the target's compression is off
 * (CouchDB's "compressed attachment replication" test: the source's `_bulk_get` multipart parts
 * carry the stored bytes); pouchdb-server, which has no encodings, gets them decoded, and what it
 * sends back is compressed by Freshet's own settings; local peers pass the stored bytes on.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gzip as pakoGzip } from 'pako';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { startPouchServer, type PouchServer } from './helpers/pouchdb-server.js';
import { startProxy } from './helpers/proxy.js';
import { attachment, call, db, ok, type Db } from './helpers/data.js';
import { replicate } from '../../src/replicator/replicator.js';
import { localDatabase } from '../../src/replicator/local-peer.js';

const NODE = 'compressed-atts-node';
const LOREM = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(3000);
const md5 = (b: string | Buffer): string => 'md5-' + createHash('md5').update(b).digest('base64');
const base = (s: TestServer): string => `http://Administrator:password@127.0.0.1:${s.server.ports.http}`;

let fa: TestServer;
let p: PouchServer;
before(async () => {
  [fa, p] = await Promise.all([startTestServer(), startPouchServer()]);
});
after(async () => {
  await Promise.all([fa?.close(), p?.stop()]);
});

async function compression(level: string): Promise<void> {
  await ok(db(base(fa)), 'PUT', '/_node/_local/_config/attachments/compression_level', level);
}

async function seed(d: Db): Promise<void> {
  await ok(d, 'PUT', '');
  await ok(d, 'PUT', '/doc1', {
    _attachments: {
      'hello.txt': { content_type: 'text/plain', data: Buffer.from('hello world').toString('base64') },
      'foo.dat': { content_type: 'not/compressible', data: Buffer.from('i am not gziped').toString('base64') },
      'readme.txt': { content_type: 'text/plain', data: Buffer.from(LOREM).toString('base64') },
    },
  });
}

async function encodingInfo(d: Db, id: string): Promise<Record<string, Record<string, unknown>>> {
  const doc = (await ok(d, 'GET', `/${id}?attachments=true&att_encoding_info=true`)) as Record<string, unknown>;
  return doc._attachments as Record<string, Record<string, unknown>>;
}

describe('compressed attachments through replication', () => {
  test('Freshet to Freshet over HTTP: kept compressed with the source digest, target compression off (COUCHDB-885 read)', async () => {
    const src = db(`${base(fa)}/c-src`);
    await compression('8');
    await seed(src);
    const before = await encodingInfo(src, 'doc1');
    assert.equal(before['readme.txt']!.encoding, 'gzip');
    await compression('0');
    try {
      // Through a proxy, to see the source read with `_bulk_get` (multipart, stored bytes).
      const proxy = await startProxy(fa.server.ports.http);
      try {
        const target = `${base(fa)}/c-tgt`;
        const out = await replicate({ source: proxy.url('/c-src', 'Administrator:password'), target, createTarget: true, nodeUuid: NODE });
        assert.equal(out.stats.docs_written, 1);
        assert.equal(out.stats.doc_write_failures, 0);
        assert.equal(proxy.counts.get('POST /c-src/_bulk_get'), 1);
        const atts = await encodingInfo(db(target), 'doc1');
        assert.equal(atts['hello.txt']!.data, Buffer.from('hello world').toString('base64'));
        assert.equal(atts['hello.txt']!.encoding, 'gzip');
        assert.equal(atts['foo.dat']!.data, Buffer.from('i am not gziped').toString('base64'));
        assert.equal(atts['foo.dat']!.encoding, undefined);
        const stubs = ((await ok(db(target), 'GET', '/doc1?att_encoding_info=true')) as { _attachments: Record<string, Record<string, unknown>> })._attachments;
        const readme = stubs['readme.txt']!;
        assert.equal(readme.encoding, 'gzip');
        assert.equal(readme.length, LOREM.length);
        assert.ok(Number(readme.encoded_length) < LOREM.length);
        assert.equal(readme.digest, before['readme.txt']!.digest);
        assert.equal((await attachment(db(target), 'doc1', 'readme.txt')).toString(), LOREM);
      } finally {
        await proxy.close();
      }
    } finally {
      await compression('8');
    }
  });

  test('`_replicate` between two databases of one server, as the CouchDB suite runs it', async () => {
    const src = db(`${base(fa)}/r-src`);
    await seed(src);
    await compression('0');
    try {
      const res = await call(db(base(fa)), 'POST', '/_replicate', { source: `${base(fa)}/r-src`, target: `${base(fa)}/r-tgt`, create_target: true });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      // CouchDB's test reads stubs: encoding gzip, encoded_length below length.
      const doc = (await ok(db(`${base(fa)}/r-tgt`), 'GET', '/doc1?att_encoding_info=true')) as { _attachments: Record<string, Record<string, unknown>> };
      const readme = doc._attachments['readme.txt']!;
      assert.equal(readme.encoding, 'gzip');
      assert.ok(Number(readme.encoded_length) < Number(readme.length));
    } finally {
      await compression('8');
    }
  });

  test('Freshet to pouchdb-server decodes; pouchdb-server to Freshet compresses on arrival', async () => {
    const src = db(`${base(fa)}/p-src`);
    await seed(src);
    const pUrl = `${p.base}/p-copy`;
    const out = await replicate({ source: `${base(fa)}/p-src`, target: pUrl, createTarget: true, nodeUuid: NODE });
    assert.equal(out.stats.docs_written, 1);
    // Read without Accept-Encoding through pouchdb-server: the bytes it stored are the identity ones.
    const raw = (await ok(db(pUrl), 'GET', '/doc1?attachments=true')) as Record<string, unknown>;
    const pAtts = raw._attachments as Record<string, Record<string, unknown>>;
    assert.equal(Buffer.from(String(pAtts['readme.txt']!.data), 'base64').toString(), LOREM);
    assert.equal(Buffer.from(String(pAtts['hello.txt']!.data), 'base64').toString(), 'hello world');
    const back = `${base(fa)}/p-back`;
    await replicate({ source: pUrl, target: back, createTarget: true, nodeUuid: NODE });
    const atts = await encodingInfo(db(back), 'doc1');
    assert.equal(atts['readme.txt']!.encoding, 'gzip');
    assert.equal(atts['readme.txt']!.digest, md5(Buffer.from(pakoGzip(LOREM, { level: 8 }))));
    assert.equal(atts['foo.dat']!.encoding, undefined);
  });

  test('a multi-MiB compressed attachment reaches pouchdb-server decoded, byte for byte (inflated off the event loop)', async () => {
    const big = Buffer.from(Array.from({ length: 300_000 }, (_, i) => `line ${i % 977} of ${i % 13}`).join('\n'));
    const src = db(`${base(fa)}/big-src`);
    await ok(src, 'PUT', '');
    await ok(src, 'PUT', '/doc1', { _attachments: { 'big.txt': { content_type: 'text/plain', data: big.toString('base64') } } });
    assert.equal((await encodingInfo(src, 'doc1'))['big.txt']!.encoding, 'gzip');
    const pUrl = `${p.base}/big-copy`;
    const out = await replicate({ source: `${base(fa)}/big-src`, target: pUrl, createTarget: true, nodeUuid: NODE });
    assert.equal(out.stats.docs_written, 1);
    assert.equal(out.stats.doc_write_failures, 0);
    assert.ok((await attachment(db(pUrl), 'doc1', 'big.txt')).equals(big));
  });

  test('local peers pass the stored bytes on: same encoding and digest', async () => {
    const src = db(`${base(fa)}/l-src`);
    await seed(src);
    const out = await replicate({ source: localDatabase(fa.server, 'l-src'), target: localDatabase(fa.server, 'l-tgt'), createTarget: true, nodeUuid: NODE });
    assert.equal(out.stats.docs_written, 1);
    const [a, b] = await Promise.all([encodingInfo(src, 'doc1'), encodingInfo(db(`${base(fa)}/l-tgt`), 'doc1')]);
    assert.deepEqual(b, a);
  });
});
