/**
 * Update sequences above 2^53 (numbers, as CouchDB 1.x / pouchdb-server send them) are opaque
 * tokens: the checkpoint and the next `since=` carry them digit for digit (jiffy keeps big
 * integers exact; JSON.parse would round 12345678901234567891 to ...7000).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import { replicate } from '../../src/replicator/replicator.js';
import { BigSeq, encodeSince, followChanges, parseChangesBody, parseContinuousLine } from '../../src/replicator/index.js';
import { parseJson, stringifyJson } from '../../src/replicator/json-seq.js';

const BIG = '12345678901234567891';

/** A source database `db` with one document, whose `_changes` speaks in big numeric seqs. */
async function startSource(): Promise<{ url: string; locals: Map<string, string>; sinces: string[]; close(): Promise<void> }> {
  const locals = new Map<string, string>();
  const sinces: string[] = [];
  const doc = { _id: 'a', _rev: '1-abc', v: 1, _revisions: { start: 1, ids: ['abc'] } };
  const raw = (res: import('node:http').ServerResponse, status: number, text: string): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(text);
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const path = u.pathname;
      if (path === '/') return raw(res, 200, '{"couchdb":"Welcome","uuid":"bigseq-peer","version":"1.7.2"}');
      if (path === '/db' || path === '/db/') return raw(res, 200, `{"db_name":"db","update_seq":${BIG},"instance_start_time":"0"}`);
      if (path.startsWith('/db/_local/')) {
        if (req.method === 'PUT') {
          locals.set(path, body);
          return raw(res, 201, `{"ok":true,"id":"${path.slice(4)}","rev":"0-1"}`);
        }
        const saved = locals.get(path);
        return saved === undefined ? raw(res, 404, '{"error":"not_found","reason":"missing"}') : raw(res, 200, saved);
      }
      if (path === '/db/_changes') {
        sinces.push(u.searchParams.get('since') ?? '');
        if (u.searchParams.get('since') === BIG) return raw(res, 200, `{"results":[],"last_seq":${BIG}}`);
        return raw(res, 200, `{"results":[{"seq":${BIG},"id":"a","changes":[{"rev":"1-abc"}]}],"last_seq":${BIG}}`);
      }
      if (path === '/db/_bulk_get') return raw(res, 200, JSON.stringify({ results: [{ id: 'a', docs: [{ ok: doc }] }] }));
      if (path === '/db/_ensure_full_commit') return raw(res, 201, '{"ok":true,"instance_start_time":"0"}');
      raw(res, 404, '{"error":"not_found","reason":"missing"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/db`,
    locals,
    sinces,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let f: TestServer;
let base: string;
before(async () => {
  f = await startTestServer();
  base = `http://${ADMIN.username}:${ADMIN.password}@127.0.0.1:${f.server.ports.http}`;
});
after(async () => {
  await f?.close();
});

describe('replicator > big numeric seqs', () => {
  test('parsing keeps them exact under seq keys, writing puts the same digits back', () => {
    const page = parseChangesBody(`{"results":[{"seq":${BIG},"id":"a","changes":[]}],"last_seq":${BIG}}`);
    assert.ok(page.lastSeq instanceof BigSeq);
    assert.equal(encodeSince(page.lastSeq), BIG);
    assert.equal(encodeSince(page.results[0]!.seq), BIG);
    const line = parseContinuousLine(`{"seq":${BIG},"id":"b","changes":[{"rev":"1-x"}]}`);
    assert.equal(line.kind === 'row' && encodeSince(line.row.seq), BIG);
    assert.equal(stringifyJson(parseJson(`{"source_last_seq":${BIG},"n":1}`)), `{"source_last_seq":${BIG},"n":1}`);
    // a big number inside a string, or outside a seq key, is left as JSON.parse reads it
    assert.deepEqual(parseJson(`{"s":"${BIG}","v":${BIG}}`), { s: BIG, v: Number(BIG) });
  });

  test('checkpoint and since= carry the source seq digit for digit', async () => {
    const source = await startSource();
    try {
      const target = `${base}/bigseq-target`;
      const first = await replicate({ source: source.url, target, createTarget: true, nodeUuid: 'n' });
      assert.equal(first.stats.docs_written, 1);
      assert.equal(encodeSince(first.source_last_seq), BIG);
      const log = [...source.locals.values()];
      assert.equal(log.length, 1);
      assert.match(log[0]!, new RegExp(`"source_last_seq":${BIG}[,}]`));
      assert.match(log[0]!, new RegExp(`"recorded_seq":${BIG}[,}]`));
      const second = await replicate({ source: source.url, target, nodeUuid: 'n' });
      assert.equal(second.no_changes, true);
      assert.deepEqual(source.sinces.slice(-1), [BIG]);
      // the follower resumes from it the same way
      const follower = followChanges(source.url, { since: first.source_last_seq, feed: 'normal', live: false });
      for await (const row of follower) assert.fail(`unexpected row ${row.id}`);
      assert.deepEqual(source.sinces.slice(-1), [BIG]);
    } finally {
      await source.close();
    }
  });
});
