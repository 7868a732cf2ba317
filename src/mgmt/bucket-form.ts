/**
 * The bucket create/edit form's fields, one rule each, as ns_server's menelaus_web_buckets.erl
 * validates them (`parse_validate_*`, `validate_bucket_name`, `quota_size_error`): the form
 * parameter(s), the key ns_server reports a problem under (not always the parameter's name:
 * `durability_min_level`, `storage_mode`), and the parse, with ns_server's messages. Every
 * problem is reported at once, as `{"errors":{key: message}}` with 400 (bucket-routes.ts).
 *
 * Freshet acts on `numVBuckets`, `maxTTL`, `conflictResolutionType`, `durabilityMinLevel` and
 * `flushEnabled`. `ramQuota`/`ramQuotaMB`, `replicaNumber`, `evictionPolicy`, `compressionMode`,
 * `storageBackend`, `threadsNumber`, `replicaIndex` and `proxyPort` mean nothing to it (one node, no replicas, no RAM quota, one storage
 * engine), but a value ns_server would refuse is refused, so a script that works here works there.
 * A field left out is not required, unlike ns_server's `ramQuota` and `replicaNumber` on create.
 */
import { CONFLICT_RESOLUTION_TYPES, type ConflictResolutionType } from '../engine/bucket-config.js';
import { DURABILITY_LEVELS, type DurabilityLevel } from '../engine/types.js';
import { BUCKET_NAME } from '../topology/cluster-config.js';

export const MAX_NUM_VBUCKETS = 1024;
const MAX_TTL = 0x7fffffff;
/** ns_server `membase_min_ram_quota`, in MiB. */
const MIN_RAM_QUOTA_MB = 100;
/** ns_server `?MAX_NUM_REPLICAS`. */
const MAX_REPLICAS = 3;
/** ns_server `?MIN_NUM_WORKER_THREADS`, `?MAX_NUM_WORKER_THREADS`. */
const MIN_THREADS = 2;
const MAX_THREADS = 8;
/** ns_server `?MAX_BUCKET_NAME_LEN`. */
const MAX_BUCKET_NAME_LEN = 100;

/** A value the rule refuses, with ns_server's message. */
class Invalid {
  constructor(readonly message: string) {}
}

interface FieldRule<T> {
  /** The form parameters, the first one given wins (`ramQuota`, then the older `ramQuotaMB`). */
  readonly params: readonly string[];
  /** The key of the error (default: the first parameter). */
  readonly errorKey?: string;
  readonly parse: (raw: string) => T | Invalid;
}

const rule = <T>(params: string | readonly string[], parse: (raw: string) => T | Invalid, errorKey?: string): FieldRule<T> => ({
  params: typeof params === 'string' ? [params] : params,
  parse,
  ...(errorKey === undefined ? {} : { errorKey }),
});

const oneOf = <T extends string>(values: readonly T[], message: string) => (raw: string): T | Invalid =>
  values.find((v) => v === raw) ?? new Invalid(message);

/** ns_server `menelaus_util:parse_validate_number`: an integer, then the range checks. */
const integer = (raw: string): number | undefined => (/^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : undefined);

