/**
 * Bucket management as Couchbase does it (ns_server menelaus_web_buckets.erl):
 *
 * `POST /pools/default/buckets`, form-encoded:
 * - `name` (required);
 * - `bucketType`: `couchbase` or its old name `membase` (the default); `ephemeral` and
 *   `memcached` are refused, since Freshet has neither;
 * - `numVBuckets`: a Freshet extension (Couchbase accepts it only on developer builds), 1..1024,
 *   default 1024;
 * - `maxTTL`: the bucket's maximum document TTL in seconds, 0 (none, the default) to 2^31-1; a
 *   collection's own maxTTL takes precedence (engine: bucket-core.ts `capExpiry`);
 * - `conflictResolutionType`: how XDCR (with-meta) writes resolve conflicts, `seqno` (revid, the
 *   default) or `lww` (engine/with-meta.ts); fixed for the bucket's life, as in Couchbase;
 * - `durabilityMinLevel`: the least durability every write to the bucket gets (ns_server
 *   `parse_validate_durability_min_level`), `none` (the default), `majority`,
 *   `majorityAndPersistActive` or `persistToMajority`; the persisting levels make every KV write
 *   wait for the disk (engine: bucket.ts `writeMode`);
 * - `flushEnabled`: `1` allows `controller/doFlush` (and lists it in the bucket's `controllers`),
 *   `0` (the default) forbids it;
 * - `ramQuota` / `ramQuotaMB`, `replicaNumber`, `evictionPolicy`, `compressionMode` and
 *   `storageBackend`, which the SDK's bucket manager sends, are validated as ns_server does
 *   (bucket-form.ts) and ignored; other settings are ignored.
 * Success is 202 with `Location: /pools/default/buckets/NAME` (`respond_bucket_created`); a
 * validation failure is 400 `{"errors":{field: message},"summaries":{...}}` with ns_server's
 * messages and RAM/disk summaries (bucket-summary.ts). With `just_validate=1` a valid form
 * creates or changes nothing and is answered `{"errors":{},"summaries":{...}}`, 200 for a create
 * and 202 for an edit (`do_bucket_create`, `handle_bucket_update_inner`), as the console checks
 * a form before sending it.
 *
 * `POST /pools/default/buckets/NAME` edits a bucket (ns_server `handle_bucket_update`): `maxTTL`
 * and `durabilityMinLevel` apply to writes from then on, `flushEnabled` at once; `numVBuckets` and `conflictResolutionType` cannot change; the other settings are validated
 * and ignored as on create. 200 with an empty body; 404 for an unknown bucket.
 *
 * `DELETE /pools/default/buckets/NAME`: 200 with an empty body; 404 when there is no such bucket.
 * The bucket's users lose it (rbac-routes.ts `pruneBucketFromUsers`) before the reply.
 */
import { AUX_NAMESPACES } from '../couchdb/index.js';
import { isEngineError } from '../engine/errors.js';
import { DEFAULT_NUM_VBUCKETS } from '../engine/engine.js';
import type { ConflictResolutionType } from '../engine/bucket-config.js';
import type { DurabilityLevel } from '../engine/types.js';
import { bucketNameError, durabilityReplicasError, parseBucketFields, type BucketField } from './bucket-form.js';
import { pruneBucketFromUsers } from './rbac-routes.js';
import { bucketSummaries, replicaWarnings, type BucketSummaries } from './bucket-summary.js';
import { REPORTED_RAM_QUOTA } from './documents.js';
import { fieldErrors, notFound, readForm, RestError, sendEmpty, sendJson } from './rest-io.js';
import { adminAccess, type RestContext, type RestRoute } from './rest-route.js';

/** bucketType values: what each means here, or why it is refused. */
const BUCKET_TYPES = {
  couchbase: { ok: true },
  membase: { ok: true },
  ephemeral: { ok: false, why: 'Freshet buckets are persistent; ephemeral buckets are not supported' },
  memcached: { ok: false, why: 'memcached buckets are not supported' },
} as const satisfies Record<string, { ok: boolean; why?: string }>;

