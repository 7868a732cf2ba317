/**
 * Buffered response bodies are bounded (`maxResponseBytes`): a peer whose `_bulk_get` answer is
 * larger fails the run with BODY_TOO_LARGE, at once (not retried), whether it announced a
 * Content-Length or streamed chunks without one.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { replicate } from '../../src/replicator/replicator.js';
import { DbClient } from '../../src/replicator/http-client.js';

async function startSource(chunked: boolean): Promise<{ url: string; bulkGets: () => number; close(): Promise<void> }> {
  let bulkGets = 0;
  const doc = { _id: 'a', _rev: '1-abc', big: 'x'.repeat(4000), _revisions: { start: 1, ids: ['abc'] } };
  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/') return json(res, 200, { couchdb: 'Welcome', uuid: 'limits', version: '3.3.3' });
      if (path === '/db' || path === '/db/') return json(res, 200, { db_name: 'db', update_seq: 1, instance_start_time: '0' });
      if (path.startsWith('/db/_local/')) return json(res, 404, { error: 'not_found', reason: 'missing' });
      if (path === '/db/_changes') return json(res, 200, { results: [{ seq: 1, id: 'a', changes: [{ rev: '1-abc' }] }], last_seq: 1 });
      if (path === '/db/_revs_diff') return json(res, 200, { a: { missing: ['1-abc'] } });
      if (path === '/db/_bulk_get') {
        bulkGets++;
        const text = JSON.stringify({ results: [{ id: 'a', docs: [{ ok: doc }] }] });
        if (!chunked) return json(res, 200, JSON.parse(text));
        res.writeHead(200, { 'content-type': 'application/json' }); // Transfer-Encoding: chunked
        for (let i = 0; i < text.length; i += 500) res.write(text.slice(i, i + 500));
        return res.end();
      }
      json(res, 404, { error: 'not_found', reason: 'missing' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/db`,
    bulkGets: () => bulkGets,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('replicator > response body limits', () => {
  for (const chunked of [false, true]) {
    test(`a _bulk_get body over maxResponseBytes (${chunked ? 'chunked' : 'Content-Length'}): BODY_TOO_LARGE, not retried`, async () => {
      const source = await startSource(chunked);
      const target = await startSource(false); // only its _revs_diff and _local answers are used
      try {
        await assert.rejects(
          replicate({ source: source.url, target: target.url, nodeUuid: 'n', http: { maxResponseBytes: 2000, backoff: { initialMs: 5, maxMs: 10, retries: 3, jitter: 0 } } }),
          (err: Error & { code?: string; context?: { maxBytes?: number } }) => {
            assert.equal(err.code, 'REPLICATOR_BODY_TOO_LARGE', err.message);
            assert.equal(err.context?.maxBytes, 2000);
            assert.match(err.message, /_bulk_get.*2000 bytes/);
            return true;
          },
        );
        assert.equal(source.bulkGets(), 1);
      } finally {
        await source.close();
        await target.close();
      }
    });
  }

  test('bodies up to the cap are read whole', async () => {
    const source = await startSource(true);
    const client = new DbClient(source.url, { maxResponseBytes: 5000 });
    try {
      const { value } = await client.json({ method: 'POST', path: '_bulk_get', json: { docs: [{ id: 'a' }] } });
      assert.equal((value as { results: { docs: { ok: { big: string } }[] }[] }).results[0]!.docs[0]!.ok.big.length, 4000);
    } finally {
      await client.close();
      await source.close();
    }
  });
});