export const BUCKET_FIELDS = {
  // A Freshet extension (Couchbase accepts it only on developer builds).
  numVBuckets: rule('numVBuckets', (raw) => {
    const n = integer(raw);
    return n !== undefined && n >= 1 && n <= MAX_NUM_VBUCKETS ? n : new Invalid(`Number of vBuckets must be an integer from 1 to ${MAX_NUM_VBUCKETS}`);
  }),
  // do_parse_validate_max_ttl
  maxTTL: rule('maxTTL', (raw) => {
    const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
    return Number.isSafeInteger(n) && n <= MAX_TTL ? n : new Invalid(`Max TTL must be an integer between 0 and ${MAX_TTL}`);
  }),
  // parse_validate_conflict_resolution_type
  conflictResolutionType: rule('conflictResolutionType', oneOf<ConflictResolutionType>(CONFLICT_RESOLUTION_TYPES, "Conflict resolution type must be 'seqno' or 'lww'")),
  // parse_validate_membase_durability_min_level
  durabilityMinLevel: rule(
    'durabilityMinLevel',
    oneOf<DurabilityLevel>(DURABILITY_LEVELS, "Durability minimum level must be one of 'none', 'majority', 'majorityAndPersistActive', or 'persistToMajority'"),
    'durability_min_level',
  ),
  // parse_validate_flush_enabled
  flushEnabled: rule('flushEnabled', (raw) => (raw === '0' || raw === '1' ? raw === '1' : new Invalid('flushEnabled can only be 1 or 0'))),
  // parse_validate_ram_quota + quota_size_error
  ramQuota: rule(['ramQuota', 'ramQuotaMB'], (raw) => {
    const n = integer(raw);
    if (n === undefined) return new Invalid('The RAM Quota must be specified and must be a positive integer.');
    if (n < 0) return new Invalid('The RAM Quota cannot be negative.');
    return n >= MIN_RAM_QUOTA_MB ? n : new Invalid(`RAM quota cannot be less than ${MIN_RAM_QUOTA_MB} MiB`);
  }),
  // parse_validate_replicas_number
  replicaNumber: rule('replicaNumber', (raw) => {
    const n = integer(raw);
    if (n === undefined) return new Invalid('The replica number must be specified and must be a non-negative integer.');
    if (n < 0) return new Invalid('The replica number cannot be negative.');
    return n <= MAX_REPLICAS ? n : new Invalid(`Replica number larger than ${MAX_REPLICAS} is not supported.`);
  }),
  // parse_validate_membase_eviction_policy
  evictionPolicy: rule('evictionPolicy', oneOf(['valueOnly', 'fullEviction'], "Eviction policy must be either 'valueOnly' or 'fullEviction' for couchbase buckets")),
  // parse_compression_mode
  compressionMode: rule('compressionMode', oneOf(['off', 'passive', 'active'], "compressionMode can be set to 'off', 'passive' or 'active'")),
  // parse_validate_threads_number (?MIN_NUM_WORKER_THREADS 2, ?MAX_NUM_WORKER_THREADS 8)
  threadsNumber: rule('threadsNumber', (raw) => {
    const n = integer(raw);
    if (n === undefined) return new Invalid(`The number of threads must be an integer between ${MIN_THREADS} and ${MAX_THREADS}, inclusive`);
    if (n < MIN_THREADS) return new Invalid(`The number of threads can't be less than ${MIN_THREADS}`);
    return n <= MAX_THREADS ? n : new Invalid(`The number of threads can't be greater than ${MAX_THREADS}`);
  }),
  // parse_validate_replica_index (a create's only; an edit ignores it)
  replicaIndex: rule('replicaIndex', (raw) => (raw === '0' || raw === '1' ? raw === '1' : new Invalid('replicaIndex can only be 1 or 0'))),
  // do_validate_moxi_port: only "none" is still taken
  proxyPort: rule('proxyPort', (raw) => (raw === 'none' ? raw : new Invalid('Setting proxy port is not allowed on this version of the cluster'))),
  // do_get_storage_mode_based_on_storage_backend (reported under storage_mode)
  storageBackend: rule('storageBackend', oneOf(['couchstore', 'magma'], 'storage backend must be couchstore or magma'), 'storage_mode'),
} as const;

export type BucketField = keyof typeof BUCKET_FIELDS;
type ValueOf<K extends BucketField> = (typeof BUCKET_FIELDS)[K] extends FieldRule<infer T> ? T : never;
export type BucketFields<K extends BucketField> = { [P in K]?: ValueOf<P> };

/** Parse the given fields of the form; each refused one adds its error to `errors`. */
export function parseBucketFields<K extends BucketField>(form: URLSearchParams, fields: readonly K[], errors: Record<string, string>): BucketFields<K> {
  const out: Partial<Record<BucketField, unknown>> = {};
  for (const field of fields) {
    const r: FieldRule<unknown> = BUCKET_FIELDS[field];
    const param = r.params.find((p) => form.get(p) !== null);
    if (param === undefined) continue;
    const value = r.parse(form.get(param)!);
    if (value instanceof Invalid) errors[r.errorKey ?? r.params[0]!] = value.message;
    else out[field] = value;
  }
  return out as BucketFields<K>;
}

/**
 * ns_server `validate_bucket_name` and `ns_bucket:is_valid_bucket_name` for a new bucket, in their
 * order; undefined when the name is acceptable (whether it is taken is the caller's check).
 */
export function bucketNameError(name: string | null): string | undefined {
  if (name === null) return 'Bucket name needs to be specified';
  if (name === '') return 'Bucket name cannot be empty';
  if (name.length > MAX_BUCKET_NAME_LEN) return `Bucket name cannot exceed ${MAX_BUCKET_NAME_LEN} characters`;
  if (name.startsWith('.')) return 'Bucket name cannot start with dot.';
  if (!BUCKET_NAME.test(name)) {
    return 'Bucket name can only contain characters in range A-Z, a-z, 0-9 as well as underscore, period, dash & percent. Consult the documentation.';
  }
  const lower = name.toLowerCase();
  if (lower.startsWith('_users.couch.') || lower.startsWith('_replicator.couch.')) return 'This name is reserved for the internal use.';
  return undefined;
}

/**
 * ns_server `additional_bucket_params_validation`: a durability minimum cannot go with 3 replicas
 * (reported under `durability_min_level`). Its other rule, that one data node cannot honour a
 * durability minimum with replicas, is not applied: a Freshet node is its own majority.
 */
export function durabilityReplicasError(replicas: number | undefined, level: DurabilityLevel | undefined): string | undefined {
  if (replicas === MAX_REPLICAS && level !== undefined && level !== 'none') return 'Durability minimum level cannot be specified with 3 replicas';
  return undefined;
}
