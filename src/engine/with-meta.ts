/**
 * Writes that carry their own metadata: XDCR's target side (SET/ADD/DEL_WITH_META over KV, and the
 * CAPI `_bulk_docs` with `new_edits:false`). The version keeps the CAS, rev seqno, flags and expiry
 * the source gave it and gets a fresh seqno here, so it appears on DCP and `_changes` like any
 * write; the clock observes its CAS, so later local writes get larger ones (the way replica apply
 * does it, replica.ts / BucketCore.commitReplicated).
 *
 * Conflict resolution is kv_engine's (engines/ep/src/conflict_resolution.cc): the remote version
 * wins only if it is strictly greater, field by field,
 * - revid ("seqno") buckets: rev seqno, then CAS, then expiry, then flags;
 * - last-write-wins buckets: CAS, then rev seqno, then expiry, then flags;
 * a full tie goes to the remote only if it carries xattrs and the local does not; for a deletion an
 * equal rev seqno and CAS is already a loss (expiry is not compared). A missing key always takes
 * the remote; a tombstone compares with its own metadata (its expiry is its delete time, which is
 * what GET_META reports and what kv keeps in a tombstone's exptime). A losing write is
 * KEY_EEXISTS (context `{conflict: true}`) and changes nothing.
 *
 * The options word (kv include/memcached/protocol_binary.h) and its validation
 * (ep_engine.cc decodeWithMetaOptions): REGENERATE_CAS needs SKIP_CONFLICT_RESOLUTION; with
 * conflict resolution on, an lww bucket requires FORCE_ACCEPT and a revid bucket refuses it
 * (both EINVAL). FORCE_WITH_META_OP only skips conflict resolution, as kv has treated it since
 * MB-67207 (it no longer opens replica vbuckets to writes).
 */
import { EngineError } from './errors.js';
import type { BucketCore } from './bucket-core.js';
import { checkCollection, detectDatatype } from './mutations.js';
import { MAX_VALUE_BYTES } from './limits.js';
import { DATATYPE_RAW } from './types.js';
import type { Item, Key, MutationResult } from './types.js';
import type { ConflictResolutionType } from './bucket-config.js';

/** Skip conflict resolution (kv FORCE_WITH_META_OP); kept for old clients. */
export const FORCE_WITH_META_OP = 0x01;
/** Required by lww buckets, refused by revid ones (kv FORCE_ACCEPT_WITH_META_OPS). */
export const FORCE_ACCEPT_WITH_META_OPS = 0x02;
/** Give the version a new CAS from this bucket's clock (only with SKIP_CONFLICT_RESOLUTION). */
export const REGENERATE_CAS = 0x04;
export const SKIP_CONFLICT_RESOLUTION = 0x08;
/** A deletion that is an expiry (DEL_WITH_META): it appears as a DCP expiration. */
export const IS_EXPIRATION = 0x10;

export { CONFLICT_RESOLUTION_TYPES, type ConflictResolutionType } from './bucket-config.js';

/** The metadata conflict resolution compares. */
export interface ConflictMeta {
  revSeqno: number;
  cas: bigint;
  /** Absolute expiry (epoch seconds); a tombstone's is its delete time. */
  expiry: number;
  flags: number;
  /** Whether the version has xattrs (the last tie-breaker). */
  xattr?: boolean;
}

/** The metadata a with-meta write carries. */
export interface WithMeta {
  cas: bigint;
  revSeqno: number;
  flags: number;
  /** Absolute expiry in epoch seconds (0 = none); for a deletion, its delete time (0 = now). */
  expiry: number;
  deleted: boolean;
  /** The body's datatype as sent; the server still decides JSON itself (mutations.ts detectDatatype). */
  datatype?: number;
  /** The version's xattrs as a JSON object's bytes (codec/xattr.ts); undefined or null = none. */
  xattrs?: Buffer | null;
}

