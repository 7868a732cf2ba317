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
 * Mutations, deletions, expirations and V1 markers are the per-item hot path of a backfill, so
 * they are built here as fixed-shape packets with their extras written in place (layouts of
 * codec/dcp/mutation.ts, deletion.ts, expiration.ts, snapshot-marker.ts); the codec's generic
 * encoders spread option objects, which costs microseconds per message. test/dcp/messages.test.ts
 * checks these bytes against the codec's decoders and golden fixtures.
 */
import { Datatype } from '../codec/datatype.js';
import { Magic } from '../codec/magic.js';
import { Opcode } from '../codec/opcodes.js';
import type { Packet } from '../codec/packet.js';
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

  constructor(
    private readonly settings: ProducerSettings,
    readonly header: DcpStreamHeader,
  ) {
    // A stream id travels as frame info id 2 on every message, with the alternative magic.
    this.framingExtras = header.streamId === undefined ? EMPTY : encodeFrameInfos([streamIdFrame(header.streamId)]);
    this.magic = header.streamId === undefined ? Magic.ClientRequest : Magic.AltClientRequest;
  }

  private packet(opcode: number, extras: Buffer, key: Buffer, value: Buffer, datatype: number, cas: bigint): Packet {
    return {
      magic: this.magic,
      opcode,
      datatype,
      vbucket: this.header.vbucket,
      status: 0,
      opaque: this.header.opaque,
      cas,
      framingExtras: this.framingExtras,
      extras,
      key,
      value,
    };
  }

  private key(item: Item): Buffer {
    if (!this.settings.collections) return item.key;
    // Default collection: LEB128(0) is the single byte 0x00.
    const out = Buffer.allocUnsafe(item.key.length + 1);
    out[0] = 0;
    item.key.copy(out, 1);
    return out;
  }

  /** The xattr blob to send for this item, if the connection wants xattrs and the item has some. */
  private xattrs(item: Item): Buffer | null {
    if (!this.settings.includeXattrs) return null;
    return encodeXattrBlob(item.xattrs, item.deleted && !this.settings.includeDeletedUserXattrs);
  }

  /** DCP_MUTATION, extras 31: by_seqno, rev_seqno, flags, expiration, lock_time, nmeta, nru. */
  mutation(item: Item): Packet {
    const xattrs = this.xattrs(item);
    const bodyType = item.datatype & Datatype.Json;
    let value: Buffer;
    let datatype: number;
    switch (this.settings.noValue) {
      case 'value':
        value = xattrs ? Buffer.concat([xattrs, item.value]) : item.value;
        datatype = bodyType;
        break;
      case 'no-value':
        value = xattrs ?? EMPTY;
        datatype = 0;
        break;
      case 'no-value-with-datatype':
        value = xattrs ?? EMPTY;
        datatype = bodyType;
        break;
    }
    const extras = Buffer.allocUnsafe(31);
    u64(extras, 0, item.seqno);
    u64(extras, 8, item.revSeqno);
    extras.writeUInt32BE(item.flags >>> 0, 16);
    extras.writeUInt32BE(item.expiry >>> 0, 20);
    extras.writeUInt32BE(0, 24); // lock time
    extras.writeUInt16BE(0, 28); // nmeta
    extras[30] = 0; // nru
    return this.packet(Opcode.DcpMutation, extras, this.key(item), value, xattrs ? datatype | Datatype.Xattr : datatype, item.cas);
  }

  /** DCP_DELETION: V1 extras 18 (by_seqno, rev_seqno, nmeta) or V2 extras 21 (.., delete_time, unused). */
  deletion(item: Item): Packet {
    const xattrs = this.xattrs(item);
    const v2 = this.settings.includeDeleteTimes;
    const extras = Buffer.allocUnsafe(v2 ? 21 : 18);
    u64(extras, 0, item.seqno);
    u64(extras, 8, item.revSeqno);
    if (v2) {
      extras.writeUInt32BE(item.deleteTime >>> 0, 16);
      extras[20] = 0;
    } else {
      extras.writeUInt16BE(0, 16);
    }
    return this.packet(Opcode.DcpDeletion, extras, this.key(item), xattrs ?? EMPTY, xattrs ? Datatype.Xattr : 0, item.cas);
  }

  /** DCP_EXPIRATION, extras 20: by_seqno, rev_seqno, delete_time; or a deletion without the control. */
  expiration(item: Item): Packet {
    if (!this.settings.expiryOpcode) return this.deletion(item);
    const extras = Buffer.allocUnsafe(20);
    u64(extras, 0, item.seqno);
    u64(extras, 8, item.revSeqno);
    extras.writeUInt32BE(item.deleteTime >>> 0, 16);
    return this.packet(Opcode.DcpExpiration, extras, this.key(item), EMPTY, 0, item.cas);
  }

  marker(start: number, end: number, flags: number, purgeSeqno: number): Packet {
    if (this.settings.markerVersion === 'v1') {
      const extras = Buffer.allocUnsafe(20);
      u64(extras, 0, start);
      u64(extras, 8, end);
      extras.writeUInt32BE(flags, 16);
      return this.packet(Opcode.DcpSnapshotMarker, extras, EMPTY, EMPTY, 0, 0n);
    }
    return encodeSnapshotMarker({
      ...this.header,
      version: 'v2.2',
      startSeqno: start,
      endSeqno: end,
      flags,
      maxVisibleSeqno: end,
      highCompletedSeqno: 0,
      purgeSeqno,
      highPreparedSeqno: 0,
    });
  }

  seqnoAdvanced(seqno: number): Packet {
    return encodeSeqnoAdvanced({ ...this.header, seqno });
  }

  streamEnd(reason: number): Packet {
    return encodeStreamEnd({ ...this.header, reason });
  }
}
