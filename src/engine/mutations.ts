/**
 * The document operations, with memcached/Couchbase semantics (kv_engine docs/BinaryProtocol.md
 * and the mutation/arithmetic/append executors, summarised in shared/specs/dcp.md §2.3):
 *
 * - a non-zero CAS is compare-and-swap: mismatch → KEY_EEXISTS, missing key → KEY_ENOENT;
 * - ADD on a live key → KEY_EEXISTS; REPLACE on a missing key → KEY_ENOENT;
 * - APPEND/PREPEND on a missing key → NOT_STORED;
 * - INCR/DECR on a missing key creates it with `initial` unless expiry is 0xffffffff (→ KEY_ENOENT);
 *   DECR stops at 0, INCR wraps at 2^64; a non-numeric value → DELTA_BADVAL;
 * - a locked document (locks.ts) is written only with its lock CAS, which releases the lock: the
 *   one `passLock` call beside each CAS check.
 *
 * Every function validates its input before touching state, so bad input leaves the store unchanged.
 */
import { EngineError } from './errors.js';
import { absoluteExpiry } from './expiry.js';
import type { BucketCore } from './bucket-core.js';
import type { VBucket } from './vbucket.js';
import { MAX_VALUE_BYTES } from './limits.js';
import { passLock } from './locks.js';
import { dirKey } from './dir-keys.js';
import { DATATYPE_JSON, DATATYPE_RAW } from './types.js';
import { COLLECTION_NO_EXPIRY } from './manifest.js';
import { isAcceptedJson } from '../codec/json-check.js';
import { systemXattrsOnly } from '../codec/xattr.js';
import type { CounterOptions, CounterResult, DeleteOptions, DurabilityLevel, Item, Key, MutationResult, WriteOptions, Written } from './types.js';

export type StoreMode = 'set' | 'add' | 'replace';

/** UNKNOWN_COLLECTION (with the manifest uid, for the client's refresh) unless `collection` exists. */
export function checkCollection(bucket: BucketCore, collection: number): void {
  if (!bucket.manifest.hasCollection(collection)) throw bucket.manifest.unknownCollection(collection);
}

/** Turn an expired live item into an expiration tombstone (on access, or by the pager). */
export function expireItem(bucket: BucketCore, vb: VBucket, item: Item): Promise<MutationResult> {
  bucket.stats.expirations++;
  return bucket.commit(vb, item, {
    value: Buffer.alloc(0),
    datatype: 0,
    flags: item.flags,
    expiry: 0,
    deleted: true,
    deleteTime: bucket.nowSeconds(),
    expired: true,
    xattrs: item.xattrs,
  });
}

/**
 * An absolute expiry capped by the collection's maxTTL, or else the bucket's (kv_engine
 * docs/Collections.md "Collection max TTL"): no expiry becomes now + maxTTL, a later one is cut
 * to it. A collection whose maxTTL is -1 caps nothing, whatever the bucket's (kv_engine
 * Manifest::processExpiryTime: the collection's own limit, present and 0, wins).
 */
export function capExpiry(bucket: BucketCore, collection: number, expiry: number): number {
  const own = bucket.manifest.collection(collection)?.maxTTL ?? 0;
  if (own === COLLECTION_NO_EXPIRY) return expiry;
  const ttl = own || bucket.maxTTL;
  if (ttl === 0) return expiry;
  const limit = bucket.nowSeconds() + ttl;
  return expiry === 0 || expiry > limit ? limit : expiry;
}

const U64_MASK = (1n << 64n) - 1n;
const NO_CREATE = 0xffffffff;

function checkValue(value: Buffer): void {
  if (value.length > MAX_VALUE_BYTES) {
    throw new EngineError('E2BIG', `value is ${value.length} bytes; the limit is ${MAX_VALUE_BYTES}`);
  }
}

function checkFlags(flags: number): number {
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) throw new EngineError('EINVAL', `invalid flags ${flags}`);
  return flags;
}

function checkCas(item: Item | undefined, cas: bigint | undefined): void {
  if (cas === undefined || cas === 0n) return;
  if (!item) throw new EngineError('KEY_ENOENT');
  if (item.cas !== cas) throw new EngineError('KEY_EEXISTS', 'CAS mismatch');
}

/**
 * Is `value` a JSON document? As kv_engine, the server decides, whatever the client's datatype
 * said (steppable_command_context.cc setDatatypeJSONFromValue): valid UTF-8 JSON nested at most
 * `maxDepth` levels is JSON (codec/json-check.ts); anything else is raw bytes.
 */
export function detectDatatype(value: Buffer, maxDepth: number): number {
  if (value.length === 0) return DATATYPE_RAW;
  const first = value[0]!;
  // Cheap reject for the common binary case before the full parse.
  if (first !== 0x7b && first !== 0x5b && first !== 0x22 && first !== 0x2d && first !== 0x74 && first !== 0x66 &&
      first !== 0x6e && !(first >= 0x30 && first <= 0x39) && first !== 0x20 && first !== 0x0a && first !== 0x09 && first !== 0x0d) {
    return DATATYPE_RAW;
  }
  return isAcceptedJson(value, maxDepth) ? DATATYPE_JSON : DATATYPE_RAW;
}

