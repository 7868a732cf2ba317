/**
 * List functions stream their output as CouchDB does (couch_mrview_show list_cb/send_list_row,
 * share/server/render.js getRow): chunked responses, rows pulled lazily (a function that returns
 * early stops the view read), errors after output began as the last chunk
 * (`\n{"code","error","reason"}\n`, chttpd send_chunked_error), and before it as usual.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ADMIN } from '../helpers/server.js';
import { basic, createDb, withCouch, type CouchFixture } from './helpers.js';

const N = 1200;
const DDOC = {
  views: { byN: { map: 'function (doc) { if (typeof doc.n === "number") emit(doc.n, doc.n * 2); }' } },
  lists: {
    perRow: 'function (head, req) { start({ headers: { "Content-Type": "text/plain" } }); send("total " + head.total_rows + "\\n"); var r; while ((r = getRow())) send(r.key + ":" + r.value + "\\n"); return "end\\n"; }',
    firstThree: 'function (head, req) { var out = []; for (var i = 0; i < 3; i++) out.push(getRow().key); return JSON.stringify({ head: head, keys: out }); }',
    failAt: 'function (head, req) { start({ headers: { "Content-Type": "text/plain", "X-Mine": "1" } }); var r; while ((r = getRow())) { if (r.key === Number(req.query.at)) throw ["error", "boom", "at " + r.key]; if (!req.query.quiet) send(r.key + "\\n"); } return "done"; }',
    failFirst: 'function (head, req) { throw ["error", "early", "before any row"]; }',
    spin: 'function (head, req) { var r, i = 0; while ((r = getRow())) { send(r.key + "\\n"); if (++i === 150) while (true) {} } }',
    ids: 'function (head, req) { var r, out = []; while ((r = getRow())) out.push(r.id); return out.join(","); }',
  },
};

async function setup(f: CouchFixture): Promise<void> {
  await createDb(f);
  assert.equal((await f.req('/db/_design/l', { method: 'PUT', json: DDOC })).status, 201);
  const docs = Array.from({ length: N }, (_, i) => ({ _id: `d${String(i).padStart(5, '0')}`, n: i }));
  assert.equal((await f.req('/db/_bulk_docs', { method: 'POST', json: { docs } })).status, 201);
}

describe('list functions stream', () => {
  test('a list that sends per row: the whole output, chunked, over many batches of rows', () =>
    withCouch(async (f) => {
      await setup(f);
      const r = await f.req('/db/_design/l/_list/perRow/byN');
      assert.equal(r.status, 200);
      assert.equal(r.headers['transfer-encoding'], 'chunked');
      assert.equal(r.headers['content-length'], undefined);
      assert.equal(r.headers['content-type'], 'text/plain');
      assert.equal(r.headers['content-security-policy'], 'sandbox');
      const expected = `total ${N}\n` + Array.from({ length: N }, (_, i) => `${i}:${i * 2}\n`).join('') + 'end\n';
      assert.equal(r.text, expected);
      // View parameters still apply, and the head counts the skipped rows in its offset.
      const some = await f.req('/db/_design/l/_list/firstThree/byN?skip=10&limit=5&descending=true');
      assert.deepEqual(some.json, { head: { total_rows: N, offset: 10 }, keys: [N - 11, N - 12, N - 13] });
    }));

  test('a list that stops after a few getRow() calls answers at once, from the first rows only', () =>
    withCouch(async (f) => {
      await setup(f);
      const started = Date.now();
      const r = await f.req('/db/_design/l/_list/firstThree/byN?include_docs=true');
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { head: { total_rows: N, offset: 0 }, keys: [0, 1, 2] });
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
      // The runtime is reused for the next request (and for the full read) with fresh state.
      assert.equal((await f.req('/db/_design/l/_list/firstThree/byN?startkey=500')).text, JSON.stringify({ head: { total_rows: N, offset: 500 }, keys: [500, 501, 502] }));
    }));

  test('an error after output began ends the response with the error as its last chunk', () =>
    withCouch(async (f) => {
      await setup(f);
      const r = await f.req('/db/_design/l/_list/failAt/byN?at=250');
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-mine'], '1');
      const expected = Array.from({ length: 250 }, (_, i) => `${i}\n`).join('') + '\n{"code":500,"error":"boom","reason":"at 250"}\n';
      assert.equal(r.text, expected);
    }));

  test('an error after getRow() but before any output: the chunked error with its status and the function\'s headers', () =>
    withCouch(async (f) => {
      await setup(f);
      const r = await f.req('/db/_design/l/_list/failAt/byN?at=3&quiet=1');
      assert.equal(r.status, 500);
      assert.equal(r.headers['transfer-encoding'], 'chunked');
      assert.equal(r.headers['x-mine'], '1');
      assert.equal(r.text, '\n{"code":500,"error":"boom","reason":"at 3"}\n');
    }));

  test('an error before the first getRow() is the ordinary error response', () =>
    withCouch(async (f) => {
      await setup(f);
      const r = await f.req('/db/_design/l/_list/failFirst/byN');
      assert.equal(r.status, 500);
      assert.deepEqual(r.json, { error: 'early', reason: 'before any row' });
      assert.equal(r.headers['content-type'], 'application/json');
    }));

  test('the deadline (os_process_timeout) holds for each batch of rows: a stuck list ends with os_process_error, and the next runs', () =>
    withCouch(async (f) => {
      await setup(f);
      assert.equal((await f.req('/_node/_local/_config/query_server_config/os_process_timeout', { method: 'PUT', json: '300' })).status, 200);
      const r = await f.req('/db/_design/l/_list/spin/byN');
      assert.equal(r.status, 200);
      const lines = r.text.split('\n');
      assert.equal(lines.slice(0, 100).join(','), Array.from({ length: 100 }, (_, i) => String(i)).join(','));
      const err = JSON.parse(lines[lines.length - 2]!) as Record<string, unknown>;
      assert.equal(err.code, 500);
      assert.equal(err.error, 'os_process_error');
      assert.equal((await f.req('/db/_design/l/_list/firstThree/byN')).status, 200);
    }));

  test('_list over _all_docs streams too', () =>
    withCouch(async (f) => {
      await setup(f);
      const r = await f.req('/db/_design/l/_list/ids/_all_docs?startkey="d00010"&limit=3');
      assert.equal(r.status, 200);
      assert.equal(r.headers['transfer-encoding'], 'chunked');
      assert.equal(r.text, 'd00010,d00011,d00012');
    }));

  test('a view read that fails mid-list (its database deleted under include_docs) ends with the error chunk, not as a complete output', () =>
    withCouch(async (f) => {
      await createDb(f);
      const big = { views: { v: { map: 'function (doc) { emit(doc.n, null); }' } }, lists: { all: 'function (h, r) { var x, pad = new Array(20001).join("x"); while ((x = getRow())) send(x.doc._id + pad + "\\n"); return "END"; }' } };
      assert.equal((await f.req('/db/_design/l', { method: 'PUT', json: big })).status, 201);
      const docs = Array.from({ length: 1000 }, (_, i) => ({ _id: `d${String(i).padStart(4, '0')}`, n: i }));
      assert.equal((await f.req('/db/_bulk_docs', { method: 'POST', json: { docs } })).status, 201);
      assert.equal((await f.req('/db/_design/l/_view/v?limit=1')).status, 200);
      // A client that does not read: the list waits on the socket with most rows still unread.
      const sock = net.connect(Number(new URL(f.base).port), '127.0.0.1');
      await new Promise((resolve) => sock.once('connect', resolve));
      sock.pause();
      sock.write(`GET /db/_design/l/_list/all/v?include_docs=true HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic(ADMIN.username, ADMIN.password)}\r\n\r\n`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal((await f.req('/db', { method: 'DELETE' })).status, 200);
      const parts: Buffer[] = [];
      sock.on('data', (b: Buffer) => parts.push(b));
      const ended = new Promise((resolve) => sock.once('end', resolve));
      sock.resume();
      await ended;
      sock.destroy();
      const text = Buffer.concat(parts).toString('latin1');
      assert.ok(text.startsWith('HTTP/1.1 200'), text.slice(0, 100));
      assert.ok(text.endsWith('\r\n0\r\n\r\n'), 'a complete chunked response');
      const last = /\n(\{"code":\d+,"error":"[^"]+","reason":[^\n]*\})\n\r\n0\r\n\r\n$/.exec(text);
      assert.ok(last !== null, `ends with the error chunk: ${JSON.stringify(text.slice(-200))}`);
      assert.equal((JSON.parse(last[1]!) as { code: number }).code, 500);
      assert.ok(!text.includes('END'), 'the list did not finish as if every row had been read');
    }));
});
