/**
 * XDCR's CAPI databases on the CouchDB face: how a path names a bucket (and one of its vbuckets),
 * and who may use it.
 *
 * A Couchbase cluster replicating in CAPI mode reads each node's `couchApiBase` from
 * `/pools/default/buckets/NAME` (http://HOST:5984/NAME%2BUUID, topology/cluster-config.ts, as
 * ns_server's capi_utils builds it) and appends `%2f` and the vbucket number (goxdcr
 * base.CouchApiBaseUriDelimiter), so the first path segment decodes to `NAME+UUID/VB`. Older
 * (Erlang) XDCR and the Elasticsearch plugin name `NAME/VB;UUID` (ElasticSearchCAPIBehavior).
 * A segment in one of those forms is a CAPI database unless a CouchDB database of that very name
 * exists (bucket `NAME%2BUUID%2FVB`, couchdb/keyspace.ts): bucket names hold neither '+', '/' nor
 * ';', so the two never collide in practice, and an existing database keeps its meaning.
 *
 * Errors as ns_server's CAPI: an unknown bucket, a bucket uuid that is not this bucket's (it was
 * deleted and re-created), a vbucket out of range is 404 not_found; a vbucket that is not active
 * here is 404 `not_my_vbucket` (menelaus_web_xdcr_target.erl), which makes goxdcr refresh its map.
 * Access is the CouchDB face's (db-access.ts) on the bucket's default collection: reading it for
 * `_revs_diff` and the checkpoint calls, writing it for `_bulk_docs`, so the administrator or a
 * bucket user with data_reader+data_writer (or bucket_full_access) can be XDCR's remote user.
 */
import { CouchError } from '../couch/errors.js';
import type { Bucket } from '../engine/bucket.js';
import { lookupKeyspace } from '../couchdb/keyspace.js';
import { accessUser, requireBucketAccess } from './auth.js';
import { dbRights, requireRead, requireWrite } from './db-access.js';
import type { HttpFace } from './face.js';
import type { RequestCtx } from './request.js';

/** What the CAPI endpoints did, per face, by outcome (capi-checkpoints.ts, capi-docs.ts). */
export interface CapiStats {
  preReplicateOk: number;
  preReplicateMismatch: number;
  commitOk: number;
  commitMismatch: number;
  massChecks: number;
  revsDiffAsked: number;
  revsDiffMissing: number;
  docsWritten: number;
  /** Documents whose stored version won conflict resolution: nothing written, not an error. */
  docsRejected: number;
}

const STATS = new WeakMap<HttpFace, CapiStats>();

export function capiStats(face: HttpFace): CapiStats {
  let s = STATS.get(face);
  if (s === undefined) {
    s = { preReplicateOk: 0, preReplicateMismatch: 0, commitOk: 0, commitMismatch: 0, massChecks: 0, revsDiffAsked: 0, revsDiffMissing: 0, docsWritten: 0, docsRejected: 0 };
    STATS.set(face, s);
  }
  return s;
}

/** A CAPI database name, parsed. */
export interface CapiDbName {
  readonly bucket: string;
  /** The bucket uuid the name carries, if any. */
  readonly uuid?: string;
  /** The vbucket, absent for the bucket-level `NAME+UUID` database. */
  readonly vb?: number;
}

const CAPI_NAME = /^([A-Za-z0-9_.%-]{1,100})(?:\+([0-9a-fA-F]{1,64}))?(?:\/(\d{1,5}))?(?:;([0-9a-fA-F]{1,64}))?$/;

/** `NAME+UUID`, `NAME+UUID/VB`, `NAME/VB`, `NAME/VB;UUID`; undefined for any other name. */
export function parseCapiDbName(segment: string): CapiDbName | undefined {
  const m = CAPI_NAME.exec(segment);
  if (m === null) return undefined;
  const [, bucket, plusUuid, vb, semiUuid] = m;
  if (plusUuid === undefined && vb === undefined) return undefined; // a plain database name
  if (plusUuid !== undefined && semiUuid !== undefined) return undefined;
  const uuid = plusUuid ?? semiUuid;
  return { bucket: bucket!, ...(uuid === undefined ? {} : { uuid: uuid.toLowerCase() }), ...(vb === undefined ? {} : { vb: Number(vb) }) };
}

/** Whether the request's first segment is a CAPI database (see the header), so server.ts routes it to the CAPI table. */
export function isCapiSegment(face: HttpFace, segment: string | undefined): boolean {
  if (segment === undefined || parseCapiDbName(segment) === undefined) return false;
  return lookupKeyspace(face.ctx.engine, segment).kind !== 'ok';
}

export interface CapiTarget {
  readonly bucket: Bucket;
  readonly vb: number | undefined;
}

/** 404 with ns_server's reason. */
export function capiNotFound(reason: string): CouchError {
  return new CouchError('not_found_detail', { params: { detail: reason } });
}

/**
 * The bucket a CAPI request names (by database segment or by body fields), after the access check;
 * 404 when it does not exist or the uuid is another bucket's. `write`: `_bulk_docs`.
 */
export function capiBucket(rc: RequestCtx, name: string, uuid: string | undefined, write: boolean): Bucket {
  const bucket = rc.face.ctx.engine.bucket(name);
  if (bucket === undefined) {
    if (!rc.user?.admin) requireBucketAccess(rc, name);
    throw new CouchError('db_not_found');
  }
  const user = accessUser(rc.user);
  const rights = dbRights(rc.face.access, user, rc.face.db(bucket, 0));
  if (write) requireWrite(rights, user);
  else requireRead(rights, user);
  if (uuid !== undefined && uuid !== bucket.uuid.toLowerCase()) throw capiNotFound('bucket uuid mismatch');
  return bucket;
}

/** A vbucket of `bucket` that is active here: 404 out of range, 404 not_my_vbucket otherwise. */
export function capiVBucket(bucket: Bucket, vb: number): number {
  if (!Number.isInteger(vb) || vb < 0 || vb >= bucket.numVBuckets) throw capiNotFound(`no vbucket ${vb}`);
  if (bucket.vbucketState(vb) !== 'active') throw capiNotFound('not_my_vbucket');
  return vb;
}

/** The request's CAPI database (the `:db` segment). */
export function resolveCapiDb(rc: RequestCtx, write = false): CapiTarget {
  const parsed = parseCapiDbName(rc.params.db ?? '');
  if (parsed === undefined) throw new CouchError('db_not_found');
  const bucket = capiBucket(rc, parsed.bucket, parsed.uuid, write);
  return { bucket, vb: parsed.vb === undefined ? undefined : capiVBucket(bucket, parsed.vb) };
}