/** The fields a create takes (bucket-form.ts); the ignored ones are still validated. */
const CREATE_FIELDS = [
  'numVBuckets', 'maxTTL', 'conflictResolutionType', 'durabilityMinLevel', 'flushEnabled',
  'ramQuota', 'replicaNumber', 'evictionPolicy', 'compressionMode', 'storageBackend', 'threadsNumber', 'replicaIndex', 'proxyPort',
] as const satisfies readonly BucketField[];

/** The fields an edit takes; numVBuckets and conflictResolutionType are fixed (editBucket). */
const EDIT_FIELDS = [
  'maxTTL', 'durabilityMinLevel', 'flushEnabled', 'ramQuota', 'replicaNumber', 'evictionPolicy', 'compressionMode', 'storageBackend',
  'threadsNumber', 'proxyPort',
] as const satisfies readonly BucketField[];

interface CreateForm {
  name: string;
  flushEnabled: boolean;
  numVBuckets: number;
  maxTTL: number;
  conflictResolution: ConflictResolutionType;
  durabilityMinLevel: DurabilityLevel;
}

/**
 * A refused form: 400 with the errors and the summaries (menelaus_web_buckets `do_bucket_create`,
 * `handle_bucket_update_inner`); the replica warnings join the errors unless `ignore_warnings=1`
 * (`parse_bucket_params`).
 */
function refused(rc: RestContext, errors: Record<string, string>, summaries: BucketSummaries, warnings: Record<string, string>): RestError {
  const all = rc.query.get('ignore_warnings') === '1' ? errors : { ...errors, ...warnings };
  return new RestError(400, { errors: all, summaries });
}

/**
 * `just_validate=1`: a valid form changes nothing and is answered `{"errors":{},"summaries":..}`
 * (the replica warnings as errors, with 400, unless `ignore_warnings=1`), 200 for a create and
 * 202 for an edit, as ns_server answers them. False when the form is to be applied.
 */
function answeredValidation(rc: RestContext, okStatus: 200 | 202, summaries: BucketSummaries, warnings: Record<string, string>): boolean {
  if (rc.query.get('just_validate') !== '1') return false;
  if (rc.query.get('ignore_warnings') === '1') {
    sendJson(rc.res, 200, { errors: {}, summaries });
  } else {
    sendJson(rc.res, Object.keys(warnings).length === 0 ? okStatus : 400, { errors: warnings, summaries });
  }
  return true;
}

/** ns_bucket `name_conflict`: names differing only in case are the same bucket's. */
function nameTaken(rc: RestContext, name: string): boolean {
  const lower = name.toLowerCase();
  return rc.server.engine.buckets().some((b) => b.name.toLowerCase() === lower);
}

/** Validate the create form; every problem at once, keyed by field, as ns_server reports them. */
function validateCreate(rc: RestContext, form: URLSearchParams): CreateForm | undefined {
  const errors: Record<string, string> = {};
  const name = form.get('name');
  const nameError = bucketNameError(name);
  if (nameError !== undefined) errors.name = nameError;
  else if (nameTaken(rc, name!)) errors.name = 'Bucket with given name already exists';

  const type = form.get('bucketType') ?? 'membase';
  const known = (BUCKET_TYPES as Record<string, { ok: boolean; why?: string }>)[type];
  if (known === undefined) errors.bucketType = 'invalid bucket type';
  else if (!known.ok) errors.bucketType = known.why ?? 'invalid bucket type';

  const f = parseBucketFields(form, CREATE_FIELDS, errors);
  const durabilityError = durabilityReplicasError(f.replicaNumber, f.durabilityMinLevel);
  if (durabilityError !== undefined) errors.durability_min_level = durabilityError;
  const summaries = bucketSummaries(rc, f.ramQuota ?? 0, undefined);
  const warnings = replicaWarnings(rc, f.replicaNumber, undefined);
  if (Object.keys(errors).length > 0) throw refused(rc, errors, summaries, warnings);
  if (answeredValidation(rc, 200, summaries, warnings)) return undefined;
  return {
    name: name!,
    numVBuckets: f.numVBuckets ?? DEFAULT_NUM_VBUCKETS,
    maxTTL: f.maxTTL ?? 0,
    conflictResolution: f.conflictResolutionType ?? 'seqno',
    durabilityMinLevel: f.durabilityMinLevel ?? 'none',
    flushEnabled: f.flushEnabled ?? false,
  };
}

