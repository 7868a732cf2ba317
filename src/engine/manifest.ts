/**
 * A bucket's collections manifest: its scopes, their collections, and a uid that grows with every
 * change (kv_engine docs/Collections.md; ns_server collections.erl). A pure value: every change
 * returns a new manifest, so a reader holding one sees a consistent picture while the engine
 * commits the next (bucket-collections.ts persists it and writes the system events).
 *
 * Ids: `_default` scope and collection are 0; collection id 1 is reserved for system events
 * (kv_engine CollectionID::System) and ids 2-7 are reserved too, so new scopes and collections
 * take ids from 8 up, each from its own counter that never goes back (a dropped id is never
 * reused, so an old id in a client's hand can only mean "dropped").
 *
 * The JSON form is the one GET_COLLECTIONS_MANIFEST (0xba) returns, and `GET
 * /pools/default/buckets/B/scopes` with ns_server's stored properties added (mgmt/
 * collections-routes.ts): ids and the uid as lower-case hex strings.
 */
import { EngineError } from './errors.js';

/** Key of the manifest record in the bucket's collections database (bucket-collections.ts). */
export const MANIFEST_KEY = Buffer.from('manifest');

export const DEFAULT_ID = 0;
/** Collection id of the system-event keys in each vbucket's history (kv_engine CollectionID::System). */
export const SYSTEM_COLLECTION_ID = 1;
const FIRST_ID = 8;
export const DEFAULT_NAME = '_default';
/**
 * ns_server's per-bucket limits (collections.erl `max_scopes_per_bucket` /
 * `max_collections_per_bucket`, ?MAX_SCOPES_SUPPORTED / ?MAX_COLLECTIONS_SUPPORTED). They bound its
 * `num_scopes` and `num_collections` counters, which leave out the `_default` scope and collection:
 * a bucket holds up to this many besides them.
 */
export const MAX_SCOPES = 1000;
export const MAX_COLLECTIONS = 1000;
/** Names: 1-251 of [A-Za-z0-9_%-], not starting with `_` or `%` (ns_server collections.erl). */
const NAME_RE = /^[A-Za-z0-9_%-]{1,251}$/;

export interface ScopeEntry {
  readonly id: number;
  readonly name: string;
}

export interface CollectionEntry {
  readonly id: number;
  readonly name: string;
  readonly scopeId: number;
  /**
   * Seconds; 0 = the bucket's maxTTL applies (kv_engine: a collection without max_ttl); -1 = its
   * documents never expire whatever the bucket's maxTTL (Couchbase 7.6; see `COLLECTION_NO_EXPIRY`).
   */
  readonly maxTTL: number;
}

/**
 * A collection maxTTL meaning "never expire", overriding the bucket's (Couchbase 7.6: what the
 * SDKs send as maxExpiry -1 and read back as -1). kv_engine holds it as a collection maxTTL that
 * is present and 0 (Collections::VB::Manifest::processExpiryTime: a collection that has a maxTTL
 * uses it, and 0 means no limit), so the KV and DCP forms carry it as 0.
 */
export const COLLECTION_NO_EXPIRY = -1;
const MAX_TTL = 0x7fffffff;

/** Why a collection maxTTL is refused, or null: -1 (never expire), 0 (the bucket's) to 2^31-1. */
function maxTTLError(maxTTL: number): string | null {
  return Number.isInteger(maxTTL) && maxTTL >= COLLECTION_NO_EXPIRY && maxTTL <= MAX_TTL ? null : `maxTTL must be an integer from -1 to ${MAX_TTL}`;
}

export interface ManifestData {
  readonly uid: number;
  readonly nextScopeId: number;
  readonly nextCollectionId: number;
  readonly scopes: readonly ScopeEntry[];
  readonly collections: readonly CollectionEntry[];
}

/** What a change did, for the system events each vbucket records. */
export type ManifestEvent =
  | { readonly type: 'create-collection'; readonly collection: CollectionEntry }
  | { readonly type: 'drop-collection'; readonly collection: CollectionEntry }
  | { readonly type: 'create-scope'; readonly scope: ScopeEntry }
  | { readonly type: 'drop-scope'; readonly scope: ScopeEntry };