/** A SET, ADD or REPLACE: the result itself when acknowledged from memory (bucket-core.ts commitNow); throws when refused. */
export function store(bucket: BucketCore, collection: number, mode: StoreMode, rawKey: Key, value: Buffer, opts: WriteOptions = {}, vbId?: number): Written {
  checkCollection(bucket, collection);
  const key = bucket.toKey(rawKey);
  checkValue(value);
  const flags = checkFlags(opts.flags ?? 0);
  const requested = capExpiry(bucket, collection, absoluteExpiry(opts.expiry ?? 0, bucket.nowSeconds()));
  const vb = bucket.activeVBucket(key, vbId);
  // One directory lookup serves both the live check and the previous version (a create, the most
  // common write of a load, finds nothing once); only an item that just expired is read again.
  // The directory key (a string whose hash V8 caches) is built once for the lookups and the write.
  // The version found is about to be replaced: a read of it from disk is not kept in memory.
  const pkey = dirKey(collection, key);
  const found = bucket.lookup(key, collection, vb.id, pkey, false);
  const current = bucket.liveOf(found, key, vb, collection);
  const expiry = opts.preserveExpiry && current ? current.expiry : requested;
  if (mode === 'add' && current) throw new EngineError('KEY_EEXISTS', 'key already exists');
  if (mode === 'replace' && !current) throw new EngineError('KEY_ENOENT');
  checkCas(current, passLock(bucket, current, opts.cas));
  // A tombstone still counts as the previous version: its rev seqno continues and its index entry goes.
  const prev = current ?? (found && !found.deleted ? bucket.lookup(key, collection, vb.id, pkey) : found);
  return bucket.commitNow(vb, prev, {
    value,
    datatype: opts.datatype ?? detectDatatype(value, bucket.maxJsonDepth),
    flags,
    expiry,
    deleted: false,
    deleteTime: 0,
    expired: false,
    // Only system xattrs survive a full-document write (codec/xattr.ts systemXattrsOnly).
    xattrs: opts.xattrs === undefined ? systemXattrsOnly(prev?.xattrs ?? null) : opts.xattrs,
  }, key, collection, bucket.writeMode(opts.durability), pkey);
}

export function remove(bucket: BucketCore, collection: number, rawKey: Key, opts: DeleteOptions = {}, vbId?: number): Promise<MutationResult> {
  checkCollection(bucket, collection);
  const key = bucket.toKey(rawKey);
  if (opts.value) checkValue(opts.value);
  const vb = bucket.activeVBucket(key, vbId);
  const current = bucket.live(key, vb, collection);
  if (!current) throw new EngineError('KEY_ENOENT');
  // kv: a delete with a CAS reaches the engine's deleteItem (`locked_tmpfail`); without, `locked`.
  checkCas(current, passLock(bucket, current, opts.cas, opts.cas ? 'LOCKED_TMPFAIL' : 'LOCKED'));
  return bucket.commit(vb, current, {
    value: opts.value ?? Buffer.alloc(0),
    datatype: opts.value ? detectDatatype(opts.value, bucket.maxJsonDepth) : DATATYPE_RAW,
    flags: current.flags,
    expiry: 0,
    deleted: true,
    deleteTime: bucket.nowSeconds(),
    expired: false,
    xattrs: opts.xattrs === undefined ? systemXattrsOnly(current.xattrs) : opts.xattrs,
  }, key, collection, bucket.writeMode(opts.durability));
}

export function touch(bucket: BucketCore, collection: number, rawKey: Key, expiry: number, vbId?: number): Promise<MutationResult> {
  checkCollection(bucket, collection);
  const key = bucket.toKey(rawKey);
  const abs = capExpiry(bucket, collection, absoluteExpiry(expiry, bucket.nowSeconds()));
  const vb = bucket.activeVBucket(key, vbId);
  const current = bucket.live(key, vb, collection);
  if (!current) throw new EngineError('KEY_ENOENT');
  passLock(bucket, current, undefined);
  return bucket.commit(vb, current, { ...current, expiry: abs }, key, collection, bucket.writeMode());
}

export function concat(bucket: BucketCore, collection: number, side: 'append' | 'prepend', rawKey: Key, data: Buffer, cas?: bigint, vbId?: number, durability?: DurabilityLevel): Promise<MutationResult> {
  checkCollection(bucket, collection);
  const key = bucket.toKey(rawKey);
  const vb = bucket.activeVBucket(key, vbId);
  const current = bucket.live(key, vb, collection);
  if (!current) throw new EngineError('NOT_STORED', 'append/prepend needs an existing document');
  checkCas(current, passLock(bucket, current, cas));
  const value = side === 'append' ? Buffer.concat([current.value, data]) : Buffer.concat([data, current.value]);
  checkValue(value);
  return bucket.commit(vb, current, { ...current, value, datatype: detectDatatype(value, bucket.maxJsonDepth) }, key, collection, bucket.writeMode(durability));
}

