/**
 * The collection commands of the KV protocol: GET_COLLECTIONS_MANIFEST 0xba, GET_COLLECTION_ID
 * 0xbb and GET_SCOPE_ID 0xbc. Source: kv docs/BinaryProtocol.md and docs/Collections.md
 * ("Collection ID lookup"); the SDK side is couchbase-cxx-client protocol/cmd_get_collection_id
 * and gocbcore's `GetCollectionID`.
 *
 * GET_COLLECTIONS_MANIFEST: no extras, key or value; the response value is the manifest JSON
 *   (`{"uid":"<hex>","scopes":[{"name","uid","collections":[{"name","uid","maxTTL"?}]}]}`).
 * GET_COLLECTION_ID: the path `scope.collection` in the value (the C++ SDK) or in the key
 *   (older clients); either name may be empty, meaning `_default`. Response extras 12 bytes:
 *   manifest uid (u64) + collection id (u32).
 * GET_SCOPE_ID: the path `scope` (or `scope.collection`, whose scope part is used) likewise;
 *   response extras 12 bytes: manifest uid (u64) + scope id (u32).
 */
import { BufferReader } from '../buffer-reader.js';
import { BufferWriter } from '../buffer-writer.js';
import { Opcode } from '../opcodes.js';
import { Datatype } from '../datatype.js';
import { expectExtras, expectKey, expectNoValue, expectOpcode, layoutError } from '../layout.js';
import { makeRequest, makeResponse } from '../packet.js';
import type { Packet, PacketInit } from '../packet.js';

export type CollectionIdOpcode = typeof Opcode.CollectionsGetId | typeof Opcode.CollectionsGetScopeId;

/** The lookup answer: the manifest uid the id belongs to, and the collection (or scope) id. */
export interface CollectionIdResponse {
  readonly manifestUid: number;
  readonly id: number;
}

export function encodeGetCollectionsManifestRequest(init: PacketInit = {}): Packet {
  return makeRequest(Opcode.CollectionsGetManifest, init);
}

export function decodeGetCollectionsManifestRequest(p: Packet): void {
  expectOpcode(p, Opcode.CollectionsGetManifest);
  expectExtras(p, 0);
  expectKey(p, false);
  expectNoValue(p);
}

export function encodeGetCollectionsManifestResponse(manifestJson: string, init: PacketInit = {}): Packet {
  return makeResponse(Opcode.CollectionsGetManifest, { datatype: Datatype.Json, ...init, value: Buffer.from(manifestJson) });
}

/** A lookup request with the path in the value, as the C++ SDK sends it (`inKey` for the key form). */
export function encodeCollectionIdRequest(opcode: CollectionIdOpcode, path: string, opts: { inKey?: boolean } = {}, init: PacketInit = {}): Packet {
  const bytes = Buffer.from(path, 'utf8');
  return makeRequest(opcode, { ...init, ...(opts.inKey === true ? { key: bytes } : { value: bytes }) });
}

/** The path of a lookup request: the value when there is one, else the key. */
export function decodeCollectionIdRequest(p: Packet): string {
  expectOpcode(p, Opcode.CollectionsGetId, Opcode.CollectionsGetScopeId);
  expectExtras(p, 0);
  if (p.key.length > 0 && p.value.length > 0) throw layoutError(p, 'the path goes in the key or the value, not both');
  return (p.value.length > 0 ? p.value : p.key).toString('utf8');
}

export function encodeCollectionIdResponse(opcode: CollectionIdOpcode, res: CollectionIdResponse, init: PacketInit = {}): Packet {
  const extras = new BufferWriter(12).u64(res.manifestUid).u32(res.id).toBuffer();
  return makeResponse(opcode, { ...init, extras });
}

export function decodeCollectionIdResponse(p: Packet): CollectionIdResponse {
  expectOpcode(p, Opcode.CollectionsGetId, Opcode.CollectionsGetScopeId);
  expectExtras(p, 12);
  const r = new BufferReader(p.extras);
  return { manifestUid: r.u64Number('manifest uid'), id: r.u32() };
}
