// Revision trees with CouchDB key-tree semantics: merging a path (an edit or
// a replicated `_revisions` history) and stemming to `_revs_limit`.
//
// Port of apache/couchdb src/couch/src/couch_key_tree.erl (`merge/2`,
// `merge_at/3`, `merge_extend/2`, `stem/2`, `repair_tree/2`); background in
// shared/specs/couch-replication.md §3.1. The same test cases as
// couch_key_tree_tests.erl and PouchDB's tests/unit/test.merge.js apply.
//
// Stored form (plain JSON, kept as document metadata by the storage engine):
//   RevTree   = RevBranch[]                sorted by (pos, root hash)
//   RevBranch = { pos, node }              pos = generation of `node`
//   RevNode   = [hash, flags, children]    children sorted by hash
// A tree has several branches only after stemming, or when unrelated histories
// were merged. `flags` records what we know about a revision:
//   FLAG_DELETED    it is a tombstone
//   FLAG_AVAILABLE  its body is stored
// Leaves always keep their bodies. Ancestors learnt only from `_revisions` are
// not available. An interior node keeps FLAG_AVAILABLE until the storage
// engine drops its body (see `compactBodies` in rev-tree-query.ts), which is
// what CouchDB's compaction does; `_revs_info` reports such nodes "missing".
//
// All walks are iterative so that deep histories (large revs_limit) cannot
// overflow the stack.

import { compareRevHashes, formatRev, parseRevHash } from './rev.js';

export const FLAG_DELETED = 1;
export const FLAG_AVAILABLE = 2;

export type RevNode = [hash: string, flags: number, children: RevNode[]];
export interface RevBranch {
  pos: number;
  node: RevNode;
}
export type RevTree = RevBranch[];

/** CouchDB's answer to "what did this merge add?" (couch_key_tree:merge/2). */
export type MergeOutcome = 'new_leaf' | 'new_branch' | 'internal_node';

export interface MergeResult {
  tree: RevTree;
  outcome: MergeOutcome;
  /** Revisions removed by stemming, as `N-hash`. */
  stemmed: string[];
}

export const DEFAULT_REVS_LIMIT = 1000;

export interface Revisions {
  start: number;
  ids: string[];
}

export interface LeafState {
  deleted: boolean;
  /** Whether the leaf's body is stored (default true). */
  available?: boolean;
}

/**
 * Builds the linear path for a revision history in `_revisions` form
 * (`ids` newest first, `start` = generation of `ids[0]`). Only the newest
 * revision carries a body; its ancestors are recorded as missing.
 */
export function pathFromRevisions(revisions: Revisions, leaf: LeafState): RevBranch {
  const { start, ids } = revisions;
  if (ids.length === 0) throw new RangeError('a revision path needs at least one id');
  if (!Number.isSafeInteger(start) || start - ids.length + 1 < 1) {
    throw new RangeError(`invalid revision path start ${start} for ${ids.length} ids`);
  }
  const leafFlags = (leaf.deleted ? FLAG_DELETED : 0) | (leaf.available === false ? 0 : FLAG_AVAILABLE);
  let node: RevNode = [parseRevHash(ids[0]), leafFlags, []];
  for (let i = 1; i < ids.length; i++) node = [parseRevHash(ids[i]), 0, [node]];
  return { pos: start - ids.length + 1, node };
}

export function cloneNode(node: RevNode): RevNode {
  const root: RevNode = [node[0], node[1], []];
  const stack: Array<[RevNode, RevNode]> = [[node, root]];
  while (stack.length > 0) {
    const [from, to] = stack.pop() as [RevNode, RevNode];
    for (const child of from[2]) {
      const copy: RevNode = [child[0], child[1], []];
      to[2].push(copy);
      stack.push([child, copy]);
    }
  }
  return root;
}

export function cloneTree(tree: RevTree): RevTree {
  return tree.map((b) => ({ pos: b.pos, node: cloneNode(b.node) }));
}

/** value_pref/2: keep what we have unless only the newcomer has a body. */
function preferValue(existing: RevNode, incoming: RevNode): void {
  if ((existing[1] & FLAG_AVAILABLE) === 0 && (incoming[1] & FLAG_AVAILABLE) !== 0) existing[1] = incoming[1];
}

function insertSorted(siblings: RevNode[], node: RevNode): void {
  let i = 0;
  while (i < siblings.length && compareRevHashes(siblings[i][0], node[0]) < 0) i++;
  siblings.splice(i, 0, node);
}

/**
 * merge_extend/2: `existing` was matched with the path node whose only child
 * (if any) is `next`; walk both down together.
 */
function mergeExtend(existing: RevNode, next: RevNode | undefined): MergeOutcome {
  let parent = existing;
  let ins = next;
  for (;;) {
    if (ins === undefined) return 'internal_node';
    const siblings = parent[2];
    if (siblings.length === 0) {
      siblings.push(ins);
      return 'new_leaf';
    }
    const same = siblings.find((s) => s[0] === ins![0]);
    if (same === undefined) {
      insertSorted(siblings, ins);
      return 'new_branch';
    }
    preferValue(same, ins);
    parent = same;
    ins = ins[2][0];
  }
}