/** A manifest change as a system event records it (bucket-collections.ts SystemEventInfo). */
export interface RemoteEvent {
  readonly type: ManifestEvent['type'];
  readonly manifestUid: number;
  readonly scopeId: number;
  readonly collectionId?: number;
  readonly name: string;
  readonly maxTTL?: number;
}

export interface ManifestJson {
  uid: string;
  scopes: Array<{ name: string; uid: string; collections: Array<{ name: string; uid: string; maxTTL?: number }> }>;
}

const hex = (n: number): string => n.toString(16);

/** Why a scope or collection name is refused, or null when it is valid. */
export function nameError(name: string): string | null {
  if (!NAME_RE.test(name)) return 'Name must be 1-251 characters of A-Z, a-z, 0-9, _, - and %';
  if (name.startsWith('_') || name.startsWith('%')) return 'Name cannot start with _ or %';
  return null;
}

export class Manifest {
  readonly uid: number;
  readonly #data: ManifestData;
  readonly #scopes = new Map<number, ScopeEntry>();
  readonly #collections = new Map<number, CollectionEntry>();
  readonly #scopeByName = new Map<string, ScopeEntry>();
  readonly #byPath = new Map<string, CollectionEntry>();

  constructor(data: ManifestData) {
    this.#data = data;
    this.uid = data.uid;
    for (const s of data.scopes) {
      this.#scopes.set(s.id, s);
      this.#scopeByName.set(s.name, s);
    }
    for (const c of data.collections) {
      this.#collections.set(c.id, c);
      this.#byPath.set(`${this.#scopes.get(c.scopeId)!.name}.${c.name}`, c);
    }
  }

  /** A new bucket's manifest: the `_default` scope holding the `_default` collection, uid 0. */
  static initial(): Manifest {
    return new Manifest({
      uid: 0,
      nextScopeId: FIRST_ID,
      nextCollectionId: FIRST_ID,
      scopes: [{ id: DEFAULT_ID, name: DEFAULT_NAME }],
      collections: [{ id: DEFAULT_ID, name: DEFAULT_NAME, scopeId: DEFAULT_ID, maxTTL: 0 }],
    });
  }

  toData(): ManifestData {
    return this.#data;
  }

