/**
 * Turning engine items into DCP messages for one stream, as the connection negotiated them.
 * Layouts are the codec's (src/codec/dcp/*); this file decides *which* message and *what payload*:
 *
 * - Key: on a collection-aware connection (HELLO Collections) the key is prefixed with the
 *   unsigned-LEB128 collection id, always 0x00 here (kv commands/mutation.md "Collections Enabled").
 * - Value and datatype (kv commands/mutation.md "The meaning of datatype", active_stream.cc
 *   `shouldModifyItem`): the datatype describes what is transmitted. NoValue sends no body and
 *   datatype 0 (plus XATTR when xattrs are included); NoValueWithUnderlyingDatatype keeps the
 *   body's JSON bit; IncludeXattrs prefixes the xattr blob (codec/xattr.ts) and sets 0x04. DCP
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
 * Every message leaves here as an encoded frame. Mutations, deletions, expirations and V1 markers
 * are the per-item hot path of a backfill, so they use the codec's single-allocation frame
 * encoders (codec/dcp/common.ts "Frame encoders"); the rarer messages go through its Packet
 * encoders. test/dcp/messages.test.ts checks the frames against golden bytes and the decoders.
 */
import { Datatype } from '../codec/datatype.js';
import { encodePacket } from '../codec/packet.js';
import { dcpFramePrefix, type DcpFramePrefix, type DcpStreamHeader } from '../codec/dcp/common.js';
import { encodeDcpMutationFrame } from '../codec/dcp/mutation.js';
import { encodeDcpDeletionFrame } from '../codec/dcp/deletion.js';
import { encodeDcpExpirationFrame } from '../codec/dcp/expiration.js';
import { encodeSnapshotMarker, encodeSnapshotMarkerV1Frame } from '../codec/dcp/snapshot-marker.js';
import { encodeStreamEnd } from '../codec/dcp/stream-end.js';
import { encodeSeqnoAdvanced } from '../codec/dcp/seqno-advanced.js';
import { encodeXattrBlob } from '../codec/xattr.js';
import type { Item } from '../engine/types.js';
import type { ProducerSettings } from './settings.js';

export class MessageBuilder {
  /** The stream's constant frame parts (magic, stream id, opaque, vbucket, collection keys). */
  private readonly prefix: DcpFramePrefix;

  constructor(
    private readonly settings: ProducerSettings,
    readonly header: DcpStreamHeader,
  ) {
    this.prefix = dcpFramePrefix(header, settings.collections);
  }

  /** The xattr blob to send for this item, if the connection wants xattrs and the item has some. */
  private xattrs(item: Item): Buffer | null {
    if (!this.settings.includeXattrs) return null;
    return encodeXattrBlob(item.xattrs, item.deleted && !this.settings.includeDeletedUserXattrs);
  }

  /** DCP_MUTATION: xattrs (if any) then the body unless NoValue; the datatype says which. */
  mutation(item: Item): Buffer {
    const xattrs = this.xattrs(item);
    const noValue = this.settings.noValue;
    const datatype = noValue === 'no-value' ? 0 : item.datatype & Datatype.Json;
    return encodeDcpMutationFrame(
      this.prefix,
      item.key,
      xattrs,
      noValue === 'value' ? item.value : null,
      xattrs ? datatype | Datatype.Xattr : datatype,
      item.cas,
      item.seqno,
      item.revSeqno,
      item.flags,
      item.expiry,
    );
  }

  /** DCP_DELETION: V1, or V2 with the delete time after IncludeDeleteTimes; only xattrs as value. */
  deletion(item: Item): Buffer {
    const xattrs = this.xattrs(item);
    const deleteTime = this.settings.includeDeleteTimes ? item.deleteTime : undefined;
    return encodeDcpDeletionFrame(this.prefix, item.key, xattrs, xattrs ? Datatype.Xattr : 0, item.cas, item.seqno, item.revSeqno, deleteTime);
  }

  /** DCP_EXPIRATION with the expiry opcode control, else a deletion. */
  expiration(item: Item): Buffer {
    if (!this.settings.expiryOpcode) return this.deletion(item);
    return encodeDcpExpirationFrame(this.prefix, item.key, item.cas, item.seqno, item.revSeqno, item.deleteTime);
  }

  marker(start: number, end: number, flags: number, purgeSeqno: number): Buffer {
    if (this.settings.markerVersion === 'v1') return encodeSnapshotMarkerV1Frame(this.prefix, start, end, flags);
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
