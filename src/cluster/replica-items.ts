/**
 * DCP item messages → the engine's replicated changes (src/engine/replica.ts), on a connection
 * opened with IncludeXattrs, IncludeDeleteTimes and enable_expiry_opcode (replica-handshake.ts).
 * Layouts: kv docs/dcp/documentation/commands/mutation.md, deletion.md, expiration.md.
 *
 * What travels and what does not (the producer's choices, src/dcp/messages.ts):
 * - Mutations: everything Freshet stores: value, datatype (JSON bit), flags, absolute expiry, CAS,
 *   rev seqno, and the xattrs in front of the value (datatype 0x04).
 * - Deletions: CAS, rev seqno, delete time and the xattrs (user ones too, IncludeDeletedUserXattrs).
 *   Not the tombstone's flags (a DCP deletion has none; stored as 0) nor a body the HTTP face may
 *   keep on a tombstone (kv tombstones have none, so DCP never carries one).
 * - Expirations: CAS, rev seqno, delete time; no xattrs (DCP_EXPIRATION carries no value).
 *
 * Keys and values are copied out of the socket buffer: the engine keeps the item in memory until
 * its write is on disk (the receiver contract of src/consumer/receiver.ts says the same).
 */
import { Datatype, Opcode, decodeDcpDeletion, decodeDcpExpiration, decodeDcpMutation } from '../codec/index.js';
import type { Packet } from '../codec/index.js';
import type { ReplicatedChange } from '../engine/replica.js';
import type { SystemEventData } from '../codec/index.js';
import { COLLECTION_NO_EXPIRY, type Manifest } from '../engine/manifest.js';
import type { SystemEventInfo } from '../engine/bucket-collections.js';
import { splitXattrValue } from '../codec/xattr.js';

const EMPTY = Buffer.alloc(0);

function valueAndXattrs(value: Buffer, datatype: number): { body: Buffer; xattrs: Buffer | null } {
  if ((datatype & Datatype.Xattr) === 0) return { body: Buffer.from(value), xattrs: null };
  const split = splitXattrValue(value);
  return { body: Buffer.from(split.body), xattrs: split.xattrs };
}

/**
 * The change a DCP mutation, deletion or expiration carries; undefined for other opcodes. On a
 * collection-aware feed `key` is the key without its LEB128 prefix and `collection` its id (the
 * consumer library splits them, receiver.ts).
 */
export function replicatedChange(p: Packet, key?: Buffer, collection = 0): ReplicatedChange | undefined {
  const change = decodeChange(p);
  return change && key !== undefined ? { ...change, key: Buffer.from(key), collection } : change;
}

/** A BeginCollection's maxTtl as the engine keeps it: present and 0 is "never expire" (-1, manifest.ts COLLECTION_NO_EXPIRY). */
function replicatedMaxTTL(maxTtl: number | undefined): { maxTTL?: number } {
  if (maxTtl === undefined) return {};
  return { maxTTL: maxTtl === 0 ? COLLECTION_NO_EXPIRY : maxTtl };
}

/**
 * A DCP system event as the engine records it (engine/bucket-collections.ts SystemEventInfo). A
 * drop carries no name on the wire; the name comes from this node's manifest when it knows the
 * id. Undefined for events Freshet does not produce (FlatBuffers, ModifyCollection).
 */
export function systemEventInfo(e: SystemEventData, manifest: Manifest): SystemEventInfo | undefined {
  switch (e.type) {
    case 'BeginCollection':
      return { type: 'create-collection', manifestUid: e.manifestUid, scopeId: e.scopeId, collectionId: e.collectionId, name: e.name, ...replicatedMaxTTL(e.maxTtl) };
    case 'EndCollection':
      return { type: 'drop-collection', manifestUid: e.manifestUid, scopeId: e.scopeId, collectionId: e.collectionId, name: manifest.collection(e.collectionId)?.name ?? '' };
    case 'CreateScope':
      return { type: 'create-scope', manifestUid: e.manifestUid, scopeId: e.scopeId, name: e.name };
    case 'DropScope':
      return { type: 'drop-scope', manifestUid: e.manifestUid, scopeId: e.scopeId, name: manifest.scope(e.scopeId)?.name ?? '' };
    default:
      return undefined;
  }
}

function decodeChange(p: Packet): ReplicatedChange | undefined {
  switch (p.opcode) {
    case Opcode.DcpMutation: {
      const m = decodeDcpMutation(p);
      const { body, xattrs } = valueAndXattrs(m.value, m.datatype);
      return {
        key: Buffer.from(m.key),
        seqno: m.bySeqno,
        revSeqno: m.revSeqno,
        cas: m.cas,
        deleted: false,
        expired: false,
        value: body,
        datatype: m.datatype & Datatype.Json,
        flags: m.flags,
        expiry: m.expiration,
        deleteTime: 0,
        xattrs,
      };
    }
    case Opcode.DcpDeletion: {
      const d = decodeDcpDeletion(p);
      const { xattrs } = valueAndXattrs(d.value, d.datatype);
      return {
        key: Buffer.from(d.key),
        seqno: d.bySeqno,
        revSeqno: d.revSeqno,
        cas: d.cas,
        deleted: true,
        expired: false,
        value: EMPTY,
        datatype: 0,
        flags: 0,
        expiry: 0,
        deleteTime: d.deleteTime ?? 0,
        xattrs,
      };
    }
    case Opcode.DcpExpiration: {
      const e = decodeDcpExpiration(p);
      return {
        key: Buffer.from(e.key),
        seqno: e.bySeqno,
        revSeqno: e.revSeqno,
        cas: e.cas,
        deleted: true,
        expired: true,
        value: EMPTY,
        datatype: 0,
        flags: 0,
        expiry: 0,
        deleteTime: e.deleteTime,
        xattrs: null,
      };
    }
    default:
      return undefined;
  }
}
