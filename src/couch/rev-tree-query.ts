// Read-only questions about a revision tree: leaves, the winning revision,
// conflicts, `_revisions`, `_revs_info`, `open_revs&latest=true`, `_revs_diff`,
// plus body bookkeeping (`compactBodies`).
//
// Sources: couch_doc.erl `to_doc_info_path/1` (leaf order and winner),
// couch_db.erl `doc_meta_info/3` (`_conflicts`, `_deleted_conflicts`,
// `_revs_info` statuses), `open_doc_revs_int/3` + couch_key_tree
// `get_key_leafs/2` (latest), `get_missing_revs/2` + `possible_ancestors/2`
// (`_revs_diff`); shared/specs/couch-replication.md §3.2, §3.3, §3.10.

import { compareRevHashes, formatRev, parseRev, type Rev } from './rev.js';
import {
  FLAG_AVAILABLE,
  FLAG_DELETED,
  cloneTree,
  pathTo,
  walk,
  type RevNode,
  type RevTree,
  type Revisions,
} from './rev-tree.js';

export interface RevInfo {
  rev: string;
  pos: number;
  hash: string;
  deleted: boolean;
  /** Whether the revision's body is stored. */
  available: boolean;
  leaf: boolean;
}

function info(node: RevNode, pos: number): RevInfo {
  return {
    rev: formatRev(pos, node[0]),
    pos,
    hash: node[0],
    deleted: (node[1] & FLAG_DELETED) !== 0,
    available: (node[1] & FLAG_AVAILABLE) !== 0,
    leaf: node[2].length === 0,
  };
}

function asRev(rev: string | Rev): Rev {
  return typeof rev === 'string' ? parseRev(rev) : rev;
}

/**
 * CouchDB's winner order, best first: live before deleted, then higher
 * generation, then higher hash (couch_doc:to_doc_info_path/1).
 */
export function compareWinner(a: RevInfo, b: RevInfo): number {
  if (a.deleted !== b.deleted) return a.deleted ? 1 : -1;
  if (a.pos !== b.pos) return b.pos - a.pos;
  return compareRevHashes(b.hash, a.hash);
}

/** All leaves, winner first: the order of `_changes?style=all_docs`. */
export function leaves(tree: RevTree): RevInfo[] {
  const out: RevInfo[] = [];
  walk(tree, (node, pos, isLeaf) => {
    if (isLeaf) out.push(info(node, pos));
  });
  return out.sort(compareWinner);
}

export function winningLeaf(tree: RevTree): RevInfo {
  const all = leaves(tree);
  if (all.length === 0) throw new RangeError('empty revision tree');
  return all[0];
}

export function winningRev(tree: RevTree): string {
  return winningLeaf(tree).rev;
}

/** A document is deleted when its winner is a tombstone, i.e. every leaf is. */
export function isDocDeleted(tree: RevTree): boolean {
  return winningLeaf(tree).deleted;
}

/** `_conflicts`: the other live leaves, in winner order. */
export function conflicts(tree: RevTree): string[] {
  return leaves(tree)
    .slice(1)
    .filter((l) => !l.deleted)
    .map((l) => l.rev);
}

/** `_deleted_conflicts`: the deleted leaves other than the winner. */
export function deletedConflicts(tree: RevTree): string[] {
  return leaves(tree)
    .slice(1)
    .filter((l) => l.deleted)
    .map((l) => l.rev);
}

export function findRev(tree: RevTree, rev: string | Rev): RevInfo | null {
  const { pos, hash } = asRev(rev);
  const chain = pathTo(tree, pos, hash);
  return chain === null ? null : info(chain[0].node, chain[0].pos);
}

/** Whether the revision is a tombstone; undefined when it is not in the tree. */
export function isDeleted(tree: RevTree, rev: string | Rev): boolean | undefined {
  return findRev(tree, rev)?.deleted;
}

