/**
 * CouchDB documents stored as engine items: the revision tree lives in the item's system xattrs,
 * the winning revision's body is the item's value, so the KV and DCP faces see the plain JSON
 * document.
 *
 * Scheme (xattrs JSON, other keys in it are preserved):
 *
 *   {"_sync": {"v": 1,
 *              "rs":  <revSeqno of the item this record was written with>,
 *              "rev": "<N-hash of the revision whose body is the item value: the winner>",
 *              "del": 0|1, "nl": <number of leaves>,
 *              "tree": <RevTree, src/couch/rev-tree.ts stored form>,
 *              "atts": [{name, contentType, length, digest, revpos,         attachments of `rev`
 *                        encoding?, encodedLength?}]                     (couch/attachments.ts)
 *              "leaves": {"<N-hash>": {"body": {...}, "atts": [...]}}}}      the other stored leaves
 *
 * `_sync` is written first and its scalar members in this order (sync-layout.ts), so that the
 * `_changes` hot path can read the summary of an unconflicted document from the front of the
 * xattrs without parsing its tree (doc-sync.ts `summaryFromPrefix`, changes-bytes.ts).
 *
 * A deleted winner (every leaf deleted) makes the item a tombstone, whose value is the
 * tombstone's body (empty when that is `{}`). The bodies of interior revisions are in the
 * revision history until compaction (rev-history.ts), outside the item. Attachment bytes live in
 * the `couch_att` side database by digest (db.ts).
 *
 * KV-side writes. Every engine mutation increments the item's rev seqno, and xattrs survive KV
 * writes, deletes and expiry. So when `item.revSeqno !== _sync.rs` (or there is no `_sync`), the
 * `item.revSeqno - rs` mutations since our last write were made on the KV side; each is read as
 * one more revision on the winning branch: generation `pos(rev) + k`, hash
 * md5("freshet-kv\n" + id + "\n" + rev + "\n" + revSeqno). The hash is computed from the previous
 * recorded rev and the mutation's rev seqno, not from the body: the body of an earlier KV version
 * is gone once overwritten, and a KV delete must still come out as the child of the version a
 * peer last replicated, or the deletion would only be a losing conflict on that peer. Nothing
 * is written back; the next HTTP write of the document stores the computed revisions for real.
 * A KV delete or expiry is a deleted revision. A KV value that is not a JSON object (raw bytes,
 * invalid JSON, an array or scalar, or JSON nested past the bucket's `maxJsonDepth`) is a live but
 * *opaque* revision: it has no JSON document form, so reading it is a per-document
 * `not_json_object` error (doc-json.ts) and `_changes` leaves it out, as Sync Gateway leaves out
 * documents it cannot import (db/import.go ImportDocRaw). It is never shown as deleted. An HTTP
 * write that keeps such a winner (a conflicting branch) keeps its bytes and marks it `op: 1`.
 * Top-level `_` members of KV-written bodies are dropped. Attachments of the recorded winner
 * carry over to KV revisions.
 */
import type { Db } from './db.js';
import { isEngineError } from '../engine/errors.js';
import { DATATYPE_JSON, DATATYPE_RAW, type Item, type MutationResult } from '../engine/types.js';
import { parseRev } from '../couch/rev.js';
import { merge, mergePath, stem, FLAG_AVAILABLE, FLAG_DELETED, type RevBranch, type RevNode, type RevTree } from '../couch/rev-tree.js';
import { compactBodies, leaves, type RevInfo } from '../couch/rev-tree-query.js';
import { keepInteriorBodies, NO_HISTORY, type RevHistoryReader } from './rev-history.js';
import { kvChain, parseBody, readXattrs, type RevData, type SyncRecord } from './doc-sync.js';

/** A document as loaded: its effective tree (KV revisions included) and its stored leaves. */
export interface DocState {
  id: string;
  key: Buffer;
  item: Item;
  tree: RevTree;
  /** Leaves, winner first. */
  leaves: RevInfo[];
  winner: RevInfo;
  /** True when the winner is opaque (see the header): its value has no JSON document form. */
  opaque: boolean;
  /** True when the tree includes revisions computed for KV-side writes. */
  imported: boolean;
  /** Body and attachments of a stored leaf revision, else null. */
  revData(rev: string): RevData | null;
  /**
   * Body and attachments of an interior revision from the revision history (rev-history.ts),
   * else null (compacted, stemmed, or never stored). Leaves are `revData`'s.
   */
  historyData(rev: string): RevData | null;
  /** Whether the revision history holds the body of an interior revision (`_revs_info`). */
  hasHistory(rev: string): boolean;
  /** xattrs keys other than `_sync`, kept on write. */
  otherXattrs: Record<string, unknown>;
}

const FAKE = '\u0000detached';

/**
 * `tree` after its leaf `rev` gained more than `limit` descendants: what merging that long path
 * and stemming would leave, without building the path. A fake chain of `limit` nodes stands in
 * for it and is removed after stemming.
 */
