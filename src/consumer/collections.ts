/**
 * Collections on the consumer side (kv_engine docs/Collections.md, docs/dcp/documentation/
 * stream-request-value.md): which scope/collection names a data source streams, the bucket
 * manifest they are resolved against (GET_COLLECTIONS_MANIFEST 0xba, the same JSON as ns_server's
 * `/pools/default/buckets/B/scopes`), the stream-request JSON filter with hex ids, and a registry
 * of id -> names that system events keep up to date.
 *
 * A data source is collection-aware only when `collections` or `scope` is given; then it
 * negotiates HELLO Collections (keys carry a LEB128 collection-id prefix, system events and
 * SEQNO_ADVANCED flow), like gocbcore's DCP agent and go-dcp. Without them it stays cbdatasource:
 * no HELLO Collections, so the producer sends the default collection only and no system events.
 */
import { makeRequest, Opcode, Status, type SystemEventData } from '../codec/index.js';
import type { KvConnection } from '../client/connection.js';
import { ConsumerError } from './errors.js';

export const DEFAULT_NAME = '_default';

/** What a data source streams: named collections, or a whole scope (kv: both at once is EINVAL). */
export type CollectionFilter =
  | { readonly kind: 'collections'; readonly paths: readonly { readonly scope: string; readonly collection: string }[] }
  | { readonly kind: 'scope'; readonly scope: string }
  | { readonly kind: 'all' };

/** `scope.collection` -> parts; a bare name is refused (kv's GET_COLLECTION_ID needs both). */
export function parseCollectionPath(path: string): { readonly scope: string; readonly collection: string } {
  const m = /^([^.\s]+)\.([^.\s]+)$/.exec(path.trim());
  if (!m) throw new RangeError(`collection "${path}" is not a scope.collection path (e.g. inventory.airport)`);
  return { scope: m[1]!, collection: m[2]! };
}

/** The filter the options ask for, or undefined for a legacy (default collection only) source. */
export function collectionFilterOf(o: { readonly collections?: readonly string[] | undefined; readonly scope?: string | undefined; readonly allCollections?: boolean | undefined }): CollectionFilter | undefined {
  if (o.collections !== undefined && o.scope !== undefined) throw new RangeError('give either collections or scope, not both (kv answers EINVAL to both filters)');
  if (o.allCollections === true) {
    if (o.collections !== undefined || o.scope !== undefined) throw new RangeError('allCollections excludes collections and scope');
    return { kind: 'all' };
  }
  if (o.scope !== undefined) {
    if (o.scope.trim() === '' || o.scope.includes('.')) throw new RangeError(`scope "${o.scope}" is not a scope name`);
    return { kind: 'scope', scope: o.scope.trim() };
  }
  if (o.collections === undefined) return undefined;
  if (o.collections.length === 0) throw new RangeError('collections must name at least one scope.collection');
  // each path once, in the order given
  const unique = new Map(o.collections.map(parseCollectionPath).map((p) => [`${p.scope}.${p.collection}`, p] as const));
  return { kind: 'collections', paths: [...unique.values()] };
}

export interface ManifestCollection {
  readonly id: number;
  readonly name: string;
  readonly scopeId: number;
}

export interface ManifestScope {
  readonly id: number;
  readonly name: string;
  readonly collections: readonly ManifestCollection[];
}

export interface BucketManifest {
  readonly uid: number;
  readonly scopes: readonly ManifestScope[];
}

function hexId(v: unknown, what: string): number {
  if (typeof v !== 'string' || !/^(0x)?[0-9a-f]{1,8}$/i.test(v)) throw new ConsumerError('PROTOCOL', `manifest ${what} "${String(v)}" is not a hex id`);
  return parseInt(v.replace(/^0x/i, ''), 16);
}

/** The manifest JSON ({"uid":"hex","scopes":[{"name","uid","collections":[{"name","uid"}]}]}). */
export function parseManifest(json: string): BucketManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(json) as unknown;
  } catch (e) {
    throw new ConsumerError('PROTOCOL', 'collections manifest is not JSON', {}, { cause: e });
  }
  const d = doc as { uid?: unknown; scopes?: unknown };
  if (typeof d !== 'object' || d === null || !Array.isArray(d.scopes)) throw new ConsumerError('PROTOCOL', 'collections manifest has no scopes');
  const scopes = (d.scopes as unknown[]).map((s): ManifestScope => {
    const sc = s as { name?: unknown; uid?: unknown; collections?: unknown };
    if (typeof sc.name !== 'string' || !Array.isArray(sc.collections)) throw new ConsumerError('PROTOCOL', 'collections manifest: a scope without name or collections');
    const id = hexId(sc.uid, 'scope uid');
    const collections = (sc.collections as unknown[]).map((c): ManifestCollection => {
      const cc = c as { name?: unknown; uid?: unknown };
      if (typeof cc.name !== 'string') throw new ConsumerError('PROTOCOL', 'collections manifest: a collection without a name');
      return { id: hexId(cc.uid, 'collection uid'), name: cc.name, scopeId: id };
    });
    return { id, name: sc.name, collections };
  });
  return { uid: hexId(d.uid, 'uid'), scopes };
}

