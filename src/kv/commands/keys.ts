/**
 * Request keys and datatypes as the session negotiated them.
 *
 * With HELLO Collections granted, every key starts with its LEB128 collection id (SDK:
 * core/document_id.cxx `make_protocol_key`); Freshet has only the default collection (id 0), so
 * any other id gets UnknownCollection. Datatype bits in replies are only those the client
 * negotiated (dcp.md §1.3).
 */
import { decodeLeb128 } from '../../codec/leb128.js';
import { Feature } from '../../codec/features.js';
import { Datatype } from '../../codec/datatype.js';
import { Status } from '../../codec/status.js';
import { EngineError } from '../../engine/errors.js';
import { detectDatatype } from '../../engine/mutations.js';
import type { Session } from '../session.js';
import { KvReplyError } from '../errors.js';

export function collectionsEnabled(session: Session): boolean {
  return session.features.has(Feature.Collections);
}

/** The document key of a request (collection prefix removed). */
export function documentKey(session: Session, key: Buffer): Buffer {
  if (!collectionsEnabled(session)) return key;
  if (key.length === 0) throw new EngineError('EINVAL', 'missing collection id');
  const { value, length } = decodeLeb128(key);
  if (value !== 0) throw new KvReplyError(Status.UnknownCollection, `unknown collection id ${value}`);
  return key.subarray(length);
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

export function outgoingDatatype(session: Session, stored: number): number {
  return session.features.has(Feature.Json) ? stored & Datatype.Json : 0;
}
