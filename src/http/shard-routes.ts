/**
 * A database's shards as CouchDB 2+ reports them (mem3_httpd): `GET /{db}/_shards`,
 * `GET /{db}/_shards/{docid}` and `POST /{db}/_sync_shards`.
 *
 * A Freshet database's shards are its bucket's vbuckets (`cluster.q` in `GET /{db}` is their
 * number): vbucket i is the i-th of q key ranges, split as mem3_util make_key_ranges splits the
 * 32-bit ring (q ranges of 2^32 div q, the last one running to ffffffff), each held by this one
 * node. A document's range is the one of the vbucket its id hashes to (Couchbase's CRC32 hash,
 * engine/vbucket-hash.ts), not of mem3's own hash: it names where the document really is. With
 * one copy of each shard there is nothing for `_sync_shards` to synchronise; it answers as
 * CouchDB does once it has pushed them (202 `{"ok":true}`).
 */
import { requireAdmin } from './auth.js';
import { resolveDb } from './keyspace.js';
import { NODE } from './node-name.js';
import type { Handler } from './request.js';
import { sendJson } from './response.js';
import type { RouteTable } from '../web/route-table.js';

const RING = 2 ** 32;

/** Range `i` of `q`, as mem3_httpd json_shards writes it: `00000000-3fffffff`. */
export function shardRange(i: number, q: number): string {
  const size = Math.floor(RING / q);
  const begin = i * size;
  const end = i === q - 1 ? RING - 1 : begin + size - 1;
  const hex = (n: number): string => n.toString(16).padStart(8, '0');
  return `${hex(begin)}-${hex(end)}`;
}

const shards: Handler = async (rc) => {
  const db = resolveDb(rc);
  const q = db.bucket.numVBuckets;
  const out: Record<string, string[]> = {};
  for (let i = 0; i < q; i++) out[shardRange(i, q)] = [NODE];
  sendJson(rc.res, 200, { shards: out });
};

const docShard: Handler = async (rc) => {
  const db = resolveDb(rc);
  const vb = db.bucket.vbucketOf(Buffer.from(rc.params.docid ?? '', 'utf8'));
  sendJson(rc.res, 200, { range: shardRange(vb, db.bucket.numVBuckets), nodes: [NODE] });
};

const syncShards: Handler = async (rc) => {
  requireAdmin(rc);
  resolveDb(rc);
  sendJson(rc.res, 202, { ok: true });
};

export function shardRoutes(routes: RouteTable<Handler>): void {
  routes
    .add('/:db/_shards', { GET: shards })
    .add('/:db/_shards/*docid', { GET: docShard })
    .add('/:db/_sync_shards', { POST: syncShards });
}