export interface WithMetaOptions {
  /** The options word: FORCE_ACCEPT_WITH_META_OPS | REGENERATE_CAS | SKIP_CONFLICT_RESOLUTION | IS_EXPIRATION. */
  options: number;
  /** The request's CAS: non-zero must equal the current version's (KEY_ENOENT when there is none). */
  expectCas?: bigint;
  /** `add` fails with KEY_EEXISTS on a live document; `delete` writes a tombstone (as `meta.deleted`). */
  mode: 'set' | 'add' | 'delete';
}

/** Counters per bucket, kv's ep_num_ops_{set,del}_meta[_res_fail] (stats-engine reads them). */
export interface WithMetaStats {
  setMeta: number;
  delMeta: number;
  setMetaResolutionFailed: number;
  delMetaResolutionFailed: number;
  /** Writes refused for a CAS too far ahead (CAS_INVALID). */
  invalidCas: number;
}

const statsByBucket = new WeakMap<BucketCore, WithMetaStats>();

export function withMetaStats(bucket: BucketCore): WithMetaStats {
  let s = statsByBucket.get(bucket);
  if (s === undefined) statsByBucket.set(bucket, (s = { setMeta: 0, delMeta: 0, setMetaResolutionFailed: 0, delMetaResolutionFailed: 0, invalidCas: 0 }));
  return s;
}

/**
 * Which version wins, `local` (the stored one) or `remote` (the incoming one), as kv's
 * RevisionSeqnoResolution / LastWriteWinsResolution decide it. `isDelete`: the remote is a deletion.
 */
export function compareMeta(local: ConflictMeta, remote: ConflictMeta, type: ConflictResolutionType, isDelete = false): 'remote' | 'local' {
  const first = type === 'lww' ? cmp(local.cas, remote.cas) : cmp(local.revSeqno, remote.revSeqno);
  if (first !== 0) return first < 0 ? 'remote' : 'local';
  const second = type === 'lww' ? cmp(local.revSeqno, remote.revSeqno) : cmp(local.cas, remote.cas);
  if (second !== 0) return second < 0 ? 'remote' : 'local';
  if (isDelete) return 'local';
  if (local.expiry !== remote.expiry) return local.expiry < remote.expiry ? 'remote' : 'local';
  if (local.flags !== remote.flags) return local.flags < remote.flags ? 'remote' : 'local';
  return remote.xattr === true && local.xattr !== true ? 'remote' : 'local';
}