function detachLeaf(tree: RevTree, rev: string, limit: number): RevTree {
  const { pos, hash } = parseRev(rev);
  let tail: RevNode = [`${FAKE}${limit}`, 0, []];
  for (let i = limit - 1; i >= 1; i--) tail = [`${FAKE}${i}`, 0, [tail]];
  const grown = mergePath(tree, { pos, node: [hash, 0, [tail]] }).tree;
  return stem(grown, limit).tree.filter((b) => !b.node[0].startsWith(FAKE));
}

/**
 * Whether a path of `tree` may hold more than `limit` revisions (leaf pos - lowest start + 1). A
 * tree stored before `_revs_limit` was lowered is read stemmed, as CouchDB reads it once its
 * compaction stemmed it (couch_bt_engine_compactor copy_docs `couch_key_tree:stem`); before that
 * CouchDB cuts only `_revisions` (couch_db make_doc). Rewriting it would be a mutation (seq, CAS).
 */
function deeperThan(tree: RevTree, all: readonly RevInfo[], limit: number): boolean {
  let low = Number.POSITIVE_INFINITY;
  for (const b of tree) low = Math.min(low, b.pos);
  for (const l of all) if (l.pos - low + 1 > limit) return true;
  return false;
}

const noHistoryData = (): RevData | null => null;
const noHistory = (): boolean => false;

/**
 * Build the document state from its current item (which may be a tombstone). `maxDepth` is the
 * bucket's JSON nesting limit, applied to KV-written values (HTTP-written ones passed it on write).
 */
export function stateFromItem(id: string, item: Item, revsLimit: number, maxDepth: number, history: RevHistoryReader = NO_HISTORY): DocState {
  const { sync, other } = readXattrs(item);
  // Listings read winners only: no per-document closures for them.
  const historyData = history === NO_HISTORY ? noHistoryData : (rev: string): RevData | null => history.get(id, rev);
  const hasHistory = history === NO_HISTORY ? noHistory : (rev: string): boolean => history.has(id, rev);
  if (sync && sync.rs === item.revSeqno) {
    let valueData: RevData | undefined;
    let tree = sync.tree;
    let all = leaves(tree);
    if (deeperThan(tree, all, revsLimit)) {
      tree = stem(tree, revsLimit).tree;
      all = leaves(tree);
    }
    return {
      id, key: item.key, item, tree, leaves: all, winner: all[0]!, imported: false, otherXattrs: other,
      opaque: sync.op === 1 && all[0]!.rev === sync.rev, historyData, hasHistory,
      revData(rev) {
        if (rev === sync.rev) {
          if (!valueData) {
            const body = sync.op === 1 ? null : parseBody(item, false, Number.MAX_SAFE_INTEGER);
            valueData = body === null ? { body: {}, atts: sync.atts ?? [], opaque: true } : { body, atts: sync.atts ?? [] };
          }
          return valueData;
        }
        return sync.leaves?.[rev] ?? null;
      },
    };
  }
  const chain = kvChain(id, item, sync, revsLimit, true, maxDepth);
  const connected = chain.count <= revsLimit;
  const ids = connected && sync ? [...chain.ids, parseRev(sync.rev).hash] : chain.ids;
  let node: RevNode = [ids[0]!, FLAG_AVAILABLE | (chain.end.deleted ? FLAG_DELETED : 0), []];
  for (let i = 1; i < ids.length; i++) node = [ids[i]!, 0, [node]];
  const path: RevBranch = { pos: chain.end.pos - ids.length + 1, node };
  const base = sync ? (connected ? sync.tree : detachLeaf(sync.tree, sync.rev, revsLimit)) : [];
  const tree = merge(base, path, revsLimit).tree;
  const all = leaves(tree);
  const endAtts = chain.end.deleted ? [] : (sync?.atts ?? []);
  return {
    id, key: item.key, item, tree, leaves: all, winner: all[0]!, imported: true, otherXattrs: other,
    opaque: chain.opaque && all[0]!.rev === chain.end.rev, historyData, hasHistory,
    revData(rev) {
      if (rev === chain.end.rev) return chain.opaque ? { body: {}, atts: endAtts, opaque: true } : { body: chain.body ?? {}, atts: endAtts };
      return sync?.leaves?.[rev] ?? null;
    },
  };
}

/**
 * The current item of a key in the database's collection (tombstones included), or undefined.
 * Expired items become tombstones. The tombstone of a purged document (engine Item.erased,
 * purge.ts) is no document: undefined.
 */
export function currentItem(db: Db, key: Buffer): Item | undefined {
  const item = db.docs.current(key);
  return item === undefined || item.erased === true ? undefined : item;
}

export function loadDoc(db: Db, id: string, revsLimit: number): DocState | null {
  const key = db.bucket.toKey(id);
  const item = currentItem(db, key);
  return item ? stateFromItem(id, item, revsLimit, db.bucket.maxJsonDepth, db.history) : null;
}

