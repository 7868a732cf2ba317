/**
 * Turning engine items into DCP messages for one stream, as the connection negotiated them.
 * Layouts are the codec's (src/codec/dcp/*); this file decides *which* message and *what payload*:
 *
 * - Key: on a collection-aware connection (HELLO Collections) the key is prefixed with the
 *   unsigned-LEB128 collection id, always 0x00 here (kv commands/mutation.md "Collections Enabled").
 * - Value and datatype (kv commands/mutation.md "The meaning of datatype", active_stream.cc
 *   `shouldModifyItem`): the datatype describes what is transmitted. NoValue sends no body and
 *   datatype 0 (plus XATTR when xattrs are included); NoValueWithUnderlyingDatatype keeps the
 *   body's JSON bit; IncludeXattrs prefixes the xattr blob (xattr-blob.ts) and sets 0x04. DCP
 *   connections always get the JSON bit (kv dcp_open_executor enables JSON for them).
 * - Deletions carry no body, only xattrs when included: system ones (`_` names), user ones too
 *   with IncludeDeletedUserXattrs (Couchbase tombstones hold xattrs only; Freshet's HTTP face may
 *   keep a body on a tombstone, which is never sent). V1 (18-byte extras)
 *   unless opened with IncludeDeleteTimes, then V2 (21 bytes, delete time).
 * - Expirations are DCP_EXPIRATION only with `enable_expiry_opcode` (which needs delete times),
 *   otherwise deletions (kv producer.cc `DcpProducer::step`, Expiration case).
 * - delete_time: the tombstone's real delete time. kv sends 0 for deletes still in memory; every
 *   item Freshet streams is already persisted, so it always has the time to give.
 * - Snapshot markers: V1, or V2.2 after `max_marker_version=2.2` (V2.0 is for sync replication,
 *   which Freshet does not offer).
 *
 * Every message leaves here as an encoded frame (24-byte header, framing extras, extras, key,
 * value). Mutations, deletions, expirations and V1 markers are the per-item hot path of a
 * backfill, so they are written straight into one buffer each, extras in place (layouts of
 * codec/dcp/mutation.ts, deletion.ts, expiration.ts, snapshot-marker.ts): no intermediate packet
 * object, no separate extras, key or value copies. The rarer messages go through the codec's
 * encoders. test/dcp/messages.test.ts checks these bytes against the codec's decoders and golden
 * fixtures.
 */
import { Datatype } from '../codec/datatype.js';
import { Magic } from '../codec/magic.js';
import { Opcode } from '../codec/opcodes.js';
import { encodePacket, HEADER_LENGTH } from '../codec/packet.js';
import type { DcpStreamHeader } from '../codec/dcp/common.js';
import { encodeFrameInfos, streamIdFrame } from '../codec/frame-info.js';
import { encodeSnapshotMarker } from '../codec/dcp/snapshot-marker.js';
import { encodeStreamEnd } from '../codec/dcp/stream-end.js';
import { encodeSeqnoAdvanced } from '../codec/dcp/seqno-advanced.js';
import type { Item } from '../engine/types.js';
import { encodeXattrBlob } from './xattr-blob.js';
import type { ProducerSettings } from './settings.js';

const EMPTY = Buffer.alloc(0);

function u64(buf: Buffer, at: number, v: number): void {
  // Seqnos stay below 2^53 (codec/dcp/common.ts number policy): split without BigInt.
  buf.writeUInt32BE(Math.floor(v / 0x1_0000_0000), at);
  buf.writeUInt32BE(v >>> 0, at + 4);
}

export class MessageBuilder {
  private readonly framingExtras: Buffer;
  private readonly magic: number;
  /** Where the extras start in every frame of this stream: after the header and framing extras. */
  private readonly extrasAt: number;

  constructor(
    private readonly settings: ProducerSettings,
    readonly header: DcpStreamHeader,
  ) {
    // A stream id travels as frame info id 2 on every message, with the alternative magic.
    this.framingExtras = header.streamId === undefined ? EMPTY : encodeFrameInfos([streamIdFrame(header.streamId)]);
    this.magic = header.streamId === undefined ? Magic.ClientRequest : Magic.AltClientRequest;
    this.extrasAt = HEADER_LENGTH + this.framingExtras.length;
  }

  /**
   * A frame with its header and framing extras written (request layout, kv docs/BinaryProtocol.md
   * "Request header"; alt magic puts framing-extras and key lengths in one byte each). The caller
   * writes `extrasLength` bytes of extras at `extrasAt`, then the key and the value.
   */
  private frame(opcode: number, extrasLength: number, keyLength: number, valueLength: number, datatype: number, cas: bigint): Buffer {
    const framing = this.framingExtras.length;
    const out = Buffer.allocUnsafe(this.extrasAt + extrasLength + keyLength + valueLength);
    out[0] = this.magic;
    out[1] = opcode;
    if (framing > 0) {
      out[2] = framing;
      out[3] = keyLength;
      this.framingExtras.copy(out, HEADER_LENGTH);
    } else {
      out.writeUInt16BE(keyLength, 2);
    }
    out[4] = extrasLength;
    out[5] = datatype;
    out.writeUInt16BE(this.header.vbucket, 6);
    out.writeUInt32BE(framing + extrasLength + keyLength + valueLength, 8);
    out.writeUInt32BE(this.header.opaque, 12);
    out.writeBigUInt64BE(cas, 16);
    return out;
  }