async function createBucket(rc: RestContext): Promise<void> {
  const form = await readForm(rc.req);
  const valid = validateCreate(rc, form);
  if (valid === undefined) return;
  const { name, numVBuckets, maxTTL, conflictResolution, durabilityMinLevel, flushEnabled } = valid;
  try {
    await rc.server.engine.createBucket(name, { numVBuckets, maxTTL, conflictResolution, durabilityMinLevel, flushEnabled });
  } catch (err) {
    // A concurrent create of the same name, or a rule the engine enforces beyond the form's.
    if (isEngineError(err, 'KEY_EEXISTS')) throw fieldErrors({ name: 'Bucket with given name already exists' });
    if (isEngineError(err, 'EINVAL')) throw fieldErrors({ name: err.message });
    throw err;
  }
  rc.server.logger.info({ bucket: name, numVBuckets, maxTTL, conflictResolution, durabilityMinLevel, flushEnabled }, 'bucket created over REST');
  sendEmpty(rc.res, 202, { Location: `/pools/default/buckets/${encodeURIComponent(name)}` });
}

async function editBucket(rc: RestContext): Promise<void> {
  const name = rc.params.bucket ?? '';
  const bucket = rc.server.engine.bucket(name);
  if (bucket === undefined) throw notFound();
  const form = await readForm(rc.req);
  const errors: Record<string, string> = {};
  const { maxTTL, durabilityMinLevel, flushEnabled, ramQuota, replicaNumber } = parseBucketFields(form, EDIT_FIELDS, errors);
  const currentReplicas = rc.topology.bucketInput(bucket).bucket.numReplicas;
  const durabilityError = durabilityReplicasError(replicaNumber ?? currentReplicas, durabilityMinLevel ?? bucket.durabilityMinLevel);
  if (durabilityError !== undefined) errors.durability_min_level = durabilityError;
  const vbs = form.get('numVBuckets');
  if (vbs !== null && vbs.trim() !== String(bucket.numVBuckets)) errors.numVBuckets = 'Number of vBuckets cannot be changed';
  if (form.get('conflictResolutionType') !== null) errors.conflictResolutionType = 'Conflict resolution type not allowed in update bucket';
  const summaries = bucketSummaries(rc, ramQuota ?? REPORTED_RAM_QUOTA / (1024 * 1024), name);
  const warnings = replicaWarnings(rc, replicaNumber, currentReplicas);
  if (Object.keys(errors).length > 0) throw refused(rc, errors, summaries, warnings);
  if (answeredValidation(rc, 202, summaries, warnings)) return;
  try {
    if (maxTTL !== undefined) await rc.server.engine.setBucketMaxTTL(name, maxTTL);
    if (durabilityMinLevel !== undefined) await rc.server.engine.setBucketDurability(name, durabilityMinLevel);
    if (flushEnabled !== undefined) await rc.server.engine.setBucketFlushEnabled(name, flushEnabled);
  } catch (err) {
    // Deleted while the form was read or applied: handle_bucket_update_inner validates again and
    // finds no bucket (basic_bucket_params_screening).
    if (isEngineError(err, 'NO_BUCKET')) throw refused(rc, { name: "Bucket with given name doesn't exist" }, summaries, {});
    throw err;
  }
  rc.server.logger.info({ bucket: name, maxTTL, durabilityMinLevel, flushEnabled }, 'bucket edited over REST');
  sendEmpty(rc.res, 200);
}

/**
 * `POST .../buckets/NAME/controller/doFlush`: with flushEnabled=1, every document of the bucket is
 * deleted (engine/flush.ts) and the answer is 200 with an empty body once they are; otherwise 400
 * `{"_":"Flush is disabled for the bucket"}`, as ns_server answers, which the SDK reports as
 * BucketNotFlushableError.
 */