/** GET_COLLECTIONS_MANIFEST 0xba on a connection that negotiated HELLO Collections. */
export async function fetchManifest(conn: KvConnection): Promise<BucketManifest> {
  const res = await conn.request(makeRequest(Opcode.CollectionsGetManifest, {}));
  if (res.status !== Status.Success) {
    throw new ConsumerError('COLLECTIONS_UNSUPPORTED', `GET_COLLECTIONS_MANIFEST refused: status 0x${res.status.toString(16)}`, { status: res.status });
  }
  return parseManifest(res.value.toString('utf8'));
}

/** A filter resolved against a manifest: the stream-request value and the ids it covers. */
export interface ResolvedFilter {
  /** The DCP_STREAM_REQ JSON value ({"collections":["8"]} or {"scope":"8"}; ids in hex, no 0x). */
  readonly streamValue: Buffer;
  /** Collection ids whose high seqnos mark "now" (max per vbucket); empty: the vbucket's own. */
  readonly collectionIds: readonly number[];
}

/**
 * Names -> ids; unknown names are a ConsumerError UNKNOWN_SCOPE / UNKNOWN_COLLECTION carrying the
 * manifest uid (as kv's 0x88/0x8c bodies do), which no retry can fix.
 */
export function resolveFilter(m: BucketManifest, f: CollectionFilter): ResolvedFilter {
  const scope = (name: string): ManifestScope => {
    const s = m.scopes.find((x) => x.name === name);
    if (!s) throw new ConsumerError('UNKNOWN_SCOPE', `scope "${name}" does not exist (manifest uid ${m.uid.toString(16)})`, { scope: name, manifestUid: m.uid });
    return s;
  };
  if (f.kind === 'all') return { streamValue: Buffer.alloc(0), collectionIds: [] };
  if (f.kind === 'scope') {
    const s = scope(f.scope);
    return { streamValue: Buffer.from(JSON.stringify({ scope: s.id.toString(16) })), collectionIds: s.collections.map((c) => c.id) };
  }
  const ids = f.paths.map((p) => {
    const c = scope(p.scope).collections.find((x) => x.name === p.collection);
    if (!c) {
      const path = `${p.scope}.${p.collection}`;
      throw new ConsumerError('UNKNOWN_COLLECTION', `collection "${path}" does not exist (manifest uid ${m.uid.toString(16)})`, { collection: path, manifestUid: m.uid });
    }
    return c.id;
  });
  return { streamValue: Buffer.from(JSON.stringify({ collections: ids.map((id) => id.toString(16)) })), collectionIds: ids };
}

export interface CollectionName {
  readonly scopeId: number;
  readonly scope: string;
  readonly collection: string;
}

const DEFAULT_COLLECTION: CollectionName = { scopeId: 0, scope: DEFAULT_NAME, collection: DEFAULT_NAME };

/**
 * id -> names for the collections a data source has seen, from manifests and create events. Names
 * are never forgotten on a drop: the other vbuckets may still deliver the collection's items, and
 * ids are never reused (kv). Bounded by the bucket's collection limit.
 */
export class CollectionNames {
  readonly #collections = new Map<number, CollectionName>([[0, DEFAULT_COLLECTION]]);
  readonly #scopes = new Map<number, string>([[0, DEFAULT_NAME]]);

  learnManifest(m: BucketManifest): void {
    for (const s of m.scopes) {
      this.#scopes.set(s.id, s.name);
      for (const c of s.collections) this.#collections.set(c.id, { scopeId: s.id, scope: s.name, collection: c.name });
    }
  }

  /** A system event (create events carry the name; drops keep what was learnt). */
  learnEvent(e: SystemEventData): void {
    if (e.type === 'CreateScope') this.#scopes.set(e.scopeId, e.name);
    else if (e.type === 'BeginCollection') this.#collections.set(e.collectionId, { scopeId: e.scopeId, scope: this.scopeName(e.scopeId), collection: e.name });
  }

  /** Names of a collection id; empty names for one never seen (created and dropped unseen). */
  nameOf(id: number): CollectionName {
    return this.#collections.get(id) ?? { scopeId: -1, scope: '', collection: '' };
  }

  scopeName(id: number): string {
    return this.#scopes.get(id) ?? '';
  }
}