  /** Bytes the key takes on the wire: one more for the collection id on collection-aware connections. */
  private keyLength(item: Item): number {
    return this.settings.collections ? item.key.length + 1 : item.key.length;
  }

  /** Write the key at `at`; returns where the value starts. Default collection: LEB128(0) = 0x00. */
  private writeKey(out: Buffer, at: number, item: Item): number {
    if (this.settings.collections) out[at++] = 0;
    return at + item.key.copy(out, at);
  }

  /** The xattr blob to send for this item, if the connection wants xattrs and the item has some. */
  private xattrs(item: Item): Buffer | null {
    if (!this.settings.includeXattrs) return null;
    return encodeXattrBlob(item.xattrs, item.deleted && !this.settings.includeDeletedUserXattrs);
  }

  /** DCP_MUTATION, extras 31: by_seqno, rev_seqno, flags, expiration, lock_time, nmeta, nru. */
  mutation(item: Item): Buffer {
    const xattrs = this.xattrs(item);
    const bodyType = item.datatype & Datatype.Json;
    const withBody = this.settings.noValue === 'value';
    const datatype = this.settings.noValue === 'no-value' ? 0 : bodyType;
    const xlen = xattrs ? xattrs.length : 0;
    const out = this.frame(Opcode.DcpMutation, 31, this.keyLength(item), xlen + (withBody ? item.value.length : 0), xattrs ? datatype | Datatype.Xattr : datatype, item.cas);
    const at = this.extrasAt;
    u64(out, at, item.seqno);
    u64(out, at + 8, item.revSeqno);
    out.writeUInt32BE(item.flags >>> 0, at + 16);
    out.writeUInt32BE(item.expiry >>> 0, at + 20);
    out.writeUInt32BE(0, at + 24); // lock time
    out.writeUInt16BE(0, at + 28); // nmeta
    out[at + 30] = 0; // nru
    let v = this.writeKey(out, at + 31, item);
    if (xattrs) v += xattrs.copy(out, v);
    if (withBody) item.value.copy(out, v);
    return out;
  }

  /** DCP_DELETION: V1 extras 18 (by_seqno, rev_seqno, nmeta) or V2 extras 21 (.., delete_time, unused). */
  deletion(item: Item): Buffer {
    const xattrs = this.xattrs(item);
    const v2 = this.settings.includeDeleteTimes;
    const extrasLength = v2 ? 21 : 18;
    const out = this.frame(Opcode.DcpDeletion, extrasLength, this.keyLength(item), xattrs ? xattrs.length : 0, xattrs ? Datatype.Xattr : 0, item.cas);
    const at = this.extrasAt;
    u64(out, at, item.seqno);
    u64(out, at + 8, item.revSeqno);
    if (v2) {
      out.writeUInt32BE(item.deleteTime >>> 0, at + 16);
      out[at + 20] = 0;
    } else {
      out.writeUInt16BE(0, at + 16);
    }
    const v = this.writeKey(out, at + extrasLength, item);
    if (xattrs) xattrs.copy(out, v);
    return out;
  }

  /** DCP_EXPIRATION, extras 20: by_seqno, rev_seqno, delete_time; or a deletion without the control. */
  expiration(item: Item): Buffer {
    if (!this.settings.expiryOpcode) return this.deletion(item);
    const out = this.frame(Opcode.DcpExpiration, 20, this.keyLength(item), 0, 0, item.cas);
    const at = this.extrasAt;
    u64(out, at, item.seqno);
    u64(out, at + 8, item.revSeqno);
    out.writeUInt32BE(item.deleteTime >>> 0, at + 16);
    this.writeKey(out, at + 20, item);
    return out;
  }

  marker(start: number, end: number, flags: number, purgeSeqno: number): Buffer {
    if (this.settings.markerVersion === 'v1') {
      const out = this.frame(Opcode.DcpSnapshotMarker, 20, 0, 0, 0, 0n);
      const at = this.extrasAt;
      u64(out, at, start);
      u64(out, at + 8, end);
      out.writeUInt32BE(flags, at + 16);
      return out;
    }
    return encodePacket(
      encodeSnapshotMarker({
        ...this.header,
        version: 'v2.2',
        startSeqno: start,
        endSeqno: end,
        flags,
        maxVisibleSeqno: end,
        highCompletedSeqno: 0,
        purgeSeqno,
        highPreparedSeqno: 0,
      }),
    );
  }

  seqnoAdvanced(seqno: number): Buffer {
    return encodePacket(encodeSeqnoAdvanced({ ...this.header, seqno }));
  }

  streamEnd(reason: number): Buffer {
    return encodePacket(encodeStreamEnd({ ...this.header, reason }));
  }
}
