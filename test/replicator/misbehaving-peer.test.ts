/**
 * Replication against a scripted, misbehaving CouchDB peer (a tiny node http server): answers
 * that name documents nobody asked for must fail the batch (never written), and the server that
 * runs the replication keeps answering.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import { call, db, ok } from './helpers/data.js';
import { replicate } from '../../src/replicator/replicator.js';
import { followChanges } from '../../src/replicator/follower.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => boolean;

interface Peer {
  readonly url: string;
  readonly bulkDocs: unknown[];
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** A database `db` with one document `a` 1-abc; `extra` handles requests first. */
async function startPeer(extra: Handler): Promise<Peer> {
  const locals = new Map<string, string>();
  const bulkDocs: unknown[] = [];
  const doc = { _id: 'a', _rev: '1-abc', v: 1, _revisions: { start: 1, ids: ['abc'] } };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (extra(req, body, res)) return;
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/') return send(res, 200, { couchdb: 'Welcome', uuid: 'peer', version: '3.3.3' });
      if (path === '/db' || path === '/db/') return send(res, 200, { db_name: 'db', update_seq: 1, instance_start_time: '0' });
      if (path.startsWith('/db/_local/')) {
        if (req.method === 'PUT') {
          locals.set(path, body);
          return send(res, 201, { ok: true, id: path.slice(4), rev: '0-1' });
        }
        const saved = locals.get(path);
        return saved === undefined ? send(res, 404, { error: 'not_found', reason: 'missing' }) : send(res, 200, JSON.parse(saved));
      }
      if (path === '/db/_changes') return send(res, 200, { results: [{ seq: 1, id: 'a', changes: [{ rev: '1-abc' }] }], last_seq: 1 });
      if (path === '/db/_bulk_get') return send(res, 200, { results: [{ id: 'a', docs: [{ ok: doc }] }] });
      if (path === '/db/_bulk_docs') {
        bulkDocs.push(...((JSON.parse(body) as { docs: unknown[] }).docs));
        return send(res, 201, []);
      }
      if (path === '/db/_ensure_full_commit') return send(res, 201, { ok: true, instance_start_time: '0' });
      send(res, 404, { error: 'not_found', reason: 'missing' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/db`,
    bulkDocs,
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

const FAST = { backoff: { initialMs: 10, maxMs: 20, retries: 1, jitter: 0 } };

describe('a misbehaving peer', () => {
  test('_bulk_get answering another document than the one asked: the run fails, nothing is written', async () => {
    const peer = await startPeer((req, _body, res) => {
      if (!(req.url ?? '').startsWith('/db/_bulk_get')) return false;
      send(res, 200, { results: [{ id: 'a', docs: [{ ok: { _id: 'intruder', _rev: '7-fff', evil: true, _revisions: { start: 7, ids: ['fff'] } } }] }] });
      return true;
    });
    try {
      await ok(db(`${base}/mb-wrongdoc`), 'PUT', '');
      await assert.rejects(
        replicate({ source: peer.url, target: `${base}/mb-wrongdoc`, nodeUuid: 'n', http: FAST }),
        (err: Error) => /not asked for/.test(err.message),
      );
      const all = (await ok(db(`${base}/mb-wrongdoc`), 'GET', '/_all_docs')) as { rows: unknown[] };
      assert.deepEqual(all.rows, []);
      // Through the server's own endpoint: an error answer, and the server keeps serving.
      const res = await call(db(base), 'POST', '/_replicate', { source: peer.url, target: 'mb-wrongdoc' });
      assert.equal(res.status, 500);
      assert.match(JSON.stringify(res.json), /not asked for/);
      assert.deepEqual(((await ok(db(`${base}/mb-wrongdoc`), 'GET', '/_all_docs')) as { rows: unknown[] }).rows, []);
    } finally {
      await peer.close();
    }
  });

  test('_revs_diff naming documents outside a doc_ids replication: they are not read nor sent', async () => {
    const source = db(`${base}/mb-src`);
    await ok(source, 'PUT', '');
    await ok(source, 'PUT', '/a', { v: 1 });
    const secret = (await ok(source, 'PUT', '/secret', { v: 2 })) as { rev: string };
    const peer = await startPeer((req, _body, res) => {
      if (!(req.url ?? '').startsWith('/db/_revs_diff')) return false;
      send(res, 200, { a: { missing: [] }, secret: { missing: [secret.rev] } });
      return true;
    });
    try {
      const res = await replicate({ source: `${base}/mb-src`, target: peer.url, docIds: ['a'], nodeUuid: 'n', http: FAST });
      assert.equal(res.stats.docs_written, 0);
      assert.deepEqual(peer.bulkDocs, []);
    } finally {
      await peer.close();
    }
  });

  test('_revs_diff answering another shape ("missing" a string): the run fails, no checkpoint passes over it', async () => {
    const source = db(`${base}/mb-src2`);
    await ok(source, 'PUT', '');
    const a = (await ok(source, 'PUT', '/a', { v: 1 })) as { rev: string };
    let checkpoints = 0;
    const peer = await startPeer((req, _body, res) => {
      const path = req.url ?? '';
      if (path.startsWith('/db/_local/') && req.method === 'PUT') checkpoints++;
      if (!path.startsWith('/db/_revs_diff')) return false;
      send(res, 200, { a: { missing: a.rev } });
      return true;
    });
    try {
      await assert.rejects(
        replicate({ source: `${base}/mb-src2`, target: peer.url, nodeUuid: 'n', http: FAST }),
        (err: Error & { code?: string }) => err.code === 'REPLICATOR_BAD_RESPONSE' && /_revs_diff/.test(err.message),
      );
      assert.equal(checkpoints, 0);
      assert.deepEqual(peer.bulkDocs, []);
    } finally {
      await peer.close();
    }
  });

  test('a continuous _changes feed that never sends a newline fails as a bad response, memory bounded', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x78);
    const peer = await startPeer((req, _body, res) => {
      if (!(req.url ?? '').startsWith('/db/_changes')) return false;
      res.writeHead(200, { 'content-type': 'application/json' });
      let sent = 0;
      const pump = (): void => {
        while (sent < 200 && !res.destroyed) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return true;
    });
    try {
      const follower = followChanges(peer.url, { feed: 'continuous', live: false, backoff: { initialMs: 10, maxMs: 10, retries: 0, jitter: 0 } });
      await assert.rejects(
        (async () => {
          for await (const row of follower) assert.fail(`no row expected, got ${JSON.stringify(row)}`);
        })(),
        (err: Error & { code?: string }) => err.code === 'REPLICATOR_BAD_RESPONSE' && /longer than/.test(err.message),
      );
    } finally {
      await peer.close();
    }
  });
});
