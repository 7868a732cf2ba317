/**
 * The byte-level `_changes` rows (src/http/changes-bytes.ts) against the string path they stand
 * in for: the same summary as doc-sync.ts's summaryFromPrefix for every record, and rows that
 * are exactly what JSON.stringify makes of them, for plain, deleted, conflicted, KV-written and
 * oddly named documents, in every feed framing.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { scanChanges } from '../../src/engine/change-scan.js';
import { ByteSink, readFastRow } from '../../src/couchdb/changes-bytes.js';
import { summaryFromPrefix } from '../../src/couchdb/doc-sync.js';
import { SUMMARY_PREFIX_CHARS } from '../../src/couchdb/sync-layout.js';
import { arr, createDb, obj, withCouch, type CouchFixture } from '../http/helpers.js';

const ODD_IDS = ['plain', 'with space', 'quote"d', 'back\\slash', 'tab\there', 'café', '日本', '_design/d'];

async function seed(f: CouchFixture): Promise<void> {
  await createDb(f);
  for (const id of ODD_IDS) {
    const r = await f.req(`/db/${encodeURIComponent(id)}`, { method: 'PUT', json: { id } });
    assert.equal(r.status, 201, `${id}: ${r.text}`);
  }
  const del = obj((await f.req('/db/gone', { method: 'PUT', json: {} })).json);
  assert.equal((await f.req(`/db/gone?rev=${String(del.rev)}`, { method: 'DELETE' })).status, 200);
  // A conflict, and revs a peer may send that are not hex.
  const docs = [
    { _id: 'conflicted', _rev: '1-aaaa', v: 1 },
    { _id: 'conflicted', _rev: '1-bbbb', v: 2 },
    { _id: 'oddrev', _rev: '1-rév', v: 3 },
    { _id: 'escrev', _rev: '1-a"b', v: 4 },
  ];
  assert.equal((await f.req('/db/_bulk_docs', { method: 'POST', json: { docs, new_edits: false } })).status, 201);
  await f.engine.requireBucket('db').set('kv-written', JSON.stringify({ from: 'kv' }));
  await f.engine.requireBucket('db').quiesce();
}

describe('byte-level _changes rows', () => {
  test('the record reader agrees with doc-sync summaryFromPrefix on every record', () =>
    withCouch(async (f) => {
      await seed(f);
      const fast: string[] = [];
      let slow = 0;
      scanChanges(f.engine.requireBucket('db'), { since: 0, limit: 1000 }, (change) => {
        const expected = summaryFromPrefix(change.xattrsPrefix(SUMMARY_PREFIX_CHARS), change.revSeqno);
        const got = readFastRow(change.raw);
        const id = change.id();
        if (got === null) {
          slow++;
          // Only ids or revs that need escaping or UTF-8 decoding may leave the byte path.
          if (expected !== null) assert.ok(/[^\x20-\x7e]|["\\]/.test(`${id}${expected.rev}`), `${id} left the byte path`);
          return true;
        }
        fast.push(String(id));
        assert.ok(expected, `${id}: byte reader accepted a record the string reader rejects`);
        const text = (start: number, end: number): string => Buffer.from(got.bytes.buffer, got.bytes.byteOffset + start, end - start).toString('utf8');
        assert.equal(text(got.revStart, got.revEnd), expected.rev);
        assert.equal(got.deleted, expected.deleted);
        assert.equal(text(got.idStart, got.idEnd), id);
        return true;
      });
      assert.deepEqual(fast.sort(), ['_design/d', 'gone', 'plain', 'with space']);
      assert.equal(slow, 9);
    }));

  test('every row is exactly JSON.stringify of itself, in each feed mode and style', () =>
    withCouch(async (f) => {
      await seed(f);
      for (const params of ['', '&style=all_docs', '&seq_interval=3', '&active_only=true', '&filter=_design', `&filter=_doc_ids&doc_ids=${encodeURIComponent(JSON.stringify(ODD_IDS))}`]) {
        const normal = await f.req(`/db/_changes?since=0${params}`);
        const body = normal.text;
        assert.ok(body.startsWith('{"results":[\n') && body.includes('\n],\n"last_seq":'), body);
        const rowsText = body.slice('{"results":[\n'.length, body.indexOf('\n],\n"last_seq":'));
        const rows = rowsText.length === 0 ? [] : rowsText.split(',\r\n');
        assert.deepEqual(rows.map((r) => JSON.parse(r)), arr(obj(JSON.parse(body)).results), params);
        for (const r of rows) assert.equal(r, JSON.stringify(JSON.parse(r)), params);
        const continuous = await f.req(`/db/_changes?feed=continuous&timeout=0${params}`);
        const lines = continuous.text.split('\n').filter((l) => l.length > 0);
        assert.deepEqual(lines.slice(0, -1), rows, params);
        const sse = await f.req(`/db/_changes?feed=eventsource&timeout=0${params}`);
        const events = sse.text.split('\n\n').filter((e) => e.length > 0);
        assert.deepEqual(events.map((e) => /^data: (.*)$/m.exec(e)?.[1]), rows, params);
        for (const e of events) {
          const seq = obj(JSON.parse(/^data: (.*)$/m.exec(e)![1]!)).seq;
          assert.equal(/\nid: (\d+)$/.exec(e)?.[1], seq === null ? undefined : String(seq), params);
        }
      }
      const all = arr(obj((await f.req('/db/_changes?style=all_docs')).json).results).map(obj);
      const conflicted = all.find((r) => r.id === 'conflicted')!;
      assert.deepEqual(conflicted.changes, [{ rev: '1-bbbb' }, { rev: '1-aaaa' }]);
      assert.equal(all.find((r) => r.id === 'gone')!.deleted, true);
    }));
});

describe('ByteSink', () => {
  test('integers, text and growth', () => {
    const sink = new ByteSink(4);
    for (const n of [0, 7, 10, 99, 100, 12345, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      sink.int(n);
      sink.text(',');
    }
    sink.text('é日');
    assert.equal(sink.take().toString('utf8'), `0,7,10,99,100,12345,${2 ** 32},${Number.MAX_SAFE_INTEGER},é日`);
    assert.equal(sink.len, 0);
  });
});
