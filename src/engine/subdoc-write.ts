/**
 * Read-modify-write of one document for the sub-document commands: the caller's `edit` sees the
 * key's current version (tombstones included, an expired item already turned into its tombstone)
 * and returns the next version, which is committed in the same synchronous step (bucket-core.ts
 * `commit`: reads and the queueing of the write are not interleaved with other operations), so the
 * edit is atomic, as kv_engine's subdoc executor with its CAS-checked store is.
 *
 * The edit may need the CAS and seqno the write will get before the write exists: xattr macros
 * (`${Mutation.CAS}`, `${Mutation.seqno}`, `${Mutation.value_crc32c}`; kv
 * subdocument_context.cc `pre_link_document`) are written into the stored version. So the CAS is
 * taken from the bucket's clock here and handed to `commit`, and the seqno is the vbucket's next.
 *
 * Expiry follows the memcached rules (expiry.ts) capped by the collection's maxTTL (mutations.ts
 * `capExpiry`); `preserveExpiry` keeps the current one (the PreserveTTL frame). The new version's
 * rev seqno continues the previous one's (tombstones included), as every other write.
 */
import { passLock } from './locks.js';
import { EngineError } from './errors.js';
import type { BucketCore } from './bucket-core.js';
import { absoluteExpiry } from './expiry.js';
import { MAX_VALUE_BYTES } from './limits.js';
import { capExpiry, checkCollection } from './mutations.js';
import type { DurabilityLevel, Item, Key, MutationResult } from './types.js';

/** What the write's own metadata is, for values that embed it. */
export interface WriteMeta {
  readonly cas: bigint;
  readonly seqno: number;
}

export interface DocumentEdit {
  readonly value: Buffer;
  readonly datatype: number;
  readonly deleted: boolean;
  /** The next xattrs (a JSON object's bytes or null), built once the write's CAS and seqno are known. */
  readonly xattrs: (meta: WriteMeta, value: Buffer) => Buffer | null;
}

export interface EditOptions {
  /** Protocol expiry (memcached rule); undefined means none (0), as kv's subdoc without an expiry. */
  readonly expiry?: number;
  readonly preserveExpiry?: boolean;
  /** The write's durability requirement (the bucket's minimum raises it). */
  readonly durability?: DurabilityLevel;
  /**
   * The request's CAS (0 or absent: none). A locked document refuses the edit unless it is the
   * lock's CAS, which releases the lock (locks.ts `passLock`, as every other write does); `edit`
   * gets the CAS left to compare with the current version.
   */
  readonly cas?: bigint;
}

/**
 * Apply `edit` to the current version of `rawKey` and commit the result. `edit` throws to refuse
 * (its error is the operation's); it must not have side effects, since nothing is written then.
 */
export function editDocument(
  bucket: BucketCore,
  collection: number,
  rawKey: Key,
  opts: EditOptions,
  edit: (current: Item | undefined, cas: bigint) => DocumentEdit,
  vbId?: number,
): Promise<MutationResult> {
  checkCollection(bucket, collection);
  const key = bucket.toKey(rawKey);
  const vb = bucket.activeVBucket(key, vbId);
  bucket.live(key, vb, collection); // an expired item becomes its tombstone first
  const current = bucket.lookup(key, collection, vb.id);
  const cas = passLock(bucket, current && !current.deleted ? current : undefined, opts.cas ? opts.cas : undefined) ?? 0n;
  const next = edit(current, cas);
  const meta: WriteMeta = { cas: bucket.hlc.next(), seqno: vb.highSeqno + 1 };
  const xattrs = next.xattrs(meta, next.value);
  const size = next.value.length + (xattrs?.length ?? 0);
  if (size > MAX_VALUE_BYTES) throw new EngineError('E2BIG', `document would be ${size} bytes; the limit is ${MAX_VALUE_BYTES}`);
  const live = current && !current.deleted ? current : undefined;
  const expiry = next.deleted
    ? 0
    : opts.preserveExpiry && live
      ? live.expiry
      : capExpiry(bucket, collection, absoluteExpiry(opts.expiry ?? 0, bucket.nowSeconds()));
  return bucket.commit(
    vb,
    current,
    {
      value: next.value,
      datatype: next.datatype,
      flags: current?.flags ?? 0,
      expiry,
      deleted: next.deleted,
      deleteTime: next.deleted ? (current?.deleted ? current.deleteTime : bucket.nowSeconds()) : 0,
      expired: false,
      xattrs,
      presetCas: meta.cas,
    },
    key,
    collection,
    bucket.writeMode(opts.durability),
  );
}