function cmp(a: number | bigint, b: number | bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A stored version's metadata as conflict resolution (and GET_META) sees it. */
export function itemConflictMeta(item: Item): ConflictMeta {
  return { revSeqno: item.revSeqno, cas: item.cas, expiry: item.deleted ? item.deleteTime : item.expiry, flags: item.flags, xattr: item.xattrs !== null };
}

const U32 = 0xffffffff;
const U64 = (1n << 64n) - 1n;

function checkMeta(meta: WithMeta): void {
  const u32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= U32;
  if (!u32(meta.flags)) throw new EngineError('EINVAL', `invalid flags ${meta.flags}`);
  if (!u32(meta.expiry)) throw new EngineError('EINVAL', `invalid expiry ${meta.expiry}`);
  if (!Number.isSafeInteger(meta.revSeqno) || meta.revSeqno < 0) throw new EngineError('EINVAL', `invalid rev seqno ${meta.revSeqno}`);
  if (meta.cas < 0n || meta.cas > U64) throw new EngineError('EINVAL', 'CAS must be an unsigned 64-bit value');
}

/** kv's decodeWithMetaOptions: whether conflicts are checked, or EINVAL for a bad combination. */
function checkConflicts(options: number, type: ConflictResolutionType): boolean {
  const check = (options & (SKIP_CONFLICT_RESOLUTION | FORCE_WITH_META_OP)) === 0;
  if ((options & REGENERATE_CAS) !== 0 && check) throw new EngineError('EINVAL', 'REGENERATE_CAS needs SKIP_CONFLICT_RESOLUTION');
  const force = (options & FORCE_ACCEPT_WITH_META_OPS) !== 0;
  if (check && type === 'lww' && !force) throw new EngineError('EINVAL', 'a last-write-wins bucket needs FORCE_ACCEPT_WITH_META_OPS');
  if (check && type !== 'lww' && force) throw new EngineError('EINVAL', 'FORCE_ACCEPT_WITH_META_OPS is for last-write-wins buckets');
  return check;
}

/**
 * Store `value` under `key` with the given metadata, after conflict resolution against the current
 * version (see the header). Resolves with the stored version once it is on disk.
 */
export function writeWithMeta(
  bucket: BucketCore,
  collection: number,
  rawKey: Key,
  meta: WithMeta,
  value: Buffer,
  opts: WithMetaOptions,
  vbId?: number,
): Promise<MutationResult> {
  checkCollection(bucket, collection);
  const key = bucket.toKey(rawKey);
  checkMeta(meta);
  const deleted = meta.deleted || opts.mode === 'delete';
  // A deletion keeps only xattrs: kv sanitizes a body sent with a delete away (allow_sanitize_value_in_deletion).
  const body = deleted ? Buffer.alloc(0) : value;
  if (body.length > MAX_VALUE_BYTES) throw new EngineError('E2BIG', `value is ${body.length} bytes; the limit is ${MAX_VALUE_BYTES}`);
  const check = checkConflicts(opts.options, bucket.conflictResolution);
  const vb = bucket.activeVBucket(key, vbId);
  bucket.live(key, vb, collection); // an expired item becomes its tombstone first, as on any access
  const current = bucket.lookup(key, collection, vb.id);
  const stats = withMetaStats(bucket);
  const xattrs = meta.xattrs ?? null;
  if (check && current !== undefined) {
    const remote: ConflictMeta = { revSeqno: meta.revSeqno, cas: meta.cas, expiry: meta.expiry, flags: meta.flags, xattr: xattrs !== null };
    if (compareMeta(itemConflictMeta(current), remote, bucket.conflictResolution, deleted) === 'local') {
      if (deleted) stats.delMetaResolutionFailed++;
      else stats.setMetaResolutionFailed++;
      throw new EngineError('KEY_EEXISTS', 'the stored version wins conflict resolution', { conflict: true });
    }
  }
  if (opts.mode === 'add' && current !== undefined && !current.deleted) throw new EngineError('KEY_EEXISTS', 'key already exists');
  if (opts.expectCas !== undefined && opts.expectCas !== 0n) {
    if (current === undefined) throw new EngineError('KEY_ENOENT');
    if (current.cas !== opts.expectCas) throw new EngineError('KEY_EEXISTS', 'CAS mismatch');
  }
  const now = bucket.nowSeconds();
  const regenerate = (opts.options & REGENERATE_CAS) !== 0;
  // CAS poisoning (kv_engine hlc_invalid_strategy "error"): a CAS far in the future would become
  // the floor of every later CAS of the bucket, and past 2^64 the field wraps to 0, "no CAS".
  if (!regenerate && bucket.hlc.tooFarAhead(meta.cas)) {
    stats.invalidCas++;
    throw new EngineError('CAS_INVALID', `CAS ${meta.cas} is more than an hour ahead of this node's clock`);
  }
  const cas = regenerate ? bucket.hlc.next() : meta.cas;
  if (deleted) stats.delMeta++;
  else stats.setMeta++;
  return bucket.commitReplicated(vb, current, {
    key,
    collection,
    vbucket: vb.id,
    value: body,
    datatype: deleted ? DATATYPE_RAW : detectDatatype(body, bucket.maxJsonDepth),
    flags: meta.flags,
    expiry: deleted ? 0 : meta.expiry,
    cas,
    revSeqno: meta.revSeqno,
    seqno: vb.highSeqno + 1,
    deleted,
    deleteTime: deleted ? meta.expiry || now : 0,
    expired: deleted && (opts.options & IS_EXPIRATION) !== 0,
    xattrs,
  });
}
