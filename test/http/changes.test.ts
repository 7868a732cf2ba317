import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { arr, createDb, obj, withCouch, type CouchFixture } from './helpers.js';

async function seed(f: CouchFixture): Promise<Record<string, string>> {
  await createDb(f);
  const revs: Record<string, string> = {};
  for (const [id, body] of [
    ['a', { type: 'fruit', name: 'apple', n: 1, tags: ['red'], nested: { x: 1 } }],
    ['b', { type: 'fruit', name: 'banana', n: 2, tags: ['yellow'] }],
    ['c', { type: 'veg', name: 'carrot', n: 3, nested: { x: 3 } }],
    ['d', { type: 'veg', name: 'daikon', n: 4 }],
    ['_design/app', { views: {} }],
  ] as const) {
    const r = await f.req(`/db/${id}`, { method: 'PUT', json: body });
    revs[id] = String(obj(r.json).rev);
  }
  return revs;
}

interface Row {
  seq: number | null;
  id: string;
  changes: Array<{ rev: string }>;
  deleted?: boolean;
  doc?: Record<string, unknown>;
}

function rows(json: unknown): Row[] {
  return arr(obj(json).results) as Row[];
}

describe('_changes feed=normal', () => {
  test('since=0 lists each document once, at its latest seq, with exact CouchDB framing', () =>
    withCouch(async (f) => {
      const revs = await seed(f);
      const upd = await f.req('/db/a', { method: 'PUT', json: { _rev: revs.a, type: 'fruit', name: 'apricot', n: 5 } });
      const r = await f.req('/db/_changes');
      assert.equal(r.status, 200);
      assert.ok(r.text.startsWith('{"results":[\n{"seq":'), r.text);
      assert.match(r.text, /\},\r\n\{"seq"/);
      assert.match(r.text, /\n\],\n"last_seq":6,"pending":0\}\n$/);
      const list = rows(r.json);
      assert.deepEqual(list.map((x) => x.id), ['b', 'c', 'd', '_design/app', 'a']);
      assert.deepEqual(list.map((x) => x.seq), [2, 3, 4, 5, 6]);
      assert.deepEqual(list[4]!.changes, [{ rev: obj(upd.json).rev }]);
      assert.equal(obj((await f.req('/db')).json).update_seq, 6);
    }));

  test('limit, pending and resuming from last_seq; since=now; descending', () =>
    withCouch(async (f) => {
      await seed(f);
      const first = obj((await f.req('/db/_changes?limit=2')).json);
      assert.deepEqual(rows(first).map((x) => x.id), ['a', 'b']);
      assert.equal(first.last_seq, 2);
      assert.equal(first.pending, 3);
      const next = obj((await f.req(`/db/_changes?since=${String(first.last_seq)}&limit=10`)).json);
      assert.deepEqual(rows(next).map((x) => x.id), ['c', 'd', '_design/app']);
      assert.equal(next.pending, 0);
      const zero = obj((await f.req('/db/_changes?limit=0')).json);
      assert.deepEqual(zero.results, []);
      assert.equal(zero.pending, 5);
      const now = obj((await f.req('/db/_changes?since=now')).json);
      assert.deepEqual(now.results, []);
      assert.equal(now.last_seq, 5);
      const desc = obj((await f.req('/db/_changes?descending=true&limit=2')).json);
      assert.deepEqual(rows(desc).map((x) => x.seq), [5, 4]);
      assert.equal(desc.last_seq, 4);
      assert.equal(desc.pending, 3);
      // A descending feed starts at the newest change whatever `since` says
      // (fabric_view_changes get_start_seq/2, couch_changes handle_db_changes/3: dir=rev → update_seq).
      for (const since of ['3', 'now', '0']) {
        const d = obj((await f.req(`/db/_changes?descending=true&since=${since}`)).json);
        assert.deepEqual(rows(d).map((x) => x.seq), [5, 4, 3, 2, 1], since);
        assert.equal(d.last_seq, 1, since);
      }
      // Quoted and CouchDB 2-style seqs resume too.
      assert.deepEqual(rows((await f.req('/db/_changes?since="4"')).json).map((x) => x.seq), [5]);
      assert.deepEqual(rows((await f.req('/db/_changes?since=4-g1AAAA')).json).map((x) => x.seq), [5]);
    }));

  test('include_docs (with deleted docs), conflicts, style=all_docs, active_only', () =>
    withCouch(async (f) => {
      const revs = await seed(f);
      await f.req(`/db/d?rev=${revs.d}`, { method: 'DELETE' });
      const x = 'f'.repeat(32);
      await f.req('/db/_bulk_docs', { method: 'POST', json: { new_edits: false, docs: [{ _id: 'c', _rev: `1-${x}`, other: true }] } });
      const withDocs = rows((await f.req('/db/_changes?include_docs=true&conflicts=true&style=all_docs')).json);
      const d = withDocs.find((r) => r.id === 'd')!;
      assert.equal(d.deleted, true);
      assert.deepEqual(Object.keys(d.doc!), ['_id', '_rev', '_deleted']);
      const c = withDocs.find((r) => r.id === 'c')!;
      assert.equal(c.changes.length, 2);
      assert.equal(c.changes[0]!.rev, `1-${x}`);
      assert.deepEqual(c.doc!._conflicts, [revs.c]);
      const main = rows((await f.req('/db/_changes')).json).find((r) => r.id === 'c')!;
      assert.deepEqual(main.changes, [{ rev: `1-${x}` }]);
      const active = rows((await f.req('/db/_changes?active_only=true')).json);
      assert.equal(active.some((r) => r.id === 'd'), false);
      assert.equal(active.length, 4);
    }));

  test('seq_interval shows seq where CouchDB does (limit counting down, default 10^15); last_seq stays real', () =>
    withCouch(async (f) => {
      await seed(f);
      const seqs = async (q: string): Promise<unknown[]> => {
        const r = obj((await f.req(`/db/_changes?${q}`)).json);
        assert.equal(r.last_seq, q.includes('limit') ? rows(r).length : 5);
        return rows(r).map((x) => x.seq);
      };
      assert.deepEqual(await seqs('seq_interval=2'), [1, null, 3, null, 5]);
      // PouchDB's "changes respects seq_interval": the first row always carries a seq.
      assert.deepEqual(await seqs('seq_interval=4'), [1, null, null, null, 5]);
      // 10^15 rem 3 = 1: the second row is the first with a seq.
      assert.deepEqual(await seqs('seq_interval=3'), [null, 2, null, null, 5]);
      // seq_interval = batch size (CouchDB's docs): only a batch's first row is computed.
      assert.deepEqual(await seqs('limit=3&seq_interval=3'), [1, null, null]);
    }));

  test('filter=_doc_ids by query and POST body; filtered feeds still advance last_seq', () =>
    withCouch(async (f) => {
      await seed(f);
      const q = obj((await f.req(`/db/_changes?filter=_doc_ids&doc_ids=${encodeURIComponent('["b","zzz"]')}`)).json);
      assert.deepEqual(rows(q).map((x) => x.id), ['b']);
      assert.equal(q.last_seq, 5);
      const p = obj((await f.req('/db/_changes?filter=_doc_ids', { method: 'POST', json: { doc_ids: ['a', 'd'] } })).json);
      assert.deepEqual(rows(p).map((x) => x.id), ['a', 'd']);
      assert.equal(p.last_seq, 5);
      const bad = await f.req('/db/_changes?filter=_doc_ids', { method: 'POST', json: { doc_ids: 'a' } });
      assert.equal(bad.status, 400);
      const design = rows((await f.req('/db/_changes?filter=_design')).json);
      assert.deepEqual(design.map((x) => x.id), ['_design/app']);
    }));

  test('filter=_selector: operators and nested fields', () =>
    withCouch(async (f) => {
      await seed(f);
      const sel = async (selector: unknown): Promise<string[]> => {
        const r = await f.req('/db/_changes?filter=_selector', { method: 'POST', json: { selector } });
        assert.equal(r.status, 200, r.text);
        return rows(r.json).map((x) => x.id);
      };
      assert.deepEqual(await sel({ type: 'fruit' }), ['a', 'b']);
      assert.deepEqual(await sel({ type: { $eq: 'veg' } }), ['c', 'd']);
      assert.deepEqual(await sel({ n: { $gt: 2 } }), ['c', 'd']);
      assert.deepEqual(await sel({ n: { $gte: 2, $lt: 4 } }), ['b', 'c']);
      assert.deepEqual(await sel({ n: { $lte: 1 } }), ['a']);
      assert.deepEqual(await sel({ type: { $ne: 'fruit' }, n: { $exists: true } }), ['c', 'd']);
      assert.deepEqual(await sel({ name: { $in: ['banana', 'daikon'] } }), ['b', 'd']);
      assert.deepEqual(await sel({ name: { $nin: ['banana', 'daikon'] }, n: { $exists: true } }), ['a', 'c']);
      assert.deepEqual(await sel({ nested: { $exists: false }, n: { $exists: true } }), ['b', 'd']);
      assert.deepEqual(await sel({ $or: [{ name: 'apple' }, { 'nested.x': 3 }] }), ['a', 'c']);
      assert.deepEqual(await sel({ $and: [{ type: 'veg' }, { $not: { name: 'carrot' } }] }), ['d']);
      assert.deepEqual(await sel({ name: { $regex: '^b' } }), ['b']);
      assert.deepEqual(await sel({ nested: { x: { $gt: 2 } } }), ['c']);
      assert.deepEqual(await sel({ _id: { $gt: 'c' } }), ['d', '_design/app'].filter((id) => id > 'c'));
      // couch_changes get_selector_and_fields/1: a body without `selector` fails check_selector
      // as not an object; no body at all (or a GET) is "must be specified".
      const missing = await f.req('/db/_changes?filter=_selector', { method: 'POST', json: {} });
      assert.deepEqual(missing.json, { error: 'bad_request', reason: 'Selector error: expected a JSON object' });
      const noBody = await f.req('/db/_changes?filter=_selector', { method: 'POST', body: '', headers: { 'content-type': 'application/json' } });
      assert.deepEqual(noBody.json, { error: 'bad_request', reason: 'Selector must be specified in POST payload' });
      assert.deepEqual((await f.req('/db/_changes?filter=_selector')).json, { error: 'bad_request', reason: 'Selector must be specified in POST payload' });
      const invalid = await f.req('/db/_changes?filter=_selector', { method: 'POST', json: { selector: { n: { $bogus: 1 } } } });
      assert.equal(invalid.status, 400);
    }));

  test('bad parameters are 400s; unknown design filters are 404', () =>
    withCouch(async (f) => {
      await seed(f);
      for (const qs of ['feed=bogus', 'heartbeat=-5', 'heartbeat=abc', 'timeout=x', 'limit=abc', 'limit=-1', 'since=garbage', 'style=weird', 'include_docs=maybe']) {
        const r = await f.req(`/db/_changes?${qs}`);
        assert.equal(r.status, 400, qs);
        assert.ok(typeof obj(r.json).reason === 'string', qs);
      }
      // chttpd_db's two heartbeat texts: an integer that is not positive, and no integer.
      assert.equal(obj((await f.req('/db/_changes?feed=continuous&heartbeat=-1000')).json).reason, 'The heartbeat value should be a positive integer (in milliseconds).');
      assert.equal(obj((await f.req('/db/_changes?feed=continuous&heartbeat=a1000')).json).reason, 'Invalid heartbeat value. Expecting a positive integer value (in milliseconds).');
      assert.equal(obj((await f.req('/db/_changes?feed=longpoll&heartbeat=false')).json).reason, 'Invalid heartbeat value. Expecting a positive integer value (in milliseconds).');
      // couch_changes configure_filter/4: an unknown `_` name, a malformed name, and (as chttpd_db
      // parse_changes_query) a seq_interval that is no positive integer.
      assert.deepEqual((await f.req('/db/_changes?filter=_bogus')).json, { error: 'bad_request', reason: 'unknown builtin filter name' });
      assert.deepEqual((await f.req('/db/_changes?filter=a/b/c')).json, { error: 'bad_request', reason: '`filter` must be of the form `designname/filtername`' });
      for (const v of ['0', '-2', 'x']) {
        assert.deepEqual((await f.req(`/db/_changes?seq_interval=${v}`)).json, { error: 'bad_request', reason: 'invalid_seq_interval' }, v);
      }
      // A name of slashes only is no filter there (string:tokens gives []): every row.
      assert.equal(rows((await f.req('/db/_changes?filter=/')).json).length, 5);
      assert.equal((await f.req('/db/_changes?filter=nodd/fn')).status, 404);
      assert.equal((await f.req('/db/_changes?filter=app/fn')).status, 404);
      assert.equal((await f.req('/db/_changes', { method: 'PUT' })).status, 405);
      const wrongType = await f.req('/db/_changes', { method: 'POST', body: '{}', headers: { 'content-type': 'text/plain' } });
      assert.equal(wrongType.status, 415);
      assert.equal((await f.req('/nodb/_changes')).status, 404);
    }));

  test('feed=normal carries the database ETag; If-None-Match gets 304 until the database changes (chttpd_db handle_changes_req1)', () =>
    withCouch(async (f) => {
      await seed(f);
      const first = await f.req('/db/_changes');
      assert.equal(first.status, 200);
      const etag = String(first.headers.etag);
      assert.match(etag, /^"[0-9a-f]{32}"$/);
      // The tag is the database's: the same for other parameters, and stable while nothing changes.
      assert.equal((await f.req('/db/_changes?since=2&limit=1')).headers.etag, etag);
      const same = await f.req('/db/_changes', { headers: { 'if-none-match': etag } });
      assert.equal(same.status, 304);
      assert.equal(same.headers.etag, etag);
      assert.equal(same.body.length, 0);
      assert.equal((await f.req('/db/_changes', { headers: { 'if-none-match': '"other", W/' + etag } })).status, 304);
      // Longpoll, continuous and eventsource replies have none (only the normal feed is tagged).
      assert.equal((await f.req('/db/_changes?feed=longpoll&timeout=10')).headers.etag, undefined);
      assert.equal((await f.req('/db/_changes?feed=continuous&timeout=10')).headers.etag, undefined);
      // A write moves it: the old tag now gets the full answer with the new one.
      assert.equal((await f.req('/db/e', { method: 'PUT', json: {} })).status, 201);
      const changed = await f.req('/db/_changes', { headers: { 'if-none-match': etag } });
      assert.equal(changed.status, 200);
      assert.notEqual(changed.headers.etag, etag);
      assert.equal(rows(changed.json).length, 6);
    }));
});
