/**
 * Typed change events of the `for await` API, decoded from the DCP messages a Receiver gets
 * (kv docs/dcp/documentation/commands/{mutation,deletion,expiration}.md; dcp.md §2.4).
 *
 * `key` and `value` are copies: an event may be kept after the socket chunk it came from is gone,
 * and holding a 64 KiB chunk alive for a 10-byte key would make the bounded queue unbounded in
 * bytes. CAS is a bigint (64-bit hybrid clock); seqnos are numbers (dcp/common.ts policy).
 */
import { DCP_DELETION_V1_EXTRAS_LENGTH, DCP_DELETION_V2_EXTRAS_LENGTH, DCP_EXPIRATION_EXTRAS_LENGTH, DCP_MUTATION_EXTRAS_LENGTH, Opcode, ProtocolError } from '../codec/index.js';
import type { Packet, SystemEventData } from '../codec/index.js';
import { DEFAULT_NAME, type CollectionName, type CollectionNames } from './collections.js';

interface ItemBase {
  readonly vbucket: number;
  readonly seqno: number;
  readonly revSeqno: number;
  /** The document key (without the collection-id prefix a collection-aware stream carries). */
  readonly key: Buffer;
  /** Scope and collection names; `_default`/`_default` (id 0) for a stream without a filter. */
  readonly scope: string;
  readonly collection: string;
  readonly collectionId: number;
  readonly cas: bigint;
  /** Datatype bits of `value` as sent (0x01 JSON, 0x02 snappy, 0x04 xattrs). */
  readonly datatype: number;
}

export interface MutationEvent extends ItemBase {
  readonly type: 'mutation';
  readonly value: Buffer;
  readonly flags: number;
  /** Absolute expiry, epoch seconds; 0 = never. */
  readonly expiry: number;
  readonly lockTime: number;
}

export interface DeletionEvent extends ItemBase {
  readonly type: 'deletion' | 'expiration';
  /** Usually empty (xattrs when requested). */
  readonly value: Buffer;
  /** Delete time (seconds) when the producer sends one (V2 deletions, expirations); else 0. */
  readonly deleteTime: number;
}

/** The vbucket's history above `seqno` is gone: discard anything you derived from it. */
export interface RollbackEvent {
  readonly type: 'rollback';
  readonly vbucket: number;
  readonly seqno: number;
  /** The uuid of the history kept (newest failover entry at or below `seqno`). */
  readonly vbUuid: number;
}

/**
 * A collection was created or dropped (DCP system events BeginCollection / EndCollection; kv
 * sends one in every vbucket, each at its own seqno, and so does this stream: one event per
 * vbucket). Only collection-aware streams (options `collections` / `scope`) get them.
 */
export interface CollectionEvent {
  readonly type: 'collection';
  readonly action: 'create' | 'drop';
  readonly vbucket: number;
  readonly seqno: number;
  readonly manifestUid: number;
  readonly scope: string;
  readonly scopeId: number;
  /** Empty for a drop of a collection this stream never knew (created and dropped unseen). */
  readonly collection: string;
  readonly collectionId: number;
  /** A create's maxTTL (seconds) when it has one. */
  readonly maxTTL?: number;
}

/** A scope was created or dropped (CreateScope / DropScope), one event per vbucket as well. */
export interface ScopeEvent {
  readonly type: 'scope';
  readonly action: 'create' | 'drop';
  readonly vbucket: number;
  readonly seqno: number;
  readonly manifestUid: number;
  readonly scope: string;
  readonly scopeId: number;
}

export type ChangeEvent = MutationEvent | DeletionEvent | RollbackEvent | CollectionEvent | ScopeEvent;
export type ItemEvent = MutationEvent | DeletionEvent;
export type ManifestEvent = CollectionEvent | ScopeEvent;

const copy = (b: Buffer): Buffer => (b.length === 0 ? Buffer.alloc(0) : Buffer.from(b));

/** u64 that must be a safe integer (dcp/common.ts number policy). */
function u64(b: Buffer, at: number): number {
  const hi = b.readUInt32BE(at);
  if (hi >= 0x200000) throw new ProtocolError('VALUE_RANGE', 'seqno does not fit a JS number');
  return hi * 0x100000000 + b.readUInt32BE(at + 4);
}

