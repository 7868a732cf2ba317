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
 * - Deletions carry no body, only xattrs when included (Couchbase tombstones hold xattrs only;
 *   Freshet's HTTP face may keep a body on a tombstone, which is never sent). V1 (18-byte extras)
 *   unless opened with IncludeDeleteTimes, then V2 (21 bytes, delete time).
 * - Expirations are DCP_EXPIRATION only with `enable_expiry_opcode` (which needs delete times),
 *   otherwise deletions (kv producer.cc `DcpProducer::step`, Expiration case).
 * - delete_time: the tombstone's real delete time. kv sends 0 for deletes still in memory; every
 *   item Freshet streams is already persisted, so it always has the time to give.
 * - Snapshot markers: V1, or V2.2 after `max_marker_version=2.2` (V2.0 is for sync replication,
 *   which Freshet does not offer).
 */
import { Datatype } from '../codec/datatype.js';
import type { Packet } from '../codec/packet.js';
import type { DcpStreamHeader } from '../codec/dcp/common.js';
import { encodeDcpMutation } from '../codec/dcp/mutation.js';
import { encodeDcpDeletion } from '../codec/dcp/deletion.js';
import { encodeDcpExpiration } from '../codec/dcp/expiration.js';
import { encodeSnapshotMarker } from '../codec/dcp/snapshot-marker.js';
import { encodeStreamEnd } from '../codec/dcp/stream-end.js';
import { encodeSeqnoAdvanced } from '../codec/dcp/seqno-advanced.js';
import type { Item } from '../engine/types.js';
import { encodeXattrBlob } from './xattr-blob.js';
import type { ProducerSettings } from './settings.js';

const DEFAULT_COLLECTION_PREFIX = Buffer.from([0x00]);
const EMPTY = Buffer.alloc(0);

export class MessageBuilder {
  constructor(
    private readonly settings: ProducerSettings,
    readonly header: DcpStreamHeader,
  ) {}

  private key(item: Item): Buffer {
    return this.settings.collections ? Buffer.concat([DEFAULT_COLLECTION_PREFIX, item.key], item.key.length + 1) : item.key;
  }

  /** The xattr blob to send for this item, if the connection wants xattrs and the item has some. */
  private xattrs(item: Item): Buffer | null {
    return this.settings.includeXattrs ? encodeXattrBlob(item.xattrs) : null;
  }

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
    return encodeDcpMutation({
      ...this.header,
      key: this.key(item),
      value,
      cas: item.cas,
      datatype: xattrs ? datatype | Datatype.Xattr : datatype,
      bySeqno: item.seqno,
      revSeqno: item.revSeqno,
      flags: item.flags,
      expiration: item.expiry,
    });
  }

  deletion(item: Item): Packet {
    const xattrs = this.xattrs(item);
    const common = {
      ...this.header,
      key: this.key(item),
      value: xattrs ?? EMPTY,
      datatype: xattrs ? Datatype.Xattr : 0,
      cas: item.cas,
      bySeqno: item.seqno,
      revSeqno: item.revSeqno,
    };
    return this.settings.includeDeleteTimes
      ? encodeDcpDeletion({ ...common, version: 2, deleteTime: item.deleteTime })
      : encodeDcpDeletion({ ...common, version: 1 });
  }

  expiration(item: Item): Packet {
    if (!this.settings.expiryOpcode) return this.deletion(item);
    return encodeDcpExpiration({
      ...this.header,
      key: this.key(item),
      cas: item.cas,
      bySeqno: item.seqno,
      revSeqno: item.revSeqno,
      deleteTime: item.deleteTime,
    });
  }

  marker(start: number, end: number, flags: number, purgeSeqno: number): Packet {
    if (this.settings.markerVersion === 'v1') {
      return encodeSnapshotMarker({ ...this.header, version: 'v1', startSeqno: start, endSeqno: end, flags });
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