/** merge_at/3 for one branch; mutates `branch` on success, null on failure. */
function mergeIntoBranch(branch: RevBranch, path: RevBranch): MergeOutcome | null {
  const diff = branch.pos - path.pos;
  if (diff > 0) {
    // The path starts above this (stemmed) branch: skip its first `diff`
    // nodes and, on a match, graft the skipped ancestors back on top.
    let ins: RevNode | undefined = path.node;
    let lastSkipped: RevNode | null = null;
    for (let i = 0; i < diff; i++) {
      if (ins === undefined) return null;
      lastSkipped = ins;
      ins = ins[2][0];
    }
    if (ins === undefined || ins[0] !== branch.node[0]) return null;
    preferValue(branch.node, ins);
    const outcome = mergeExtend(branch.node, ins[2][0]);
    (lastSkipped as RevNode)[2] = [branch.node];
    branch.node = path.node;
    branch.pos = path.pos;
    return outcome;
  }
  // The path starts at or below this branch's root: find a node at the
  // path's depth with the path's root hash (depth-first, like merge_at).
  const stack: Array<[RevNode, number]> = [[branch.node, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [RevNode, number];
    if (depth === -diff) {
      if (node[0] === path.node[0]) {
        preferValue(node, path.node);
        return mergeExtend(node, path.node[2][0]);
      }
      continue;
    }
    for (let i = node[2].length - 1; i >= 0; i--) stack.push([node[2][i], depth + 1]);
  }
  return null;
}

function compareBranches(a: RevBranch, b: RevBranch): number {
  return a.pos !== b.pos ? a.pos - b.pos : compareRevHashes(a.node[0], b.node[0]);
}

/** couch_key_tree:merge/2 without stemming; `tree` and `path` are not modified. */
export function mergePath(tree: RevTree, path: RevBranch): { tree: RevTree; outcome: MergeOutcome } {
  const result = cloneTree(tree);
  const incoming = { pos: path.pos, node: cloneNode(path.node) };
  for (const branch of result) {
    const outcome = mergeIntoBranch(branch, incoming);
    if (outcome !== null) return { tree: result.sort(compareBranches), outcome };
  }
  const outcome: MergeOutcome = result.length === 0 ? 'new_leaf' : 'new_branch';
  result.push(incoming);
  return { tree: result.sort(compareBranches), outcome };
}

interface Visit {
  node: RevNode;
  pos: number;
  parent: number;
}

/** Pre-order list of every node of a branch with its generation and parent index. */
function flatten(branch: RevBranch): Visit[] {
  const out: Visit[] = [];
  const stack: Visit[] = [{ node: branch.node, pos: branch.pos, parent: -1 }];
  while (stack.length > 0) {
    const visit = stack.pop() as Visit;
    const index = out.push(visit) - 1;
    const kids = visit.node[2];
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ node: kids[i], pos: visit.pos + 1, parent: index });
  }
  return out;
}

function hasDuplicates(tree: RevTree): boolean {
  const seen = new Set<string>();
  for (const branch of tree) {
    for (const v of flatten(branch)) {
      const key = formatRev(v.pos, v.node[0]);
      if (seen.has(key)) return true;
      seen.add(key);
    }
  }
  return false;
}

/**
 * stem/2: keep a node only if a leaf lies fewer than `limit` generations below
 * it. Kept children of a dropped node become branches of their own.
 */
function stemTree(tree: RevTree, limit: number): { tree: RevTree; stemmed: string[] } {
  const branches: RevBranch[] = [];
  const stemmed: string[] = [];
  for (const branch of tree) {
    const nodes = flatten(branch);
    const height = new Array<number>(nodes.length).fill(Number.POSITIVE_INFINITY);
    for (let i = nodes.length - 1; i >= 0; i--) {
      if (nodes[i].node[2].length === 0) height[i] = 0;
      const p = nodes[i].parent;
      if (p >= 0) height[p] = Math.min(height[p], height[i] + 1);
    }
    const kept = nodes.map((_, i) => height[i] <= limit - 1);
    const copies = nodes.map((v) => [v.node[0], v.node[1], []] as RevNode);
    nodes.forEach((v, i) => {
      if (!kept[i]) {
        stemmed.push(formatRev(v.pos, v.node[0]));
      } else if (v.parent >= 0 && kept[v.parent]) {
        copies[v.parent][2].push(copies[i]);
      } else {
        branches.push({ pos: v.pos, node: copies[i] });
      }
    });
  }
  return { tree: branches.sort(compareBranches), stemmed };
}

/** Root-to-leaf paths as linear branches, each cut to its last `limit` nodes. */
function leafPaths(tree: RevTree, limit: number): RevBranch[] {
  const paths: RevBranch[] = [];
  for (const branch of tree) {
    const nodes = flatten(branch);
    nodes.forEach((v, index) => {
      if (v.node[2].length > 0) return;
      const chain: Visit[] = [];
      for (let i = index; i >= 0 && chain.length < limit; i = nodes[i].parent) chain.push(nodes[i]);
      let node: RevNode | null = null;
      for (const c of chain) node = [c.node[0], c.node[1], node === null ? [] : [node]];
      const top = chain[chain.length - 1];
      paths.push({ pos: top.pos, node: node as RevNode });
    });
  }
  return paths;
}

