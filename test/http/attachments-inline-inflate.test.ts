/**
 * Large gzip-stored attachments read inline (src/couch/att-encoding.ts inflateAttachment,
 * src/couchdb/doc-json.ts inflateInline): `attachments=true` JSON, `open_revs` JSON and
 * `_bulk_get` JSON carry the identity bytes of a multi-MiB compressible attachment, byte for
 * byte, and the server inflates them on zlib's thread pool, so the event loop keeps turning while
 * such a read is served (CouchDB streams the decoded bytes through couch_att foldl_decode).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mulberry32 } from '../helpers/prng.js';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';

const WORDS = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'consectetur', 'adipiscing', 'elit', 'sed', 'do', 'eiusmod', 'tempor'];

/** ~`bytes` of text from a small vocabulary: compressible (text/plain is stored gzip), not trivially. */
function text(bytes: number, seed: number): Buffer {
  const rnd = mulberry32(seed);
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const w = WORDS[Math.floor(rnd() * WORDS.length)]!;
    parts.push(w);
    n += w.length + 1;
  }
  return Buffer.from(parts.join(' '));
}

const BIG = text(6 * 1024 * 1024, 7);
const SMALL = Buffer.from('small text attachment');

async function seed(f: CouchFixture): Promise<void> {
  await createDb(f);
  const r = await f.req('/db/big', {
    method: 'PUT',
    json: {
      _attachments: {
        'big.txt': { content_type: 'text/plain', data: BIG.toString('base64') },
        'small.txt': { content_type: 'text/plain', data: SMALL.toString('base64') },
      },
    },
  });
  assert.equal(r.status, 201, r.text);
  const info = obj(obj(obj((await f.req('/db/big?att_encoding_info=true')).json)._attachments)['big.txt']);
  assert.equal(info.encoding, 'gzip');
  assert.ok(Number(info.encoded_length) < BIG.length / 2, `encoded_length ${String(info.encoded_length)}`);
}

function assertInline(doc: unknown, what: string): void {
  const atts = obj(obj(doc)._attachments);
  const big = obj(atts['big.txt']);
  assert.ok(Buffer.from(String(big.data), 'base64').equals(BIG), `${what}: big.txt bytes`);
  assert.equal(big.stub, undefined, what);
  assert.equal(Buffer.from(String(obj(atts['small.txt']).data), 'base64').toString(), SMALL.toString(), `${what}: small.txt`);
}

describe('large compressed attachments read inline', () => {
  test('attachments=true, open_revs and _bulk_get JSON return the identity bytes', async () => {
    await withCouch(async (f) => {
      await seed(f);
      const plain = await f.req('/db/big?attachments=true');
      assert.equal(plain.status, 200);
      assertInline(plain.json, 'attachments=true');
      const withInfo = obj(obj(obj((await f.req('/db/big?attachments=true&att_encoding_info=true')).json)._attachments)['big.txt']);
      assert.equal(withInfo.encoding, 'gzip');
      assert.ok(Buffer.from(String(withInfo.data), 'base64').equals(BIG), 'att_encoding_info: identity data');

      const revs = await f.req('/db/big?open_revs=all&attachments=true');
      assert.equal(revs.status, 200);
      const entries = arr(revs.json);
      assert.equal(entries.length, 1);
      assertInline(obj(entries[0]).ok, 'open_revs');

      const bulk = await f.req('/db/_bulk_get?attachments=true', { method: 'POST', json: { docs: [{ id: 'missing' }, { id: 'big' }, { id: 'big' }] } });
      assert.equal(bulk.status, 200);
      const results = arr(obj(bulk.json).results).map(obj);
      assert.deepEqual(
        results.map((r) => r.id),
        ['missing', 'big', 'big'],
      );
      assert.ok('error' in obj(arr(results[0]!.docs)[0]));
      assertInline(obj(arr(results[1]!.docs)[0]).ok, '_bulk_get');
      assertInline(obj(arr(results[2]!.docs)[0]).ok, '_bulk_get (repeated)');
    });
  });

  test('the event loop turns while the server builds an inline answer', async () => {
    await withCouch(async (f) => {
      await seed(f);
      // Observed through node:http's diagnostics channel: the server's response to the inline read,
      // and the setImmediate turns taken after its request arrived and before its headers went out.
      let res: ServerResponse | undefined;
      const onStart = (message: unknown): void => {
        const m = message as { request: IncomingMessage; response: ServerResponse };
        if (m.request.url?.startsWith('/db/big?attachments=true') === true) res = m.response;
      };
      subscribe('http.server.request.start', onStart);
      let turnsWhileBuilding = 0;
      let running = true;
      const spin = (): void => {
        if (res !== undefined && !res.headersSent) turnsWhileBuilding++;
        if (running) setImmediate(spin);
      };
      setImmediate(spin);
      try {
        const r = await f.req('/db/big?attachments=true');
        assert.equal(r.status, 200);
        assertInline(r.json, 'attachments=true');
      } finally {
        running = false;
        unsubscribe('http.server.request.start', onStart);
      }
      assert.ok(res !== undefined, 'the request was observed');
      assert.ok(turnsWhileBuilding > 0, 'other work ran while the attachment was inflated');
    });
  });
});