  collection(id: number): CollectionEntry | undefined {
    return this.#collections.get(id);
  }
  hasCollection(id: number): boolean {
    return this.#collections.has(id);
  }
  scope(id: number): ScopeEntry | undefined {
    return this.#scopes.get(id);
  }
  scopeByName(name: string): ScopeEntry | undefined {
    return this.#scopeByName.get(name);
  }
  /** `scope.collection`, names as given. */
  collectionByPath(scope: string, collection: string): CollectionEntry | undefined {
    return this.#byPath.get(`${scope}.${collection}`);
  }
  get collections(): readonly CollectionEntry[] {
    return this.#data.collections;
  }
  get scopes(): readonly ScopeEntry[] {
    return this.#data.scopes;
  }
  collectionsOf(scopeId: number): CollectionEntry[] {
    return this.#data.collections.filter((c) => c.scopeId === scopeId);
  }
  /** `scope.collection` of a collection id, or undefined when it is not in this manifest. */
  pathOf(id: number): { scope: string; collection: string } | undefined {
    const c = this.#collections.get(id);
    return c && { scope: this.#scopes.get(c.scopeId)!.name, collection: c.name };
  }

  createScope(name: string): { manifest: Manifest; events: ManifestEvent[] } {
    const why = nameError(name);
    if (why) throw new EngineError('EINVAL', why, { field: 'name' });
    if (this.#scopeByName.has(name)) throw new EngineError('SCOPE_EXISTS', `Scope with name "${name}" already exists`);
    if (this.#data.scopes.filter((s) => s.id !== DEFAULT_ID).length >= MAX_SCOPES) throw new EngineError('LIMIT', `Maximum number of scopes has been reached`);
    const scope: ScopeEntry = { id: this.#data.nextScopeId, name };
    const manifest = new Manifest({ ...this.#data, uid: this.uid + 1, nextScopeId: scope.id + 1, scopes: [...this.#data.scopes, scope] });
    return { manifest, events: [{ type: 'create-scope', scope }] };
  }

  createCollection(scopeName: string, name: string, maxTTL = 0): { manifest: Manifest; events: ManifestEvent[] } {
    const scope = this.#scopeByName.get(scopeName);
    if (!scope) throw new EngineError('UNKNOWN_SCOPE', `Scope with name "${scopeName}" is not found`, { manifestUid: this.uid });
    const why = nameError(name);
    if (why) throw new EngineError('EINVAL', why, { field: 'name' });
    const ttlWhy = maxTTLError(maxTTL);
    if (ttlWhy) throw new EngineError('EINVAL', ttlWhy, { field: 'maxTTL' });
    if (this.#byPath.has(`${scopeName}.${name}`)) throw new EngineError('COLLECTION_EXISTS', `Collection with name "${name}" in scope "${scopeName}" already exists`);
    if (this.#data.collections.filter((c) => c.id !== DEFAULT_ID).length >= MAX_COLLECTIONS) throw new EngineError('LIMIT', 'Maximum number of collections has been reached');
    const collection: CollectionEntry = { id: this.#data.nextCollectionId, name, scopeId: scope.id, maxTTL };
    const manifest = new Manifest({
      ...this.#data,
      uid: this.uid + 1,
      nextCollectionId: collection.id + 1,
      collections: [...this.#data.collections, collection],
    });
    return { manifest, events: [{ type: 'create-collection', collection }] };
  }

  /**
   * Change a collection's maxTTL (ns_server 7.6 collections.erl `modify_collection`; kv_engine
   * applies it to writes from then on, documents already written keep their expiry). The same
   * manifest when nothing changes (ns_server answers the current uid without a new manifest).
   * kv_engine records the change as a ModifyCollection system event that it sends only to DCP
   * streams with FlatBuffers system events (ActiveStream::shouldProcessItem), which Freshet does
   * not offer; so no event is written and only the manifest (and its uid) changes.
   */
  modifyCollection(scopeName: string, name: string, settings: { maxTTL?: number }): { manifest: Manifest; events: ManifestEvent[] } {
    if (!this.#scopeByName.has(scopeName)) throw new EngineError('UNKNOWN_SCOPE', `Scope with name "${scopeName}" is not found`, { manifestUid: this.uid });
    const current = this.#byPath.get(`${scopeName}.${name}`);
    if (!current) throw new EngineError('UNKNOWN_COLLECTION', `Collection with name "${name}" in scope "${scopeName}" is not found`, { manifestUid: this.uid });
    const maxTTL = settings.maxTTL ?? current.maxTTL;
    const ttlWhy = maxTTLError(maxTTL);
    if (ttlWhy) throw new EngineError('EINVAL', ttlWhy, { field: 'maxTTL' });
    if (maxTTL === current.maxTTL) return { manifest: this, events: [] };
    const changed: CollectionEntry = { ...current, maxTTL };
    const manifest = new Manifest({ ...this.#data, uid: this.uid + 1, collections: this.#data.collections.map((c) => (c === current ? changed : c)) });
    return { manifest, events: [] };
  }

  dropCollection(scopeName: string, name: string): { manifest: Manifest; events: ManifestEvent[] } {
    if (!this.#scopeByName.has(scopeName)) throw new EngineError('UNKNOWN_SCOPE', `Scope with name "${scopeName}" is not found`, { manifestUid: this.uid });
    const collection = this.#byPath.get(`${scopeName}.${name}`);
    if (!collection) throw new EngineError('UNKNOWN_COLLECTION', `Collection with name "${name}" in scope "${scopeName}" is not found`, { manifestUid: this.uid });
    const manifest = new Manifest({ ...this.#data, uid: this.uid + 1, collections: this.#data.collections.filter((c) => c !== collection) });
    return { manifest, events: [{ type: 'drop-collection', collection }] };
  }

  /** Dropping a scope drops its collections first (one event each), then the scope. */
  dropScope(name: string): { manifest: Manifest; events: ManifestEvent[] } {
    const scope = this.#scopeByName.get(name);
    if (!scope) throw new EngineError('UNKNOWN_SCOPE', `Scope with name "${name}" is not found`, { manifestUid: this.uid });
    if (scope.id === DEFAULT_ID) throw new EngineError('EINVAL', 'Deleting _default scope is not allowed');
    const dropped = this.collectionsOf(scope.id);
    const manifest = new Manifest({
      ...this.#data,
      uid: this.uid + 1,
      scopes: this.#data.scopes.filter((s) => s !== scope),
      collections: this.#data.collections.filter((c) => c.scopeId !== scope.id),
    });
    const events: ManifestEvent[] = dropped.map((collection) => ({ type: 'drop-collection', collection }));
    events.push({ type: 'drop-scope', scope });
    return { manifest, events };
  }

  /**
   * This manifest with one change another node made (a system event replicated to a replica
   * vbucket, cluster/): ids and the uid are the other node's, so every node converges on the same
   * manifest. Returns null when the event is not newer than this manifest or does not apply.
   */
  withRemoteEvent(e: RemoteEvent): { manifest: Manifest; events: ManifestEvent[] } | null {
    if (e.manifestUid <= this.uid) return null;
    const d = this.#data;
    const next = (data: Partial<ManifestData>): Manifest => new Manifest({ ...d, ...data, uid: e.manifestUid });
    switch (e.type) {
      case 'create-scope': {
        if (this.#scopes.has(e.scopeId)) return null;
        const scope: ScopeEntry = { id: e.scopeId, name: e.name };
        return { manifest: next({ scopes: [...d.scopes, scope], nextScopeId: Math.max(d.nextScopeId, e.scopeId + 1) }), events: [{ type: 'create-scope', scope }] };
      }
      case 'create-collection': {
        if (e.collectionId === undefined || this.#collections.has(e.collectionId) || !this.#scopes.has(e.scopeId)) return null;
        const collection: CollectionEntry = { id: e.collectionId, name: e.name, scopeId: e.scopeId, maxTTL: e.maxTTL ?? 0 };
        return {
          manifest: next({ collections: [...d.collections, collection], nextCollectionId: Math.max(d.nextCollectionId, collection.id + 1) }),
          events: [{ type: 'create-collection', collection }],
        };
      }
      case 'drop-collection': {
        const collection = e.collectionId === undefined ? undefined : this.#collections.get(e.collectionId);
        if (!collection) return null;
        return { manifest: next({ collections: d.collections.filter((c) => c !== collection) }), events: [{ type: 'drop-collection', collection }] };
      }
      case 'drop-scope': {
        const scope = this.#scopes.get(e.scopeId);
        if (!scope || scope.id === DEFAULT_ID) return null;
        return { manifest: next({ scopes: d.scopes.filter((s) => s !== scope) }), events: [{ type: 'drop-scope', scope }] };
      }
    }
  }

  /**
   * UNKNOWN_COLLECTION / UNKNOWN_SCOPE for `what` (an id in hex or a name), carrying this
   * manifest's uid, which KV returns as `{"manifest_uid"}` so that clients refresh (kv
   * docs/Collections.md).
   */
  unknownCollection(what: number | string): EngineError {
    const name = typeof what === 'number' ? `0x${what.toString(16)}` : what;
    return new EngineError('UNKNOWN_COLLECTION', `collection ${name} is not in manifest ${this.uid.toString(16)}`, { manifestUid: this.uid });
  }
  unknownScope(what: number | string): EngineError {
    const name = typeof what === 'number' ? `0x${what.toString(16)}` : what;
    return new EngineError('UNKNOWN_SCOPE', `scope ${name} is not in manifest ${this.uid.toString(16)}`, { manifestUid: this.uid });
  }

  toJSON(): ManifestJson {
    return {
      uid: hex(this.uid),
      scopes: this.#data.scopes.map((s) => ({
        name: s.name,
        uid: hex(s.id),
        collections: this.collectionsOf(s.id).map((c) =>
          c.maxTTL ? { name: c.name, uid: hex(c.id), maxTTL: c.maxTTL === COLLECTION_NO_EXPIRY ? 0 : c.maxTTL } : { name: c.name, uid: hex(c.id) },
        ),
      })),
    };
  }
}
