/**
 * Turning engine items into DCP messages for one stream, as the connection negotiated them.
 * Layouts are the codec's (src/codec/dcp/*); this file decides *which* message and *what payload*:
 *
 * - Key: on a collection-aware connection (HELLO Collections) the key is prefixed with the
 *   unsigned-LEB128 id of the item's collection (kv commands/mutation.md "Collections Enabled").
 * - System events (collection-aware streams only): the engine's system-collection items become
 *   DCP_SYSTEM_EVENT with kv's fixed-struct values (codec/dcp/system-event.ts): a collection
 *   create is BeginCollection (version 1 carrying max_ttl when the collection has one, else 0),
 *   a drop EndCollection, and CreateScope / DropScope (kv Collections::VB::Manifest
 *   create/drop event data; docs/dcp/documentation/commands/system_event.md).
 * - Value and datatype (kv commands/mutation.md "The meaning of datatype", active_stream.cc
 *   `shouldModifyItem`): the datatype describes what is transmitted. NoValue sends no body and
 *   datatype 0 (plus XATTR when xattrs are included); NoValueWithUnderlyingDatatype keeps the
 *   document's JSON and XATTR bits (XATTR even when the xattrs are not sent); IncludeXattrs prefixes the xattr blob (codec/xattr.ts) and sets 0x04. DCP
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
import { encodeDcpMutationFrame, encodeDcpMutationFrameFrom } from '../codec/dcp/mutation.js';
import { encodeDcpDeletionFrame } from '../codec/dcp/deletion.js';
import { encodeDcpExpirationFrame } from '../codec/dcp/expiration.js';
import { encodeSnapshotMarker, encodeSnapshotMarkerV1Frame } from '../codec/dcp/snapshot-marker.js';
import { encodeStreamEnd, StreamEndReason } from '../codec/dcp/stream-end.js';
import { encodeSeqnoAdvanced } from '../codec/dcp/seqno-advanced.js';
import { encodeSystemEvent, encodeSystemEventValue, SystemEventId, type SystemEventData } from '../codec/dcp/system-event.js';
import { encodeXattrBlob } from '../codec/xattr.js';
import type { SystemEventInfo } from '../engine/bucket-collections.js';
import type { Item } from '../engine/types.js';
import type { ProducerSettings } from './settings.js';
import {
  RecordOffsets, recordDatatype, recordExpiry, recordFlags, recordHasXattrs, recordItem, recordKeyEnd, recordKeyStart, recordRevSeqno, recordValueStart,
} from '../engine/record-view.js';

/** Where a format-1 (default-collection) record's key starts. */
const DEFAULT_KEY = { collection: 0, start: RecordOffsets.HEADER } as const;

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
    let datatype = noValue === 'no-value' ? 0 : item.datatype & Datatype.Json;
    // NoValueWithUnderlyingDatatype describes the document, not the payload: its XATTR bit stays
    // even when the xattrs are not sent (kv Item::removeBodyAndOrXattrs, item_test.cc
    // testPruneValueAndXattrsUnderlyingDatatype).
    if (noValue === 'no-value-with-datatype' && encodeXattrBlob(item.xattrs) !== null) datatype |= Datatype.Xattr;
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
      item.collection,
    );
  }

  /**
   * DCP_MUTATION of a backfilled record (engine RecordEvent), as `mutation` would send its Item,
   * built from the record's bytes. A record whose xattrs the connection wants takes `mutation`
   * (the blob is built from them).
   */
  storedMutation(raw: Buffer, seqno: number): Buffer {
    if ((this.settings.includeXattrs || this.settings.noValue === 'no-value-with-datatype') && recordHasXattrs(raw)) {
      return this.mutation(recordItem(raw, this.header.vbucket, seqno));
    }
    const noValue = this.settings.noValue;
    const datatype = noValue === 'no-value' ? 0 : recordDatatype(raw) & Datatype.Json;
    // Format 1, every default-collection record, without the object recordKeyStart returns.
    const { collection, start } = raw[0] === RecordOffsets.FORMAT ? DEFAULT_KEY : recordKeyStart(raw);
    const value = noValue === 'value' ? recordValueStart(raw) : -1;
    return encodeDcpMutationFrameFrom(this.prefix, raw, start, recordKeyEnd(raw), collection, value, datatype, RecordOffsets.CAS, seqno, recordRevSeqno(raw), recordFlags(raw), recordExpiry(raw));
  }

  /** DCP_DELETION: V1, or V2 with the delete time after IncludeDeleteTimes; only xattrs as value. */
  deletion(item: Item): Buffer {
    const xattrs = this.xattrs(item);
    const deleteTime = this.settings.includeDeleteTimes ? item.deleteTime : undefined;
    return encodeDcpDeletionFrame(this.prefix, item.key, xattrs, xattrs ? Datatype.Xattr : 0, item.cas, item.seqno, item.revSeqno, deleteTime, item.collection);
  }

  /** DCP_EXPIRATION with the expiry opcode control, else a deletion. */
  expiration(item: Item): Buffer {
    if (!this.settings.expiryOpcode) return this.deletion(item);
    // Like a deletion, it carries the tombstone's xattrs when the connection includes them.
    const xattrs = this.xattrs(item);
    return encodeDcpExpirationFrame(this.prefix, item.key, item.cas, item.seqno, item.revSeqno, item.deleteTime, item.collection, xattrs, xattrs ? Datatype.Xattr : 0);
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

  /** DCP_SYSTEM_EVENT for a system-collection item (`info` = systemEventOf(item)). */
  systemEvent(item: Item, info: SystemEventInfo): Buffer {
    const data = systemEventData(info);
    const named = data.type === 'BeginCollection' || data.type === 'CreateScope';
    return encodePacket(
      encodeSystemEvent(
        {
          ...this.header,
          bySeqno: item.seqno,
          event: SystemEventId[data.type],
          version: data.type === 'BeginCollection' && data.maxTtl !== undefined ? 1 : 0,
          key: named ? Buffer.from(info.name, 'utf8') : Buffer.alloc(0),
          value: encodeSystemEventValue(data),
        },
        { cas: item.cas },
      ),
    );
  }

  seqnoAdvanced(seqno: number): Buffer {
    return encodePacket(encodeSeqnoAdvanced({ ...this.header, seqno }));
  }

  /**
   * A connection that is not collection-aware does not know FilterEmpty or LostPrivileges: kv
   * sends it Ok instead (DcpProducer::mapEndStreamStatus).
   */
  streamEnd(reason: number): Buffer {
    const legacy = !this.settings.collections && (reason === StreamEndReason.FilterEmpty || reason === StreamEndReason.LostPrivileges);
    return encodePacket(encodeStreamEnd({ ...this.header, reason: legacy ? StreamEndReason.Ok : reason }));
  }
}

/** The engine's record of a manifest change as kv's event data (kv Collections::VB::Manifest). */
export function systemEventData(info: SystemEventInfo): Exclude<SystemEventData, { type: 'Opaque' }> {
  const { manifestUid, scopeId } = info;
  const collectionId = info.collectionId ?? 0;
  switch (info.type) {
    case 'create-collection':
      return {
        type: 'BeginCollection',
        name: info.name,
        manifestUid,
        scopeId,
        collectionId,
        // A never-expire collection (-1) is kv_engine's maxTTL present and 0 (manifest.ts COLLECTION_NO_EXPIRY).
        ...(info.maxTTL ? { maxTtl: Math.max(info.maxTTL, 0) } : {}),
      };
    case 'drop-collection':
      return { type: 'EndCollection', manifestUid, scopeId, collectionId };
    case 'create-scope':
      return { type: 'CreateScope', name: info.name, manifestUid, scopeId };
    case 'drop-scope':
      return { type: 'DropScope', manifestUid, scopeId };
  }
}