function badLayout(p: Packet): ProtocolError {
  return new ProtocolError('BAD_LAYOUT', `DCP opcode 0x${p.opcode.toString(16)} with ${p.extras.length} bytes of extras`, { opcode: p.opcode });
}

/**
 * Decode the packet a Receiver's dataUpdate/dataDelete got into an event. The extras layouts are
 * the codec's (codec/dcp/mutation.ts, deletion.ts, expiration.ts), read here field by field: this
 * runs once per item, and the codec's object-spread decoders cost ~10 us each under V8.
 */
export function itemEvent(vbucket: number, p: Packet, key: Buffer = p.key, collectionId = 0, names: CollectionName = DEFAULT_COLLECTION): ItemEvent {
  const x = p.extras;
  const where = { scope: names.scope, collection: names.collection, collectionId };
  if (p.opcode === Opcode.DcpMutation) {
    if (x.length !== DCP_MUTATION_EXTRAS_LENGTH) throw badLayout(p);
    return {
      type: 'mutation',
      vbucket,
      seqno: u64(x, 0),
      revSeqno: u64(x, 8),
      key: copy(key),
      ...where,
      value: copy(p.value),
      cas: p.cas,
      datatype: p.datatype,
      flags: x.readUInt32BE(16),
      expiry: x.readUInt32BE(20),
      lockTime: x.readUInt32BE(24),
    };
  }
  if (p.opcode === Opcode.DcpExpiration) {
    if (x.length !== DCP_EXPIRATION_EXTRAS_LENGTH) throw badLayout(p);
    return { type: 'expiration', vbucket, seqno: u64(x, 0), revSeqno: u64(x, 8), key: copy(key), ...where, value: Buffer.alloc(0), cas: p.cas, datatype: p.datatype, deleteTime: x.readUInt32BE(16) };
  }
  if (x.length !== DCP_DELETION_V1_EXTRAS_LENGTH && x.length !== DCP_DELETION_V2_EXTRAS_LENGTH) throw badLayout(p);
  // V1: by_seqno, rev_seqno, nmeta; V2 (IncludeDeleteTimes): by_seqno, rev_seqno, delete_time, unused
  const deleteTime = x.length === DCP_DELETION_V2_EXTRAS_LENGTH ? x.readUInt32BE(16) : 0;
  return { type: 'deletion', vbucket, seqno: u64(x, 0), revSeqno: u64(x, 8), key: copy(key), ...where, value: copy(p.value), cas: p.cas, datatype: p.datatype, deleteTime };
}

const DEFAULT_COLLECTION: CollectionName = { scopeId: 0, scope: DEFAULT_NAME, collection: DEFAULT_NAME };

/**
 * The event of a system event (its names already learnt by `names`), or undefined for one that
 * is not a create or drop (ModifyCollection, FlatBuffers versions): those only advance the stream.
 */
export function systemChangeEvent(vbucket: number, seqno: number, e: SystemEventData, names: CollectionNames): CollectionEvent | ScopeEvent | undefined {
  switch (e.type) {
    case 'BeginCollection':
    case 'EndCollection': {
      const n = names.nameOf(e.collectionId);
      const base = { type: 'collection', action: e.type === 'BeginCollection' ? 'create' : 'drop', vbucket, seqno, manifestUid: e.manifestUid } as const;
      const where = { scope: names.scopeName(e.scopeId), scopeId: e.scopeId, collection: e.type === 'BeginCollection' ? e.name : n.collection, collectionId: e.collectionId };
      return e.type === 'BeginCollection' && e.maxTtl !== undefined ? { ...base, ...where, maxTTL: e.maxTtl } : { ...base, ...where };
    }
    case 'CreateScope':
    case 'DropScope':
      return { type: 'scope', action: e.type === 'CreateScope' ? 'create' : 'drop', vbucket, seqno, manifestUid: e.manifestUid, scope: e.type === 'CreateScope' ? e.name : names.scopeName(e.scopeId), scopeId: e.scopeId };
    default:
      return undefined;
  }
}

/** Rough bytes an event holds, for the queue's byte bound. */
export function eventSize(e: ChangeEvent): number {
  return e.type === 'rollback' || e.type === 'collection' || e.type === 'scope' ? 128 : 128 + e.key.length + e.value.length;
}
