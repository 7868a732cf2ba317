/**
 * Freshet extensions: operator actions on vbuckets, for tests of consumers (DCP rollback, routing
 * after a state change). Couchbase does these through ns_server's orchestration (rebalance,
 * failover, compaction); a single Freshet node exposes the engine's operations directly.
 * Administrator only. Forms are application/x-www-form-urlencoded; replies are JSON.
 *
 * - `GET  /freshet/buckets/NAME/vbuckets/VB`
 *     -> vbucket info: `{id, state, highSeqno, persistedSeqno, uuid, failoverLog:[{uuid, seqno}]
 *        (newest first), purgeSeqno}`.
 * - `POST /freshet/buckets/NAME/vbuckets/VB/state`, form `state=active|replica|pending|dead`
 *     -> the new vbucket info. Becoming active starts a failover-log branch; leaving active ends
 *        the vbucket's DCP streams. The cluster map changes (rev + 1): the vbucket's row becomes
 *        [-1] unless active, and streaming configs push the new map.
 * - `POST /freshet/buckets/NAME/vbuckets/VB/failover`, form optional `discardAbove=N`
 *     -> the new vbucket info. Simulates a failover: items above N are discarded, then a new
 *        failover-log entry starts at the high seqno; open streams end (with rollback when items
 *        were discarded).
 * - `POST /freshet/buckets/NAME/compact`, form optional `purgeAgeSeconds=N` (default: the
 *   server's, 3 days) -> `{purged, expired, purgeSeqnos:{vb: seqno}}`. Purges tombstones older
 *   than N seconds and raises purge seqnos.
 * Errors: 404 for an unknown bucket, 400 `{"errors":{field: message}}` for a bad vbucket or form.
 */
import type { Bucket } from '../engine/bucket.js';
import { VBUCKET_STATES, type VBucketState } from '../engine/types.js';
import { fieldErrors, intParam, notFound, readForm, sendJson } from './rest-io.js';
import { adminAccess, type RestContext, type RestRoute } from './rest-route.js';

const ADMIN_WRITE = adminAccess('cluster.admin.freshet!write');
const ADMIN_READ = adminAccess('cluster.admin.freshet!read');

function bucketOf(rc: RestContext): Bucket {
  const bucket = rc.server.engine.bucket(rc.params.bucket ?? '');
  if (bucket === undefined) throw notFound();
  return bucket;
}

function vbucketOf(rc: RestContext, bucket: Bucket): number {
  const raw = rc.params.vb ?? '';
  const vb = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(vb) || vb >= bucket.numVBuckets) {
    throw fieldErrors({ vbucket: `vbucket must be an integer from 0 to ${bucket.numVBuckets - 1}` });
  }
  return vb;
}

function getVBucket(rc: RestContext): void {
  const bucket = bucketOf(rc);
  sendJson(rc.res, 200, bucket.vbucketInfo(vbucketOf(rc, bucket)));
}

async function setState(rc: RestContext): Promise<void> {
  const bucket = bucketOf(rc);
  const vb = vbucketOf(rc, bucket);
  const state = (await readForm(rc.req)).get('state');
  if (state === null || !(VBUCKET_STATES as readonly string[]).includes(state)) {
    throw fieldErrors({ state: `state must be one of ${VBUCKET_STATES.join(', ')}` });
  }
  const info = await rc.server.engine.setVBucketState(bucket.name, vb, state as VBucketState);
  rc.server.logger.info({ bucket: bucket.name, vb, state }, 'vbucket state set over REST');
  sendJson(rc.res, 200, info);
}

async function failover(rc: RestContext): Promise<void> {
  const bucket = bucketOf(rc);
  const vb = vbucketOf(rc, bucket);
  const discardAbove = intParam(await readForm(rc.req), 'discardAbove', 0, Number.MAX_SAFE_INTEGER);
  const info = await rc.server.engine.failover(bucket.name, vb, discardAbove === undefined ? {} : { discardAbove });
  rc.server.logger.info({ bucket: bucket.name, vb, discardAbove }, 'simulated failover over REST');
  sendJson(rc.res, 200, info);
}

async function compact(rc: RestContext): Promise<void> {
  const bucket = bucketOf(rc);
  const purgeAge = intParam(await readForm(rc.req), 'purgeAgeSeconds', 0, Number.MAX_SAFE_INTEGER);
  const result = await rc.server.engine.compact(bucket.name, purgeAge);
  sendJson(rc.res, 200, result);
}

export const ADMIN_ROUTES: readonly RestRoute[] = [
  { method: 'GET', path: '/freshet/buckets/:bucket/vbuckets/:vb', access: ADMIN_READ, handler: getVBucket },
  { method: 'POST', path: '/freshet/buckets/:bucket/vbuckets/:vb/state', access: ADMIN_WRITE, handler: setState },
  { method: 'POST', path: '/freshet/buckets/:bucket/vbuckets/:vb/failover', access: ADMIN_WRITE, handler: failover },
  { method: 'POST', path: '/freshet/buckets/:bucket/compact', access: ADMIN_WRITE, handler: compact },
];
