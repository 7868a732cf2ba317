/**
 * XDCR's checkpoint calls on a CAPI target, at the root of the face as goxdcr posts them (it keeps
 * only the host of `couchApiBase` for these, service_impl/capi_service.go):
 * - `POST /_pre_replicate` {bucket, bucketUUID, vb, commitopaque?, vbopaque?}: 200 {vbopaque}
 *   when the opaques given still hold, 400 {vbopaque} with the current one otherwise
 *   (ns_server menelaus_web_xdcr_target.erl `do_handle_pre_replicate`);
 * - `POST /_commit_for_checkpoint` {bucket, bucketUUID, vb, vbopaque}: waits until every write so
 *   far is on disk (ns_server's checkpoint commit), then 200 {vbopaque, commitopaque:[uuid, seqno]},
 *   or 400 {vbopaque} when the vbopaque is not the current uuid (a failover happened);
 * - `POST /_mass_vbopaque_check` {bucket, bucketUUID, vbopaques:[[vb, opaque]...]}:
 *   {matched, mismatched, missing}, each a list of [vb, uuid] pairs (goxdcr `getVBLists` reads
 *   the pairs' first element); `missing` names vbuckets not active here.
 * The vbopaque is the vbucket's current failover uuid (xdcr/vbopaque.ts), so a failover makes
 * the source's checkpoints for that vbucket invalid, as on Couchbase.
 */
import { CouchError } from '../couch/errors.js';
import type { Bucket } from '../engine/bucket.js';
import { commitOpaqueValid, opaqueUuid } from '../xdcr/vbopaque.js';
import { capiBucket, capiStats, capiVBucket } from './capi-db.js';
import { readJsonObject, type Handler, type RequestCtx } from './request.js';
import { sendJson } from './response.js';
import type { RouteTable } from '../web/route-table.js';

function bad(reason: string): CouchError {
  return new CouchError('bad_request', { reason });
}

interface CheckpointBody {
  readonly body: Record<string, unknown>;
  readonly bucket: Bucket;
}

/** The body's bucket, after access and uuid checks (capi-db.ts). */
async function checkpointBody(rc: RequestCtx): Promise<CheckpointBody> {
  const body = await readJsonObject(rc, { requireType: false });
  if (typeof body.bucket !== 'string' || body.bucket === '') throw bad('`bucket` must be a bucket name');
  const uuid = body.bucketUUID;
  if (uuid !== undefined && typeof uuid !== 'string') throw bad('`bucketUUID` must be a string');
  // An empty uuid (or goxdcr's placeholder "0") does not pin the bucket.
  const pinned = typeof uuid === 'string' && uuid !== '' && uuid !== '0' ? uuid.toLowerCase() : undefined;
  return { body, bucket: capiBucket(rc, body.bucket, pinned, false) };
}

function vbOf(body: Record<string, unknown>, bucket: Bucket): number {
  const vb = body.vb;
  if (typeof vb !== 'number' || !Number.isInteger(vb)) throw bad('`vb` must be an integer');
  return capiVBucket(bucket, vb);
}

const preReplicate: Handler = async (rc) => {
  const { body, bucket } = await checkpointBody(rc);
  const info = bucket.vbucketInfo(vbOf(body, bucket));
  let ok = true;
  if (body.commitopaque !== undefined && body.commitopaque !== null) {
    const valid = commitOpaqueValid(info.failoverLog, body.commitopaque);
    if (valid === undefined) throw bad('`commitopaque` must be [vbuuid, seqno] or a vbuuid');
    ok = valid;
  }
  if (ok && body.vbopaque !== undefined && body.vbopaque !== null) {
    const uuid = opaqueUuid(body.vbopaque);
    if (uuid === undefined) throw bad('`vbopaque` must be a vbuuid');
    ok = uuid === info.uuid;
  }
  if (ok) capiStats(rc.face).preReplicateOk++;
  else capiStats(rc.face).preReplicateMismatch++;
  sendJson(rc.res, ok ? 200 : 400, { vbopaque: info.uuid });
};

const commitForCheckpoint: Handler = async (rc) => {
  const { body, bucket } = await checkpointBody(rc);
  const vb = vbOf(body, bucket);
  const given = opaqueUuid(body.vbopaque);
  if (given === undefined) throw bad('`vbopaque` must be a vbuuid');
  // The commit: what the source sent so far is on disk before it records the checkpoint.
  await bucket.quiesce();
  const info = bucket.vbucketInfo(vb);
  if (given !== info.uuid) {
    capiStats(rc.face).commitMismatch++;
    sendJson(rc.res, 400, { vbopaque: info.uuid });
    return;
  }
  capiStats(rc.face).commitOk++;
  sendJson(rc.res, 200, { vbopaque: info.uuid, commitopaque: [info.uuid, info.persistedSeqno] });
};

const massVbopaqueCheck: Handler = async (rc) => {
  const { body, bucket } = await checkpointBody(rc);
  if (!Array.isArray(body.vbopaques)) throw bad('`vbopaques` must be a list of [vb, vbopaque] pairs');
  const matched: [number, number][] = [];
  const mismatched: [number, number][] = [];
  const missing: [number, unknown][] = [];
  for (const pair of body.vbopaques as unknown[]) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'number' || !Number.isInteger(pair[0])) {
      throw bad('`vbopaques` must be a list of [vb, vbopaque] pairs');
    }
    const [vb, opaque] = pair as [number, unknown];
    const uuid = opaqueUuid(opaque);
    if (uuid === undefined) throw bad(`the vbopaque of vbucket ${vb} is not a vbuuid`);
    if (vb < 0 || vb >= bucket.numVBuckets || bucket.vbucketState(vb) !== 'active') {
      missing.push([vb, opaque]);
      continue;
    }
    const current = bucket.vbucketInfo(vb).uuid;
    if (current === uuid) matched.push([vb, current]);
    else mismatched.push([vb, current]);
  }
  capiStats(rc.face).massChecks++;
  sendJson(rc.res, 200, { matched, mismatched, missing });
};

/** The root specials, on the CouchDB face's table (no CouchDB database name starts with '_'). */
export function capiCheckpointRoutes(routes: RouteTable<Handler>): void {
  routes
    .add('/_pre_replicate', { POST: preReplicate })
    .add('/_commit_for_checkpoint', { POST: commitForCheckpoint })
    .add('/_mass_vbopaque_check', { POST: massVbopaqueCheck });
}