/**
 * Stems `tree` to `limit` revisions per path. Merging can leave the same
 * revision in two branches (a longer history reconnecting stemmed pieces);
 * like couch_key_tree's repair_tree/2 we then rebuild from the leaf paths.
 */
export function stem(tree: RevTree, limit: number = DEFAULT_REVS_LIMIT): { tree: RevTree; stemmed: string[] } {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`invalid revs_limit ${limit}`);
  if (!hasDuplicates(tree)) return stemTree(tree, limit);
  const before = new Set(allRevStrings(tree));
  const paths = leafPaths(tree, limit).sort(compareBranches);
  let rebuilt: RevTree = [];
  for (const path of paths) rebuilt = mergePath(rebuilt, path).tree;
  for (const rev of allRevStrings(rebuilt)) before.delete(rev);
  return { tree: rebuilt, stemmed: [...before] };
}

function allRevStrings(tree: RevTree): string[] {
  return tree.flatMap((b) => flatten(b).map((v) => formatRev(v.pos, v.node[0])));
}

/** Number of nodes of a chain without branches, or Infinity when it branches. */
function linearLength(node: RevNode): number {
  let n = 1;
  for (let cur = node; cur[2].length > 0; cur = cur[2][0]!) {
    if (cur[2].length > 1) return Number.POSITIVE_INFINITY;
    n++;
  }
  return n;
}

/** Merges `path` into `tree` and stems the result to `revsLimit`. */
export function merge(tree: RevTree, path: RevBranch, revsLimit: number = DEFAULT_REVS_LIMIT): MergeResult {
  // The first revisions of a document (most replicated writes): nothing to merge into, and a
  // linear path no longer than the limit is already stemmed. Same result as the general case.
  if (tree.length === 0 && Number.isInteger(revsLimit) && revsLimit >= 1 && linearLength(path.node) <= revsLimit) {
    return { tree: [{ pos: path.pos, node: cloneNode(path.node) }], outcome: 'new_leaf', stemmed: [] };
  }
  const merged = mergePath(tree, path);
  const stemmed = stem(merged.tree, revsLimit);
  return { tree: stemmed.tree, outcome: merged.outcome, stemmed: stemmed.stemmed };
}

/**
 * remove_leafs/2 (couch_key_tree.erl), what a purge does to a tree (couch_db_updater
 * purge_docs): the leaves among `revs` go, interior revisions named there are ignored, and the
 * tree is rebuilt from the remaining root-to-leaf paths, so every ancestor that no remaining leaf
 * descends from goes too. `removed` lists the revisions removed as `{pos, hash}`, in `revs`' order.
 */
export function removeLeaves(tree: RevTree, revs: ReadonlyArray<{ pos: number; hash: string }>): { tree: RevTree; removed: Array<{ pos: number; hash: string }> } {
  const wanted = new Map(revs.map((r) => [formatRev(r.pos, r.hash), r]));
  const hit = new Set<string>();
  const kept: RevBranch[] = [];
  for (const branch of tree) {
    const nodes = flatten(branch);
    nodes.forEach((v, index) => {
      if (v.node[2].length > 0) return;
      const leaf = formatRev(v.pos, v.node[0]);
      if (wanted.has(leaf)) {
        hit.add(leaf);
        return;
      }
      let node: RevNode | null = null;
      let top = v;
      for (let i = index; i >= 0; i = nodes[i].parent) {
        top = nodes[i];
        node = [top.node[0], top.node[1], node === null ? [] : [node]];
      }
      kept.push({ pos: top.pos, node: node as RevNode });
    });
  }
  if (hit.size === 0) return { tree, removed: [] };
  let rebuilt: RevTree = [];
  for (const path of kept.sort(compareBranches)) rebuilt = mergePath(rebuilt, path).tree;
  return { tree: rebuilt, removed: [...wanted].filter(([k]) => hit.has(k)).map(([, r]) => r) };
}

/** Calls `visit` for every node (pre-order, branch by branch). */
export function walk(tree: RevTree, visit: (node: RevNode, pos: number, isLeaf: boolean) => void): void {
  for (const branch of tree) for (const v of flatten(branch)) visit(v.node, v.pos, v.node[2].length === 0);
}

/** The chain from the node `pos-hash` up to its oldest known ancestor, or null. */
export function pathTo(tree: RevTree, pos: number, hash: string): Array<{ node: RevNode; pos: number }> | null {
  for (const branch of tree) {
    if (pos < branch.pos) continue;
    const nodes = flatten(branch);
    const index = nodes.findIndex((v) => v.pos === pos && v.node[0] === hash);
    if (index < 0) continue;
    const chain: Array<{ node: RevNode; pos: number }> = [];
    for (let i = index; i >= 0; i = nodes[i].parent) chain.push({ node: nodes[i].node, pos: nodes[i].pos });
    return chain;
  }
  return null;
}
