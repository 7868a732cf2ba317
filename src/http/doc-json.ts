/**
 * A stored revision as CouchDB's JSON document, in couch_doc:to_json_obj/2 member order:
 * `_id`, `_rev`, the body, `_deleted`, `_revisions`, `_revs_info`, `_conflicts`,
 * `_deleted_conflicts`, `_attachments` (couch-replication.md §3.2, §3.3, §3.6).
 *
 * Attachments come as stubs unless data is asked for: `attachments=true` inlines every one as
 * base64; `atts_since=[revs]` inlines only those whose revpos is newer than the newest listed
 * revision that is an ancestor of this one (couch_db:apply_open_options2/2); `follows` marks the
 * data as coming in a later MIME part instead (multipart replies).
 */
import { parseRev } from '../couch/rev.js';
import { conflicts, deletedConflicts, revisionsFor, revsInfo, type RevInfo } from '../couch/rev-tree-query.js';
import { pathTo } from '../couch/rev-tree.js';
import { getAttachmentData } from './att-store.js';
import type { Db } from './db.js';
import type { AttMap, DocState, RevData } from './doc-store.js';

export interface DocOutOptions {
  revs?: boolean;
  revsInfo?: boolean;
  conflicts?: boolean;
  deletedConflicts?: boolean;
  /** Inline every attachment's data. */
  attachments?: boolean;
  /** Inline data only of attachments newer than these revisions (when one is an ancestor). */
  attsSince?: string[] | null;
  /** Mark attachments with data as `follows` (the bytes travel as MIME parts). */
  follows?: boolean;
}

/** Which attachment names get their data sent, for this revision and these options. */
export function attachmentsWithData(state: DocState, rev: string, atts: AttMap, opts: DocOutOptions): Set<string> {
  const names = Object.keys(atts);
  if (opts.attsSince && opts.attsSince.length > 0) {
    const sincePos = ancestorPos(state, rev, opts.attsSince);
    return new Set(names.filter((n) => atts[n]!.revpos > sincePos));
  }
  return new Set(opts.attachments ? names : []);
}

/** Generation of the newest of `revs` on `rev`'s ancestry, or 0 when none is. */
function ancestorPos(state: DocState, rev: string, revs: string[]): number {
  const { pos, hash } = parseRev(rev);
  const chain = pathTo(state.tree, pos, hash);
  if (!chain) return 0;
  const onPath = new Set(chain.map((c) => `${c.pos}-${c.node[0]}`));
  let best = 0;
  for (const r of revs) {
    try {
      const p = parseRev(r);
      if (onPath.has(`${p.pos}-${p.hash}`) && p.pos > best) best = p.pos;
    } catch {
      // Malformed entries of atts_since are ignored, as CouchDB does.
    }
  }
  return best;
}

export function attachmentsJson(db: Db, atts: AttMap, withData: Set<string>, follows: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, a] of Object.entries(atts)) {
    if (!withData.has(name)) {
      out[name] = { content_type: a.content_type, revpos: a.revpos, digest: a.digest, length: a.length, stub: true };
    } else if (follows) {
      out[name] = { content_type: a.content_type, revpos: a.revpos, digest: a.digest, length: a.length, follows: true };
    } else {
      const data = getAttachmentData(db, a.digest) ?? Buffer.alloc(0);
      out[name] = { content_type: a.content_type, revpos: a.revpos, digest: a.digest, data: data.toString('base64') };
    }
  }
  return out;
}

export function revInfoOf(state: DocState, rev: string): RevInfo | undefined {
  return state.leaves.find((l) => l.rev === rev);
}

/** The JSON document for revision `rev` of `state`, whose stored data is `data`. */
export function docJson(db: Db, state: DocState, rev: string, data: RevData, deleted: boolean, opts: DocOutOptions = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { _id: state.id, _rev: rev };
  for (const k in data.body) out[k] = data.body[k];
  if (deleted) out._deleted = true;
  if (opts.revs) {
    const r = revisionsFor(state.tree, rev);
    if (r) out._revisions = r;
  }
  if (opts.revsInfo && !deleted) {
    const info = revsInfo(state.tree, rev);
    if (info) out._revs_info = info;
  }
  if (opts.conflicts) {
    const c = conflicts(state.tree);
    if (c.length > 0) out._conflicts = c;
  }
  if (opts.deletedConflicts) {
    const d = deletedConflicts(state.tree);
    if (d.length > 0) out._deleted_conflicts = d;
  }
  if (Object.keys(data.atts).length > 0) {
    out._attachments = attachmentsJson(db, data.atts, attachmentsWithData(state, rev, data.atts, opts), opts.follows === true);
  }
  return out;
}

/** The winning revision as JSON (`include_docs`, `_all_docs`, plain GET). */
export function winnerJson(db: Db, state: DocState, opts: DocOutOptions = {}): Record<string, unknown> {
  const w = state.winner;
  const data = state.revData(w.rev) ?? { body: {}, atts: {} };
  return docJson(db, state, w.rev, data, w.deleted, opts);
}
