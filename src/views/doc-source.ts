/**
 * The documents a view indexes, read from the keyspace's change history (engine change-scan.ts,
 * one collection): each change is the current version of one document, so the index follows
 * `_changes` as CouchDB's indexer follows its by-seq tree. A map function sees the winning
 * revision as CouchDB hands it over: `_id`, `_rev`, the body, `_attachments` stubs and
 * `_conflicts` (couch_mrview_updater opens documents with `conflicts`). Deleted documents and
 * documents with no JSON form (opaque KV values, doc-store.ts) emit nothing; design documents
 * are indexed only under the design option `include_design: true`, and the option `local_seq:
 * true` adds each document's `_local_seq` (its change sequence), as couch_mrview_updater does.
 *
 * The common case, an unconflicted document last written through HTTP without attachments, is
 * built as text from the stored body without parsing it (this is the index build's hot loop);
 * everything else goes through the document model (winnerJson).
 */
import type { RawChange } from '../engine/change-scan.js';
import type { Db } from '../couchdb/db.js';
import { stateFromItem } from '../couchdb/doc-store.js';
import { summaryFromPrefix } from '../couchdb/doc-sync.js';
import { winnerJson } from '../couchdb/doc-json.js';
import { SUMMARY_PREFIX_CHARS } from '../couchdb/sync-layout.js';

/** A document for a map function: its id and its JSON text (as the function receives it). */
export interface MapDoc {
  readonly id: string;
  readonly json: string;
}

/** What a change means for an index: a document to map, or an id whose rows go. */
export type IndexChange = { id: string; doc: MapDoc | null };

/** A design document's `options` that shape what its map functions see. */
export interface DocSourceOptions {
  readonly includeDesign?: boolean;
  readonly localSeq?: boolean;
}

const SNAPPY = 0x02;
const ATTS = Buffer.from('"atts":[{');

/** The change as an index input, or null when it is no document id at all. */
export function indexChange(db: Db, change: RawChange, opts: DocSourceOptions = {}): IndexChange | null {
  const id = change.id();
  if (id === null) return null;
  if (change.deleted || (id.startsWith('_design/') && opts.includeDesign !== true)) return { id, doc: null };
  const item = change.toItem();
  const fast = summaryFromPrefix(change.xattrsPrefix(SUMMARY_PREFIX_CHARS), change.revSeqno);
  if (fast && !fast.deleted && (item.datatype & SNAPPY) === 0 && item.value[0] === 0x7b && !(item.xattrs && item.xattrs.includes(ATTS))) {
    const seq = opts.localSeq === true ? `,"_local_seq":${change.seq}` : '';
    const head = `{"_id":${JSON.stringify(id)},"_rev":${JSON.stringify(fast.rev)}${seq}`;
    const body = item.value.toString('utf8', 1).trimStart();
    return { id, doc: { id, json: body === '}' ? head + '}' : `${head},${body}` } };
  }
  try {
    const state = stateFromItem(id, item, db.revsLimit, db.bucket.maxJsonDepth);
    if (state.winner.deleted || state.opaque) return { id, doc: null };
    return { id, doc: { id, json: JSON.stringify(winnerJson(db, state, { conflicts: true, localSeq: opts.localSeq === true })) } };
  } catch {
    // A document that cannot be read as JSON emits nothing, as CouchDB skips a doc whose map fails.
    return { id, doc: null };
  }
}
