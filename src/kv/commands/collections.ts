/**
 * The collection lookups of the KV face: GET_COLLECTIONS_MANIFEST (0xba), GET_COLLECTION_ID (0xbb)
 * and GET_SCOPE_ID (0xbc), answered from the selected bucket's manifest (engine/manifest.ts).
 * SDKs call GET_COLLECTION_ID to resolve `scope.collection` before their first operation on a
 * collection and again when an operation answers UNKNOWN_COLLECTION; the reply to a missing
 * collection carries the manifest uid (replies.ts), and the SDK then fails the operation with
 * CollectionNotFoundError instead of retrying it until its timeout.
 *
 * Paths follow kv_engine (ep KVBucket::getCollectionID / getScopeID, collections/manifest.cc):
 * GET_COLLECTION_ID needs exactly one '.', GET_SCOPE_ID at most one (the scope part is used); an
 * empty part means `_default`; a part that is not 1-251 of [A-Za-z0-9_%-] is EINVAL. An unknown
 * scope answers UNKNOWN_SCOPE, a known scope without that collection UNKNOWN_COLLECTION.
 */
import { Opcode } from '../../codec/opcodes.js';
import type { Packet } from '../../codec/packet.js';
import {
  decodeCollectionIdRequest,
  decodeGetCollectionsManifestRequest,
  encodeCollectionIdResponse,
  encodeGetCollectionsManifestResponse,
} from '../../codec/ops/collections.js';
import { EngineError } from '../../engine/errors.js';
import { DEFAULT_NAME, type Manifest } from '../../engine/manifest.js';
import type { Session } from '../session.js';
import { collectionVisible, scopeVisible } from '../access.js';
import type { CommandSpec } from '../dispatch.js';

/** kv_engine Collections::isValidName: 1-251 characters of A-Z a-z 0-9 _ % - (system names may start with _). */
const PATH_PART = /^[A-Za-z0-9_%-]{1,251}$/;

function part(name: string, what: 'scope' | 'collection'): string {
  const resolved = name === '' ? DEFAULT_NAME : name;
  if (!PATH_PART.test(resolved)) throw new EngineError('EINVAL', `invalid ${what} name in path: ${JSON.stringify(name)}`);
  return resolved;
}

function unknownScope(manifest: Manifest, scope: string): EngineError {
  return manifest.unknownScope(scope);
}

/** `scope.collection` → the collection's id in `manifest`. */
export function collectionIdOfPath(manifest: Manifest, path: string): number {
  const dots = path.split('.');
  if (dots.length !== 2) throw new EngineError('EINVAL', `path must be scope.collection, got ${JSON.stringify(path)}`);
  const scope = part(dots[0]!, 'scope');
  const collection = part(dots[1]!, 'collection');
  if (!manifest.scopeByName(scope)) throw unknownScope(manifest, scope);
  const entry = manifest.collectionByPath(scope, collection);
  if (!entry) {
    throw manifest.unknownCollection(`${scope}.${collection}`);
  }
  return entry.id;
}

/** `scope` or `scope.collection` → the scope's id in `manifest`. */
export function scopeIdOfPath(manifest: Manifest, path: string): number {
  const dots = path.split('.');
  if (dots.length > 2) throw new EngineError('EINVAL', `path must be scope or scope.collection, got ${JSON.stringify(path)}`);
  const scope = part(dots[0]!, 'scope');
  const entry = manifest.scopeByName(scope);
  if (!entry) throw unknownScope(manifest, scope);
  return entry.id;
}

/**
 * A user with privileges on part of the bucket sees only that part (kv_engine filters the
 * manifest it returns, and answers the id lookups as if the rest did not exist; access.ts).
 */
function getManifest(session: Session, req: Packet): Packet {
  decodeGetCollectionsManifestRequest(req);
  const json = session.bucket!.manifest.toJSON();
  json.scopes = json.scopes
    .map((s) => ({ ...s, collections: s.collections.filter((c) => collectionVisible(session, parseInt(c.uid, 16))) }))
    .filter((s) => scopeVisible(session, parseInt(s.uid, 16)));
  return encodeGetCollectionsManifestResponse(JSON.stringify(json), { opaque: req.opaque });
}

function getCollectionId(session: Session, req: Packet): Packet {
  const manifest = session.bucket!.manifest;
  const path = decodeCollectionIdRequest(req);
  const id = collectionIdOfPath(manifest, path);
  if (!collectionVisible(session, id)) {
    throw manifest.unknownCollection(path);
  }
  return encodeCollectionIdResponse(Opcode.CollectionsGetId, { manifestUid: manifest.uid, id }, { opaque: req.opaque });
}

function getScopeId(session: Session, req: Packet): Packet {
  const manifest = session.bucket!.manifest;
  const path = decodeCollectionIdRequest(req);
  const id = scopeIdOfPath(manifest, path);
  if (!scopeVisible(session, id)) throw unknownScope(manifest, path);
  return encodeCollectionIdResponse(Opcode.CollectionsGetScopeId, { manifestUid: manifest.uid, id }, { opaque: req.opaque });
}

export const COLLECTION_COMMANDS: readonly CommandSpec[] = [
  { opcode: Opcode.CollectionsGetManifest, handler: getManifest, auth: true, bucket: true },
  { opcode: Opcode.CollectionsGetId, handler: getCollectionId, auth: true, bucket: true },
  { opcode: Opcode.CollectionsGetScopeId, handler: getScopeId, auth: true, bucket: true },
];
