/**
 * Typed change events of the `for await` API, decoded from the DCP messages a Receiver gets
 * (kv docs/dcp/documentation/commands/{mutation,deletion,expiration}.md; dcp.md §2.4).
 *
 * `key` and `value` are copies: an event may be kept after the socket chunk it came from is gone,
 * and holding a 64 KiB chunk alive for a 10-byte key would make the bounded queue unbounded in
 * bytes. CAS is a bigint (64-bit hybrid clock); seqnos are numbers (dcp/common.ts policy).
 */
import { DCP_DELETION_V1_EXTRAS_LENGTH, DCP_DELETION_V2_EXTRAS_LENGTH, DCP_EXPIRATION_EXTRAS_LENGTH, DCP_MUTATION_EXTRAS_LENGTH, Opcode, ProtocolError } from '../codec/index.js';
import type { Packet } from '../codec/index.js';

interface ItemBase {
  readonly vbucket: number;
  readonly seqno: number;
  readonly revSeqno: number;
  readonly key: Buffer;
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

export type ChangeEvent = MutationEvent | DeletionEvent | RollbackEvent;
export type ItemEvent = MutationEvent | DeletionEvent;

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
export function itemEvent(vbucket: number, p: Packet): ItemEvent {
  const x = p.extras;
  if (p.opcode === Opcode.DcpMutation) {
    if (x.length !== DCP_MUTATION_EXTRAS_LENGTH) throw badLayout(p);
    return {
      type: 'mutation',
      vbucket,
      seqno: u64(x, 0),
      revSeqno: u64(x, 8),
      key: copy(p.key),
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
    return { type: 'expiration', vbucket, seqno: u64(x, 0), revSeqno: u64(x, 8), key: copy(p.key), value: Buffer.alloc(0), cas: p.cas, datatype: p.datatype, deleteTime: x.readUInt32BE(16) };
  }
  if (x.length !== DCP_DELETION_V1_EXTRAS_LENGTH && x.length !== DCP_DELETION_V2_EXTRAS_LENGTH) throw badLayout(p);
  // V1: by_seqno, rev_seqno, nmeta; V2 (IncludeDeleteTimes): by_seqno, rev_seqno, delete_time, unused
  const deleteTime = x.length === DCP_DELETION_V2_EXTRAS_LENGTH ? x.readUInt32BE(16) : 0;
  return { type: 'deletion', vbucket, seqno: u64(x, 0), revSeqno: u64(x, 8), key: copy(p.key), value: copy(p.value), cas: p.cas, datatype: p.datatype, deleteTime };
}

/** Rough bytes an event holds, for the queue's byte bound. */
export function eventSize(e: ChangeEvent): number {
  return e.type === 'rollback' ? 64 : 128 + e.key.length + e.value.length;
}
