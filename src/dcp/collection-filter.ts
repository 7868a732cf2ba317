/**
 * A stream's collection filter at run time: kv_engine's Collections::VB::Filter
 * (engines/ep/src/collections/vbucket_filter.cc), applied in two places:
 *
 * - `reads(cid)` is handed to the engine follower (`bucket.follow(vb, {collections})`), which skips
 *   the records it refuses without copying their values. Documents of a collection the current
 *   manifest lacks are logically deleted (dropped, purge pending) and never sent, as kv's
 *   backfill skips them. A scope filter asks the manifest for the record's scope, so a collection
 *   created later in the scope is carried from its first document (kv inserts it into the filter
 *   when its create event passes), and system events (collection 1) always reach the stream,
 *   except on legacy streams.
 * - `systemEvent(info, deleted)` decides whether a system event is sent, and keeps the filter up
 *   to date as kv's checkAndUpdateSystemEvent does: a dropped collection leaves a collections
 *   filter, a dropped scope empties a scope filter. A collections filter carries no scope events.
 *   The request's `uid` plays no part (kv_engine 7.x ignores it).
 *
 * `empty` then says the stream has nothing left to carry and must end with FilterEmpty (kv
 * ActiveStream::processItems). A legacy stream learns of its `_default` collection's drop from
 * the bucket's manifest (it reads no system events): `manifestChanged`.
 */
import { DEFAULT_ID, SYSTEM_COLLECTION_ID, type Manifest } from '../engine/manifest.js';
import type { Bucket } from '../engine/bucket.js';
import type { SystemEventInfo } from '../engine/bucket-collections.js';
import type { CollectionFilter } from '../engine/types.js';
import type { FilterSpec } from './stream-filter.js';

export class StreamCollectionFilter {
  /** Collections of a collections filter still in it (drops remove them). */
  private readonly ids: Set<number>;
  private scopeDropped = false;
  private defaultDropped = false;
  /** The predicate the follower applies to each record's collection. */
  readonly reads: CollectionFilter;

  constructor(
    bucket: Bucket,
    readonly spec: FilterSpec,
  ) {
    this.ids = new Set(spec.kind === 'collections' ? spec.ids : []);
    const ids = this.ids;
    switch (spec.kind) {
      case 'legacy':
        this.reads = (cid) => cid === DEFAULT_ID && bucket.manifest.hasCollection(DEFAULT_ID);
        break;
      case 'all':
        this.reads = (cid) => cid === SYSTEM_COLLECTION_ID || bucket.manifest.hasCollection(cid);
        break;
      case 'collections':
        this.reads = (cid) => cid === SYSTEM_COLLECTION_ID || (ids.has(cid) && bucket.manifest.hasCollection(cid));
        break;
      case 'scope': {
        const scopeId = spec.scopeId;
        this.reads = (cid) => cid === SYSTEM_COLLECTION_ID || bucket.manifest.collection(cid)?.scopeId === scopeId;
        break;
      }
    }
  }

  /** Legacy streams: no system events, no LEB128 keys, no SEQNO_ADVANCED. */
  get legacy(): boolean {
    return this.spec.kind === 'legacy';
  }

  get empty(): boolean {
    switch (this.spec.kind) {
      case 'legacy':
        return this.defaultDropped;
      case 'all':
        return false;
      case 'collections':
        return this.ids.size === 0;
      case 'scope':
        return this.scopeDropped;
    }
  }

  /** Whether to send this system event; updates the filter (kv Filter::checkAndUpdateSystemEvent). */
  systemEvent(e: SystemEventInfo): boolean {
    const spec = this.spec;
    if (e.type === 'create-collection' || e.type === 'drop-collection') {
      const cid = e.collectionId ?? DEFAULT_ID;
      const removed = e.type === 'drop-collection' && this.ids.delete(cid);
      if (spec.kind === 'legacy') return false;
      if (spec.kind === 'all' || removed) return true;
      if (spec.kind === 'scope') return e.scopeId === spec.scopeId;
      return this.ids.has(cid);
    }
    const ours = spec.kind === 'scope' && e.scopeId === spec.scopeId;
    if (ours && e.type === 'drop-scope') this.scopeDropped = true;
    if (spec.kind === 'legacy') return false;
    return spec.kind === 'all' || ours;
  }

  /** The bucket's manifest changed: a legacy stream ends once `_default` is gone. */
  manifestChanged(m: Manifest): void {
    if (this.spec.kind === 'legacy' && !m.hasCollection(DEFAULT_ID)) this.defaultDropped = true;
  }
}
