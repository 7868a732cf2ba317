// Applying one document write to its revision tree: the MVCC rules of an
// interactive edit (`new_edits` true) and the merge of a replicated history
// (`new_edits: false`). Pure: the storage engine loads the tree, calls one of
// these, stores the returned tree and the new body.
//
// Interactive rules (couch_db.erl `prep_and_validate_update/5`,
// couch_db_updater.erl `merge_rev_tree/4`; spec §3.4):
//   - a `_rev` must name an existing leaf, else 409 conflict;
//   - no `_rev` on a live document is a 409 conflict;
//   - a document whose winner is a tombstone can only be recreated without a
//     `_rev` (and not as another deletion): the new revision extends the
//     winning tombstone, so `1-x` deleted then recreated gives `3-y`;
//   - the new revision id is couch_db:new_revid/1 of the edit (rev.ts).
// Replicated rules (couch_db.erl `prep_and_validate_replicated_updates/5`):
//   the path is merged as is; a revision already in the tree is accepted and
//   changes nothing.

import { CouchError } from './errors.js';
import { formatRev, newRevId, parseRev, type AttachmentDigest, type Rev } from './rev.js';
import {
  DEFAULT_REVS_LIMIT,
  FLAG_AVAILABLE,
  FLAG_DELETED,
  merge,
  pathFromRevisions,
  pathTo,
  type MergeOutcome,
  type RevBranch,
  type RevTree,
  type Revisions,
} from './rev-tree.js';
import { findRev, isDocDeleted, winningLeaf } from './rev-tree-query.js';

export interface InteractiveEdit {
  /** The `_rev` sent with the write (body, `?rev=` or `If-Match`), if any. */
  rev?: string | null;
  deleted: boolean;
  /** Body without `_` members: hashed into the new revision id. */
  body: Record<string, unknown>;
  /** The new revision's attachments in `_attachments` order (for the hash). */
  attachmentsDigests?: readonly AttachmentDigest[];
  revsLimit?: number;
}

export interface EditResult {
  tree: RevTree;
  /** The revision written, `N-hash`. */
  rev: string;
  /** The parent the new revision extends (null for a new document). */
  parent: string | null;
  /** Revisions dropped by stemming; their bodies can be deleted. */
  stemmed: string[];
}

function conflict(): CouchError {
  return new CouchError('conflict');
}

function leafFlags(deleted: boolean): number {
  return FLAG_AVAILABLE | (deleted ? FLAG_DELETED : 0);
}

function extend(tree: RevTree, parent: Rev, edit: InteractiveEdit): EditResult {
  const hash = newRevId({
    parentRev: parent,
    deleted: edit.deleted,
    body: edit.body,
    attachmentsDigests: edit.attachmentsDigests ?? [],
  });
  const path: RevBranch = { pos: parent.pos, node: [parent.hash, 0, [[hash, leafFlags(edit.deleted), []]]] };
  const result = merge(tree, path, edit.revsLimit ?? DEFAULT_REVS_LIMIT);
  if (result.outcome !== 'new_leaf') throw conflict();
  return {
    tree: result.tree,
    rev: formatRev(parent.pos + 1, hash),
    parent: formatRev(parent.pos, parent.hash),
    stemmed: result.stemmed,
  };
}

/** Applies an interactive write; throws CouchError conflict / invalid_rev_format. */
export function applyInteractiveEdit(tree: RevTree | null, edit: InteractiveEdit): EditResult {
  const given = edit.rev == null ? null : parseRev(edit.rev);
  if (tree === null || tree.length === 0) {
    if (given !== null) throw conflict();
    const hash = newRevId({
      parentRev: null,
      deleted: edit.deleted,
      body: edit.body,
      attachmentsDigests: edit.attachmentsDigests ?? [],
    });
    return { tree: [{ pos: 1, node: [hash, leafFlags(edit.deleted), []] }], rev: formatRev(1, hash), parent: null, stemmed: [] };
  }
  const docDeleted = isDocDeleted(tree);
  if (given === null) {
    if (!docDeleted || edit.deleted) throw conflict();
    const winner = winningLeaf(tree);
    return extend(tree, { pos: winner.pos, hash: winner.hash }, edit);
  }
  // A deleted document is only re-created from the root: couch_db_updater merge_rev_tree/4 (its
  // clause for a deleted full_doc_info) refuses an edit whose revision depth is not 1, so a write
  // on the winning tombstone's rev is a conflict in CouchDB 2+/3 (apache/couchdb#3177; PouchDB's
  // "issue 2779, correct behavior for undeleting" is skipped against CouchDB for that reason).
  // A live document's leaves, deleted conflicts included, may all be extended.
  const target = findRev(tree, given);
  if (target === null || !target.leaf || docDeleted) throw conflict();
  return extend(tree, given, edit);
}

export interface ReplicatedEditResult {
  tree: RevTree;
  outcome: MergeOutcome;
  /** False when every revision was already known: nothing to store. */
  changed: boolean;
  /** The revision carried by the write, `N-hash`. */
  rev: string;
  stemmed: string[];
}

/**
 * Merges a `new_edits: false` write. `revisions` is the doc's `_revisions`,
 * or `{start: pos, ids: [hash]}` built from a bare `_rev`.
 */
export function applyReplicatedEdit(
  tree: RevTree | null,
  revisions: Revisions,
  deleted: boolean,
  revsLimit: number = DEFAULT_REVS_LIMIT,
): ReplicatedEditResult {
  const path = pathFromRevisions(revisions, { deleted });
  let leaf = path.node;
  while (leaf[2].length > 0) leaf = leaf[2][0];
  const rev = formatRev(revisions.start, leaf[0]);
  const result = merge(tree ?? [], path, revsLimit);
  if (result.outcome === 'internal_node' && tree !== null) {
    return { tree, outcome: result.outcome, changed: false, rev, stemmed: [] };
  }
  return { tree: result.tree, outcome: result.outcome, changed: true, rev, stemmed: result.stemmed };
}

/**
 * The nearest ancestor of `rev` whose body is stored: the revision whose
 * attachments `stub: true` entries refer to on a replicated write
 * (couch_db.erl `make_first_doc_on_disk/4`). Null when none is stored.
 */
export function previousStoredRev(tree: RevTree, rev: string | Rev): string | null {
  const { pos, hash } = typeof rev === 'string' ? parseRev(rev) : rev;
  const chain = pathTo(tree, pos, hash);
  if (chain === null) return null;
  for (const { node, pos: p } of chain.slice(1)) {
    if ((node[1] & FLAG_AVAILABLE) !== 0) return formatRev(p, node[0]);
  }
  return null;
}