async function flushBucket(rc: RestContext): Promise<void> {
  const name = rc.params.bucket ?? '';
  const bucket = rc.server.engine.bucket(name);
  if (bucket === undefined) throw notFound();
  if (!bucket.flushEnabled) throw new RestError(400, { _: 'Flush is disabled for the bucket' });
  const result = await rc.server.engine.flushBucket(name);
  rc.server.logger.info({ bucket: name, ...result }, 'bucket flushed over REST');
  sendEmpty(rc.res, 200);
}

/**
 * The compaction controllers (menelaus_web_buckets `handle_compact_bucket`,
 * `handle_compact_databases`, `handle_purge_compact_bucket` and the cancels): ns_server starts a
 * compaction and answers 200 with an empty body. Freshet compacts the bucket's store before
 * answering (engine/compact.ts): tombstones older than the purge age go, and `unsafePurgeBucket`
 * purges every tombstone whatever its age. There are no view files of their own to compact, and
 * nothing is left running to cancel.
 */
function compactRoute(controller: string, purgeAll: boolean): RestRoute {
  return {
    method: 'POST',
    path: `/pools/default/buckets/:bucket/controller/${controller}`,
    access: adminAccess((p) => `cluster.bucket[${p.bucket ?? ''}]!${purgeAll ? 'delete' : 'compact'}`),
    handler: async (rc) => {
      const name = rc.params.bucket ?? '';
      if (rc.server.engine.bucket(name) === undefined) throw notFound();
      const result = await rc.server.engine.compact(name, purgeAll ? 0 : undefined);
      rc.server.logger.info({ bucket: name, controller, purged: result.purged }, 'bucket compacted over REST');
      sendEmpty(rc.res, 200);
    },
  };
}

function cancelCompactionRoute(controller: string): RestRoute {
  return {
    method: 'POST',
    path: `/pools/default/buckets/:bucket/controller/${controller}`,
    access: adminAccess((p) => `cluster.bucket[${p.bucket ?? ''}]!compact`),
    handler: (rc) => {
      if (rc.server.engine.bucket(rc.params.bucket ?? '') === undefined) throw notFound();
      sendEmpty(rc.res, 200);
    },
  };
}

async function deleteBucket(rc: RestContext): Promise<void> {
  const name = rc.params.bucket ?? '';
  if (rc.server.engine.bucket(name) === undefined) throw notFound();
  try {
    await rc.server.engine.deleteBucket(name, AUX_NAMESPACES);
  } catch (err) {
    if (isEngineError(err, 'NO_BUCKET')) throw notFound('The bucket to be deleted was not found.\r\n');
    throw err;
  }
  // As ns_server's cleanup_bucket_roles: a later bucket of the same name must not inherit users.
  await pruneBucketFromUsers(rc.server.users, name);
  rc.server.logger.info({ bucket: name }, 'bucket deleted over REST');
  sendEmpty(rc.res, 200);
}

export const BUCKET_ROUTES: readonly RestRoute[] = [
  { method: 'POST', path: '/pools/default/buckets', access: adminAccess('cluster.buckets!create'), handler: createBucket },
  {
    method: 'POST',
    path: '/pools/default/buckets/:bucket',
    access: adminAccess((p) => `cluster.bucket[${p.bucket ?? ''}].settings!write`),
    handler: editBucket,
  },
  {
    method: 'POST',
    path: '/pools/default/buckets/:bucket/controller/doFlush',
    // {[{bucket, Id}], flush}, which bucket_full_access grants (menelaus_roles) as well as the admin.
    access: { kind: 'bucket', need: 'full', permission: (bucket) => `cluster.bucket[${bucket}]!flush` },
    handler: flushBucket,
  },
  compactRoute('compactBucket', false),
  compactRoute('compactDatabases', false),
  compactRoute('unsafePurgeBucket', true),
  cancelCompactionRoute('cancelBucketCompaction'),
  cancelCompactionRoute('cancelDatabasesCompaction'),
  {
    method: 'DELETE',
    path: '/pools/default/buckets/:bucket',
    access: adminAccess((p) => `cluster.bucket[${p.bucket ?? ''}]!delete`),
    handler: deleteBucket,
  },
];
