/**
 * XDCR's data calls on a CAPI vbucket database (`NAME+UUID/VB`, capi-db.ts), as goxdcr's CAPI
 * nozzle sends them (parts/capi_nozzle.go) and ns_server's capi_replication.erl answers them:
 * - `GET|HEAD /{db}`: the database's info (its vbucket's high seqno as `update_seq`);
 * - `POST /{db}/_revs_diff` {id: "<revSeqno>-<hex CAS|expiry|flags>"} (one string per id, not
 *   CouchDB's list; a one-element list is taken too): {id: {missing: rev}} for each id whose
 *   version here would lose conflict resolution against the one offered (or that is absent
 *   here); ids left out are not sent (`batchGetMeta`);
 * - `POST /{db}/_bulk_docs` {new_edits:false, docs:[{meta:{id, rev, expiration, flags, deleted?,
 *   att_reason?}, base64:"..."} | {meta, json:{...}}]}: each document is written with its own
 *   CAS, rev seqno, flags and expiry through the engine's with-meta write, whose conflict
 *   resolution decides (a losing version changes nothing and is not an error, as in
 *   capi_replication.erl `do_update_replicated_doc_loop`); 201 [{id, rev}] for every document
 *   (goxdcr only checks the status, from the first 300 bytes of the reply);
 * - `POST /{db}/_ensure_full_commit`: 201 {ok:true, instance_start_time}, once on disk.
 * Writes land in the key's own vbucket of the default collection (the source hashes keys the
 * same way when the vbucket counts match); a failure that a retry can cure (a full disk, a
 * vbucket leaving) fails the whole request so goxdcr resends the batch, which is idempotent since
 * an identical version loses conflict resolution to itself.
 */
import { CouchError } from '../couch/errors.js';
import type { Bucket } from '../engine/bucket.js';
import { isEngineError } from '../engine/errors.js';
import { compareMeta, FORCE_ACCEPT_WITH_META_OPS, itemConflictMeta } from '../engine/with-meta.js';
import type { Item } from '../engine/types.js';
import { toCouchError } from '../couchdb/errors.js';
import { parseXdcrRev, type XdcrMeta } from '../xdcr/rev.js';
import { capiStats, resolveCapiDb } from './capi-db.js';
import { isObject, readJsonObject, type Handler } from './request.js';
import { sendJson } from './response.js';
import { RouteTable } from '../web/route-table.js';

function bad(reason: string): CouchError {
  return new CouchError('bad_request', { reason });
}

/** The current version of `id` (tombstones included, expired documents as their tombstone), or undefined. */
function currentVersion(bucket: Bucket, id: string): Item | undefined {
  try {
    return bucket.getMeta(id);
  } catch (err) {
    if (isEngineError(err, 'KEY_ENOENT')) return undefined;
    if (isEngineError(err, 'NOT_MY_VBUCKET')) throw new CouchError('not_found_detail', { params: { detail: 'not_my_vbucket' } });
    throw err;
  }
}

const dbInfo: Handler = async (rc) => {
  const { bucket, vb } = resolveCapiDb(rc);
  const updateSeq = vb === undefined ? bucket.bucketSeq : bucket.vbucketInfo(vb).highSeqno;
  sendJson(rc.res, 200, { db_name: rc.params.db, update_seq: updateSeq, purge_seq: 0, instance_start_time: '0', disk_format_version: 8 });
};

const revsDiff: Handler = async (rc) => {
  const { bucket } = resolveCapiDb(rc);
  const body = await readJsonObject(rc, { requireType: false });
  const out: Record<string, { missing: string }> = {};
  const stats = capiStats(rc.face);
  for (const [id, offered] of Object.entries(body)) {
    const rev = Array.isArray(offered) && offered.length === 1 ? offered[0] : offered;
    const remote = parseXdcrRev(rev);
    if (remote === undefined) throw bad(`the revision of ${JSON.stringify(id)} is not an XDCR revision (revSeqno-hex)`);
    stats.revsDiffAsked++;
    const current = currentVersion(bucket, id);
    // Deletedness of the offered version is unknown here, so only the metadata decides (capi_replication.erl is_missing_rev).
    if (current === undefined || compareMeta(itemConflictMeta(current), { ...remote, xattr: false }, bucket.conflictResolution) === 'remote') {
      stats.revsDiffMissing++;
      out[id] = { missing: rev as string };
    }
  }
  sendJson(rc.res, 200, out);
};

