/**
 * In-process PouchDB databases (memory adapter) for replication tests:
 * - `PouchPeer`: a `Peer` over PouchDB's JavaScript API, no HTTP: proof that the replicator works
 *   with any peer implementation (as a local Freshet database will be);
 * - `servePouch`: a PouchDB memory database behind express-pouchdb on a free port, as an HTTP peer
 *   for `_replicate`.
 */
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import { ReplicationError } from '../../../src/replicator/errors.js';
import { toFetched } from '../../../src/replicator/doc-fetch.js';
import type {
  ChangesSource, EndpointIdentity, FetchedDoc, FetchRequest, FetchResult, Peer, PeerChangesOptions, PeerInfo, RevsDiffResult, WriteFailure,
} from '../../../src/replicator/peer.js';
import type { ChangesBatch } from '../../../src/replicator/follower.js';
import type { ChangeRow } from '../../../src/replicator/changes-parse.js';

// PouchDB's own typings (@types/pouchdb-core) pull in the DOM lib for the whole program, which
// breaks Node's Buffer types elsewhere; the few calls used here are typed locally instead.
type Json = Record<string, unknown>;
export interface PouchDatabase {
  name: string;
  info(): Promise<{ db_name: string; update_seq: number | string; doc_count: number }>;
  changes(opts: Json): Promise<{ results: Array<{ id: string; seq: number | string; changes: Array<{ rev: string }>; deleted?: boolean }>; last_seq: number | string }>;
  revsDiff(revs: Record<string, string[]>): Promise<Record<string, RevsDiffResult>>;
  bulkGet(opts: Json): Promise<{ results: Array<{ id: string; docs: Array<{ ok?: Json; error?: unknown }> }> }>;
  bulkDocs(docs: unknown[], opts: Json): Promise<Array<{ id?: string; error?: unknown; name?: string; message?: string }>>;
  get(id: string, opts?: Json): Promise<Json>;
  put(doc: Json): Promise<{ rev: string }>;
  destroy(): Promise<void>;
  replicate: { from(url: string): Promise<{ docs_written: number }> };
}
export interface PouchConstructor {
  new (name: string, opts?: Json): PouchDatabase;
  plugin(plugin: unknown): PouchConstructor;
  defaults(opts: Json): PouchConstructor;
  replicate(source: PouchDatabase, target: PouchDatabase, opts?: Json): Promise<{ docs_written: number }>;
}

const require = createRequire(import.meta.url);
export const PouchDB = require('pouchdb') as PouchConstructor;
const MemoryPouch = PouchDB.plugin(require('pouchdb-adapter-memory')).defaults({ adapter: 'memory' });

export function memoryDb(name: string): PouchDatabase {
  return new MemoryPouch(name);
}

function status(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : undefined;
}

export class PouchPeer implements Peer {
  readonly label: string;
  readonly endpoint: EndpointIdentity;

  constructor(readonly db: PouchDatabase) {
    this.label = `pouchdb-memory:${db.name}`;
    this.endpoint = { user: undefined, host: 'pouchdb-memory', port: 'default', path: `/${db.name}/`, headers: [] };
  }

  async info(): Promise<PeerInfo> {
    const i = await this.db.info();
    return { dbName: i.db_name, updateSeq: i.update_seq, instanceStartTime: '0', docCount: i.doc_count };
  }

  async create(): Promise<boolean> {
    return false;
  }

  changes(opts: PeerChangesOptions): ChangesSource {
    if (opts.live) throw new Error('PouchPeer test helper: one-shot feeds only');
    const db = this.db;
    let since = opts.since;
    let closed = false;
    async function* pages(): AsyncGenerator<ChangesBatch> {
      while (!closed) {
        const res = await db.changes({
          since,
          limit: opts.batchSize,
          style: opts.style,
          ...(opts.filter?.docIds ? { doc_ids: [...opts.filter.docIds] } : {}),
          ...(opts.filter?.selector ? { selector: opts.filter.selector } : {}),
        });
        const results: ChangeRow[] = res.results.map((r) => ({ seq: r.seq, id: r.id, changes: r.changes, ...(r.deleted ? { deleted: true } : {}) }));
        since = res.last_seq;
        const caughtUp = results.length < opts.batchSize;
        yield { results, lastSeq: res.last_seq, caughtUp };
        if (caughtUp) return;
      }
    }
    return { [Symbol.asyncIterator]: pages, close: async () => void (closed = true) };
  }

  async revsDiff(revs: Record<string, string[]>): Promise<Record<string, RevsDiffResult>> {
    return this.db.revsDiff(revs);
  }

  async fetch(reqs: readonly FetchRequest[]): Promise<FetchResult[]> {
    const res = await this.db.bulkGet({
      docs: reqs.map((r) => ({ id: r.id, rev: r.rev, atts_since: r.attsSince })),
      revs: true,
      latest: true,
      attachments: true,
    });
    const out: FetchResult[] = [];
    res.results.forEach((entry, i) => {
      const req = reqs[i]!;
      for (const d of entry.docs) {
        if (d.ok) out.push({ ok: toFetched(d.ok, new Map()) });
        else out.push({ missing: { id: req.id, rev: req.rev } });
      }
    });
    return out;
  }

  async write(docs: readonly FetchedDoc[]): Promise<WriteFailure[]> {
    const bodies = docs.map((d) => {
      const atts = { ...(d.doc._attachments as Record<string, Record<string, unknown>> | undefined) };
      for (const a of d.attachments) {
        const { follows: _f, length: _l, ...meta } = atts[a.name] ?? {};
        atts[a.name] = { ...meta, content_type: a.contentType, data: a.data.toString('base64') };
      }
      return d.doc._attachments ? { ...d.doc, _attachments: atts } : d.doc;
    });
    const res = await this.db.bulkDocs(bodies, { new_edits: false });
    return res.flatMap((r) =>
      'error' in r && r.error ? [{ id: r.id ?? '', error: String(r.name ?? 'error'), reason: String(r.message ?? '') }] : [],
    );
  }

  async getLocal(id: string): Promise<Record<string, unknown> | null> {
    try {
      return await this.db.get(id);
    } catch (err) {
      if (status(err) === 404) return null;
      throw err;
    }
  }

  async putLocal(id: string, body: Record<string, unknown>): Promise<string> {
    try {
      return (await this.db.put({ ...body, _id: id })).rev;
    } catch (err) {
      const s = status(err);
      if (s === 409) throw new ReplicationError('HTTP', 'conflict', { status: 409, error: 'conflict' });
      throw err;
    }
  }

  async ensureFullCommit(): Promise<string> {
    return '0';
  }

  async close(): Promise<void> {}
}

/** A PouchDB memory database behind express-pouchdb: `{ url, close }`. */
export async function servePouch(): Promise<{ base: string; close(): Promise<void> }> {
  const express = require('express') as () => { use(path: string, h: unknown): void; listen(port: number, host: string, cb: () => void): Server };
  const expressPouch = require('express-pouchdb') as (p: unknown, opts: Record<string, unknown>) => unknown;
  const app = express();
  app.use('/', expressPouch(MemoryPouch, { mode: 'minimumForPouchDB', inMemoryConfig: true, logPath: '/dev/null' }));
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
