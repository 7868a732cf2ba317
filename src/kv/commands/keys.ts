/**
 * Request keys and datatypes as the session negotiated them.
 *
 * With HELLO Collections granted, every key starts with its collection id in unsigned LEB128
 * (kv docs/Collections.md "Collection-aware clients"; SDK: core/document_id.cxx
 * `make_protocol_key`), in its shortest form and at most 5 bytes (codec/leb128.ts
 * `decodeCollectionPrefix`; anything else is EINVAL). The command then runs on
 * `bucket.collection(id)`; an id not in the manifest is UNKNOWN_COLLECTION carrying the manifest
 * uid, which replies.ts returns as `{"manifest_uid":"<hex>"}`. Without the feature the key is the
 * whole key and the connection reaches the `_default` collection only (a "legacy client").
 *
 * The hot path stays cheap: ids below 0x80 are one byte read straight off the key, and the
 * default collection is the bucket's own `Collection` object, so a cid-0 request allocates
 * nothing beyond the key's subarray. Datatype bits in replies are only those the client
 * negotiated (dcp.md §1.3).
 */
import { decodeCollectionPrefix } from '../../codec/leb128.js';
import { Feature } from '../../codec/features.js';
import { Datatype } from '../../codec/datatype.js';
import { EngineError } from '../../engine/errors.js';
import { detectDatatype } from '../../engine/mutations.js';
import type { Collection } from '../../engine/collection.js';
import { splitXattrValue } from '../../codec/xattr.js';
import { Status } from '../../codec/status.js';
import { KvReplyError } from '../errors.js';
import type { Session } from '../session.js';

export function collectionsEnabled(session: Session): boolean {
  return session.features.has(Feature.Collections);
}

function missingPrefix(): EngineError {
  return new EngineError('EINVAL', 'missing collection id (the connection negotiated Collections)');
}

/** Ids 1-7 are kv_engine's reserved ones (CollectionID::isReserved: 1 is the system collection). */
const LAST_RESERVED_ID = 7;
/**
 * The longest document key in a collection other than `_default`: kv_engine's
 * MaxCollectionsLogicalKeyLen, so that a key fits whatever the length of its collection id's
 * LEB128 (the `_default` collection keeps the pre-collections 250, which the engine checks).
 */
const MAX_LOGICAL_KEY = 246;

/**
 * The collection a request key addresses; UNKNOWN_COLLECTION when the id is not in the manifest.
 * Every key-carrying command calls this before `documentKey`, so the prefix checks of kv_engine's
 * `is_document_key_valid` (daemon/mcbp_validators.cc) live here: a reserved id (1-7) or a logical
 * key over 246 bytes in a named collection is EINVAL, before the manifest is looked at.
 */
export function collectionOf(session: Session, key: Buffer): Collection {
  const bucket = session.bucket!;
  if (!collectionsEnabled(session)) return bucket.collection(0);
  const first = key[0];
  if (first === undefined) throw missingPrefix();
  let id = first;
  let prefixLength = 1;
  if (first >= 0x80) ({ value: id, length: prefixLength } = decodeCollectionPrefix(key));
  if (id === 0) return bucket.collection(0);
  if (id <= LAST_RESERVED_ID) throw new EngineError('EINVAL', `Invalid collection-id:${id}`);
  if (key.length - prefixLength > MAX_LOGICAL_KEY) throw new EngineError('EINVAL', `Logical key exceeds ${MAX_LOGICAL_KEY}`);
  // Checked here rather than left to the collection's own check, so that a client naming
  // arbitrary ids cannot make the bucket keep a Collection object per id it tried.
  const manifest = bucket.manifest;
  if (!manifest.hasCollection(id)) {
    throw manifest.unknownCollection(id);
  }
  return bucket.collection(id);
}

/** The document key of a request (collection prefix removed). */
export function documentKey(session: Session, key: Buffer): Buffer {
  if (!collectionsEnabled(session)) return key;
  const first = key[0];
  if (first === undefined) throw missingPrefix();
  return key.subarray(first < 0x80 ? 1 : decodeCollectionPrefix(key).length);
}

/**
 * Datatype of an incoming value. The JSON bit is the server's decision, not the client's: kv_engine
 * "do[es] not trust what the client sent - instead we check for ourselves"
 * (steppable_command_context.cc setDatatypeJSONFromValue), so a value flagged JSON that is not
 * valid JSON, or nests deeper than the bucket's limit, is stored raw (datatype 0).
 */
export function incomingDatatype(datatype: number, value: Buffer, maxJsonDepth: number): number {
  if ((datatype & ~Datatype.Json) !== 0) {
    throw new EngineError('EINVAL', `datatype 0x${datatype.toString(16)} not negotiated (no snappy or xattr values)`);
  }
  return detectDatatype(value, maxJsonDepth);
}

/** A stored value from a request: the body, its datatype, and the xattrs a value with datatype XATTR carried. */
export interface IncomingValue {
  readonly value: Buffer;
  readonly datatype: number;
  /** Present only when the request carried xattrs: they replace the document's. */
  readonly xattrs?: Buffer | null;
}

/**
 * A SET/ADD/REPLACE value. With HELLO XATTR negotiated, datatype bit 0x04 means the value starts
 * with an xattr blob (codec/xattr.ts) whose pairs become the document's xattrs, as kv_engine
 * stores them (docs/Document.md "Extended attributes"); a malformed blob, or a value in it that is
 * not JSON, is XATTR_EINVAL (0x87). Without the feature the bit is refused as before.
 */
export function incomingValue(session: Session, datatype: number, value: Buffer, maxJsonDepth: number): IncomingValue {
  if ((datatype & Datatype.Xattr) === 0 || !session.features.has(Feature.Xattr)) {
    return { value, datatype: incomingDatatype(datatype, value, maxJsonDepth) };
  }
  let split;
  try {
    split = splitXattrValue(value);
    if (split.xattrs !== null) JSON.parse(split.xattrs.toString('utf8'));
  } catch (err) {
    throw new KvReplyError(Status.XattrEinval, `invalid xattr section: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { value: split.body, datatype: incomingDatatype(datatype & ~Datatype.Xattr, split.body, maxJsonDepth), xattrs: split.xattrs };
}

export function outgoingDatatype(session: Session, stored: number): number {
  return session.features.has(Feature.Json) ? stored & Datatype.Json : 0;
}