interface CapiDoc {
  readonly id: string;
  readonly rev: string;
  readonly meta: XdcrMeta;
  readonly deleted: boolean;
  readonly value: Buffer;
}

function u32(value: unknown, name: string, id: string, dflt: number): number {
  if (value === undefined) return dflt;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) throw bad(`meta.${name} of ${JSON.stringify(id)} must be an unsigned 32-bit integer`);
  return value;
}

/** One `_bulk_docs` entry; every entry is checked before any is written (400 for the request). */
function parseCapiDoc(raw: unknown): CapiDoc {
  if (!isObject(raw) || !isObject(raw.meta)) throw bad('each document must carry a `meta` object');
  const m = raw.meta;
  if (typeof m.id !== 'string' || m.id === '') throw bad('meta.id must be a non-empty string');
  const id = m.id;
  const parsed = parseXdcrRev(m.rev);
  if (parsed === undefined) throw bad(`meta.rev of ${JSON.stringify(id)} is not an XDCR revision (revSeqno-hex)`);
  if (m.deleted !== undefined && typeof m.deleted !== 'boolean') throw bad(`meta.deleted of ${JSON.stringify(id)} must be a boolean`);
  const meta: XdcrMeta = { ...parsed, expiry: u32(m.expiration, 'expiration', id, parsed.expiry), flags: u32(m.flags, 'flags', id, parsed.flags) };
  let value: Buffer;
  if (typeof raw.base64 === 'string') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw.base64)) throw bad(`the base64 body of ${JSON.stringify(id)} is not base64`);
    value = Buffer.from(raw.base64, 'base64');
  } else if (raw.base64 === undefined || raw.base64 === null) {
    value = raw.json === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(raw.json));
  } else {
    throw bad(`the base64 body of ${JSON.stringify(id)} must be a string`);
  }
  return { id, rev: m.rev as string, meta, deleted: m.deleted === true, value };
}

interface Row {
  id: string;
  rev?: string;
  error?: string;
  reason?: string;
}

const bulkDocs: Handler = async (rc) => {
  const { bucket } = resolveCapiDb(rc, true);
  const body = await readJsonObject(rc, { requireType: false });
  if (!Array.isArray(body.docs)) throw new CouchError('bulk_docs_not_array');
  if (body.new_edits !== false) throw bad('a CAPI database takes replicated documents only (`new_edits: false`)');
  const docs = (body.docs as unknown[]).map(parseCapiDoc);
  const stats = capiStats(rc.face);
  // Conflict resolution is on: lww buckets require FORCE_ACCEPT with it, revid ones refuse it (with-meta.ts).
  const options = bucket.conflictResolution === 'lww' ? FORCE_ACCEPT_WITH_META_OPS : 0;
  const pending = docs.map(async (doc): Promise<Row> => {
    // `_local/` documents were Erlang XDCR's checkpoints; ns_server ignores them here.
    if (doc.id.startsWith('_local/')) return { id: doc.id, rev: doc.rev };
    try {
      await bucket.writeWithMeta(doc.id, { ...doc.meta, deleted: doc.deleted }, doc.value, { options, mode: doc.deleted ? 'delete' : 'set' });
      stats.docsWritten++;
      return { id: doc.id, rev: doc.rev };
    } catch (err) {
      if (isEngineError(err, 'KEY_EEXISTS')) {
        stats.docsRejected++;
        return { id: doc.id, rev: doc.rev };
      }
      // This document can never be stored (bad metadata, too large): its row says so.
      if (isEngineError(err, 'EINVAL') || isEngineError(err, 'E2BIG') || isEngineError(err, 'KEY_ENOENT')) {
        const couch = toCouchError(err);
        return { id: doc.id, error: couch.error, reason: couch.reason };
      }
      throw err;
    }
  });
  const settled = await Promise.allSettled(pending);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  sendJson(rc.res, 201, settled.map((s) => (s as PromiseFulfilledResult<Row>).value));
};

const ensureFullCommit: Handler = async (rc) => {
  const { bucket } = resolveCapiDb(rc);
  await bucket.quiesce();
  sendJson(rc.res, 201, { ok: true, instance_start_time: '0' });
};

/** The CAPI database routes; server.ts uses this table for a CAPI database segment. */
export function capiRoutes(): RouteTable<Handler> {
  return new RouteTable<Handler>()
    .add('/:db', { GET: dbInfo })
    .add('/:db/_revs_diff', { POST: revsDiff })
    .add('/:db/_bulk_docs', { POST: bulkDocs })
    .add('/:db/_ensure_full_commit', { POST: ensureFullCommit });
}