/** `_revisions` for a revision: its known ancestry, newest first. */
export function revisionsFor(tree: RevTree, rev: string | Rev): Revisions | null {
  const { pos, hash } = asRev(rev);
  const chain = pathTo(tree, pos, hash);
  return chain === null ? null : { start: pos, ids: chain.map((c) => c.node[0]) };
}

export type RevStatus = 'available' | 'deleted' | 'missing';

/**
 * `_revs_info`: each known ancestor with whether its body can be read: flagged available in the
 * tree, or (for a body kept outside the tree, e.g. an interior revision until compaction)
 * `stored(rev)`.
 */
export function revsInfo(tree: RevTree, rev: string | Rev, stored: (rev: string) => boolean = () => false): Array<{ rev: string; status: RevStatus }> | null {
  const { pos, hash } = asRev(rev);
  const chain = pathTo(tree, pos, hash);
  if (chain === null) return null;
  return chain.map(({ node, pos: p }) => {
    const r = formatRev(p, node[0]);
    const available = (node[1] & FLAG_AVAILABLE) !== 0 || stored(r);
    const status: RevStatus = !available ? 'missing' : (node[1] & FLAG_DELETED) !== 0 ? 'deleted' : 'available';
    return { rev: r, status };
  });
}

/**
 * `open_revs=[rev]&latest=true`: the leaves descending from `rev` (itself if
 * it is a leaf). Empty when the revision is unknown, which the HTTP layer
 * reports as `{"missing": rev}`.
 */
export function latest(tree: RevTree, rev: string | Rev): string[] {
  const { pos, hash } = asRev(rev);
  const chain = pathTo(tree, pos, hash);
  if (chain === null) return [];
  const out: string[] = [];
  walk([{ pos, node: chain[0].node }], (node, p, isLeaf) => {
    if (isLeaf) out.push(formatRev(p, node[0]));
  });
  return out;
}

export interface RevsDiffEntry {
  missing: string[];
  possible_ancestors?: string[];
}

/**
 * `_revs_diff` for one document. Returns null when nothing is missing (the id
 * is then left out of the response). `possible_ancestors` lists the leaves
 * older than the newest missing revision, and is left out when empty or when
 * the document is unknown (`tree` null). Throws invalid_rev_format.
 */
export function revsDiff(tree: RevTree | null, revs: readonly string[]): RevsDiffEntry | null {
  const wanted = new Map<string, Rev>();
  for (const r of revs) {
    const parsed = parseRev(r);
    wanted.set(formatRev(parsed.pos, parsed.hash), parsed);
  }
  const present = new Set<string>();
  if (tree !== null) walk(tree, (node, pos) => present.add(formatRev(pos, node[0])));
  const missing = [...wanted].filter(([key]) => !present.has(key));
  if (missing.length === 0) return null;
  const entry: RevsDiffEntry = { missing: missing.map(([key]) => key) };
  if (tree !== null) {
    const maxPos = Math.max(...missing.map(([, r]) => r.pos));
    const ancestors = leaves(tree)
      .filter((l) => l.pos < maxPos)
      .map((l) => l.rev);
    if (ancestors.length > 0) entry.possible_ancestors = ancestors;
  }
  return entry;
}

/** Every revision in the tree as `N-hash`. */
export function allRevs(tree: RevTree): string[] {
  const out: string[] = [];
  walk(tree, (node, pos) => out.push(formatRev(pos, node[0])));
  return out;
}

/**
 * Marks every interior revision's body as dropped, like CouchDB compaction
 * does, and returns the revisions whose stored bodies may now be deleted.
 */
export function compactBodies(tree: RevTree): { tree: RevTree; dropped: string[] } {
  const copy = cloneTree(tree);
  const dropped: string[] = [];
  walk(copy, (node, pos, isLeaf) => {
    if (!isLeaf && (node[1] & FLAG_AVAILABLE) !== 0) {
      node[1] &= ~FLAG_AVAILABLE;
      dropped.push(formatRev(pos, node[0]));
    }
  });
  return { tree: copy, dropped };
}