/**
 * Parse a stored counter as kv_engine's `safe_strtoull` does (utilities/util.cc `parseInt`, used by
 * daemon/protocol/mcbp/arithmetic_context.cc): leading whitespace and one '+' are skipped, then
 * decimal digits (any number of them, leading zeros included) up to 2^64-1; the digits must end
 * the value or be followed by whitespace, after which anything is ignored ("12 abc" is 12).
 */
const COUNTER_TEXT = /^[ \t\n\v\f\r]*\+?([0-9]+)(?:[ \t\n\v\f\r]|$)/;

function parseCounter(value: Buffer): bigint {
  const digits = COUNTER_TEXT.exec(value.toString('latin1'))?.[1];
  if (digits === undefined) throw new EngineError('DELTA_BADVAL', 'the document is not a number');
  const significant = digits.replace(/^0+/, '');
  // More than 20 significant digits cannot fit; skip building a huge BigInt for them.
  const n = significant.length > 20 ? U64_MASK + 1n : BigInt(digits);
  if (n > U64_MASK) throw new EngineError('DELTA_BADVAL', 'the number is larger than 64 bits');
  return n;
}

export function counter(bucket: BucketCore, collection: number, direction: 'incr' | 'decr', rawKey: Key, opts: CounterOptions, vbId?: number): Promise<CounterResult> {
  checkCollection(bucket, collection);
  const key = bucket.toKey(rawKey);
  if (opts.delta < 0n || opts.delta > U64_MASK || opts.initial < 0n || opts.initial > U64_MASK) {
    throw new EngineError('EINVAL', 'delta and initial must be unsigned 64-bit values');
  }
  const create = opts.expiry !== NO_CREATE;
  const abs = create ? capExpiry(bucket, collection, absoluteExpiry(opts.expiry, bucket.nowSeconds())) : 0;
  const vb = bucket.activeVBucket(key, vbId);
  const current = bucket.live(key, vb, collection);
  checkCas(current, passLock(bucket, current, opts.cas));
  let value: bigint;
  let written: Promise<MutationResult>;
  if (!current) {
    if (!create) throw new EngineError('KEY_ENOENT');
    value = opts.initial;
    const prev = bucket.lookup(key, collection);
    written = bucket.commit(vb, prev, {
      value: Buffer.from(value.toString(), 'latin1'),
      datatype: DATATYPE_JSON,
      flags: 0,
      expiry: abs,
      deleted: false,
      deleteTime: 0,
      expired: false,
      xattrs: prev?.xattrs ?? null,
    }, key, collection, bucket.writeMode(opts.durability));
  } else {
    const old = parseCounter(current.value);
    value = direction === 'incr' ? (old + opts.delta) & U64_MASK : old > opts.delta ? old - opts.delta : 0n;
    written = bucket.commit(vb, current, { ...current, value: Buffer.from(value.toString(), 'latin1'), datatype: DATATYPE_JSON }, key, collection, bucket.writeMode(opts.durability));
  }
  return written.then((r) => ({ ...r, value }));
}

export interface VersionSpec {
  value: Buffer;
  datatype?: number;
  flags?: number;
  deleted: boolean;
  /** With `deleted`: the tombstone of an erased document (types.ts Item.erased). */
  erased?: boolean;
  xattrs: Buffer | null;
}

/**
 * Compare-and-write against the key's current version *including tombstones*: `expect` is that
 * version's CAS, or null when the key must have no record at all. The HTTP face uses this to keep a
 * document's revision tree (in its xattrs) across deletes and re-creates. Mismatch → KEY_EEXISTS.
 * Resolves once on disk, as CouchDB acknowledges a write after its fsync (mode `persist`).
 */
export function writeVersion(bucket: BucketCore, collection: number, rawKey: Key, expect: bigint | null, spec: VersionSpec): Promise<MutationResult> {
  checkCollection(bucket, collection);
  const key = bucket.toKey(rawKey);
  checkValue(spec.value);
  const vb = bucket.activeVBucket(key);
  const live = bucket.live(key, vb, collection); // turns an expired item into its tombstone first
  const current = bucket.lookup(key, collection);
  if ((current?.cas ?? null) !== expect) throw new EngineError('KEY_EEXISTS', 'the document changed');
  // No lock CAS reaches this path (the HTTP face never sees one): a locked document is refused.
  passLock(bucket, live, undefined);
  return bucket.commit(vb, current, {
    value: spec.value,
    datatype: spec.datatype ?? detectDatatype(spec.value, bucket.maxJsonDepth),
    flags: checkFlags(spec.flags ?? current?.flags ?? 0),
    expiry: spec.deleted ? 0 : (current && !current.deleted ? current.expiry : 0),
    deleted: spec.deleted,
    deleteTime: spec.deleted ? bucket.nowSeconds() : 0,
    expired: false,
    erased: spec.erased === true,
    xattrs: spec.xattrs,
  }, key, collection, 'persist');
}