export interface NewRevision {
  /** The new tree; an empty one erases the document (a purge of every leaf, purge.ts). */
  tree: RevTree;
  /** The revision written and its data (ignored when it is not a leaf of `tree`). */
  rev: string;
  data: RevData;
  /**
   * False when the leaves that leave the tree were purged (purge.ts): their bodies are not kept
   * in the revision history, as they are when a write makes a leaf interior.
   */
  keepHistory?: boolean;
}

/**
 * Store a new tree. Leaf bodies come from `next` or from the previous state; the winner's body
 * becomes the item value. Synchronous up to the engine's queueing, so load + edit + store in one
 * turn is atomic; a concurrent KV write in between is a CAS mismatch (KEY_EEXISTS). `current` is
 * the key's current item: `prev`'s, or a purged document's tombstone when `prev` is null, which
 * the write replaces (its CAS is expected, its rev seqno goes on).
 * An empty tree erases the document: a tombstone with nothing of it, marked erased (engine
 * types.ts Item.erased), what a purge of every leaf leaves (purge.ts says why).
 */
export function storeDoc(db: Db, id: string, prev: DocState | null, next: NewRevision, current = prev?.item): Promise<MutationResult> {
  if (next.tree.length === 0) {
    const erase = { value: Buffer.alloc(0), deleted: true, erased: true, xattrs: null, datatype: DATATYPE_RAW, flags: 0 };
    return db.docs.writeVersion(id, current ? current.cas : null, erase);
  }
  const tree = compactBodies(next.tree).tree;
  const all = leaves(tree);
  const winner = all[0]!;
  const dataOf = (rev: string): RevData | null => (rev === next.rev ? next.data : (prev?.revData(rev) ?? null));
  const winnerData = dataOf(winner.rev) ?? { body: {}, atts: [] };
  const others: Record<string, RevData> = {};
  for (const leaf of all.slice(1)) {
    const d = dataOf(leaf.rev);
    if (d) others[leaf.rev] = d;
  }
  const sync: SyncRecord = { v: 1, rs: (current?.revSeqno ?? 0) + 1, rev: winner.rev, del: winner.deleted ? 1 : 0, nl: all.length, tree };
  if (winnerData.atts.length > 0) sync.atts = winnerData.atts;
  if (Object.keys(others).length > 0) sync.leaves = others;
  // An opaque winner kept from the current item keeps its KV bytes and datatype (there is no body).
  const keepOpaque = winnerData.opaque === true && prev !== null && prev.opaque && prev.winner.rev === winner.rev;
  if (keepOpaque) sync.op = 1;
  const emptyTombstone = winner.deleted && Object.keys(winnerData.body).length === 0;
  const value = keepOpaque ? prev.item.value : emptyTombstone ? Buffer.alloc(0) : Buffer.from(JSON.stringify(winnerData.body));
  const other = prev?.otherXattrs;
  const xattrsText = other && Object.keys(other).length > 0 ? JSON.stringify({ _sync: sync, ...other }) : `{"_sync":${JSON.stringify(sync)}}`;
  const xattrs = Buffer.from(xattrsText);
  const written = db.docs.writeVersion(id, current ? current.cas : null, {
    value,
    deleted: winner.deleted,
    xattrs,
    datatype: keepOpaque ? prev.item.datatype : emptyTombstone ? DATATYPE_RAW : DATATYPE_JSON,
  });
  const kept = prev && next.keepHistory !== false ? keepInteriorBodies(db, prev, tree, all) : null;
  return kept === null ? written : Promise.all([written, kept]).then(([result]) => result);
}

/**
 * Load, edit and store a document, retrying when its item changed underneath (a KV write racing
 * with ours). `edit` returns null when there is nothing to store.
 */
export function updateDoc<T>(
  db: Db,
  id: string,
  revsLimit: number,
  edit: (state: DocState | null) => { next: NewRevision; result: T } | { next: null; result: T },
): Promise<T> {
  // Promise chaining rather than async/await: this runs once per document of a `_bulk_docs`
  // batch, and the common case (no retry) then costs one promise reaction.
  const attempt = (n: number): Promise<T> => {
    try {
      // The item itself, not loadDoc: a purged document's tombstone is no state but the write's base.
      const item = db.docs.current(db.bucket.toKey(id));
      const state = item && item.erased !== true ? stateFromItem(id, item, revsLimit, db.bucket.maxJsonDepth, db.history) : null;
      const { next, result } = edit(state);
      if (next === null) return Promise.resolve(result);
      return storeDoc(db, id, state, next, item).then(
        () => result,
        (err: unknown) => {
          if (!isEngineError(err, 'KEY_EEXISTS') || n >= 5) throw err;
          return attempt(n + 1);
        },
      );
    } catch (err) {
      return Promise.reject(err);
    }
  };
  return attempt(0);
}
