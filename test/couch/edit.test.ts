import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CouchError } from '../../src/couch/errors.js';
import { applyInteractiveEdit, applyReplicatedEdit, previousStoredRev } from '../../src/couch/edit.js';
import { compactBodies, conflicts, isDocDeleted, leaves, revisionsFor, winningRev } from '../../src/couch/rev-tree-query.js';
import type { RevTree } from '../../src/couch/rev-tree.js';

function isConflict(e: unknown): boolean {
  return e instanceof CouchError && e.status === 409 && e.reason === 'Document update conflict.';
}

describe('interactive edits', () => {
  test('create, delete: the revs CouchDB gives an empty doc', () => {
    const created = applyInteractiveEdit(null, { deleted: false, body: {} });
    assert.equal(created.rev, '1-967a00dff5e02add41819138abb3284d');
    assert.equal(created.parent, null);
    const deleted = applyInteractiveEdit(created.tree, { rev: created.rev, deleted: true, body: {} });
    assert.equal(deleted.rev, '2-eec205a9d413992850a6e32678485900');
    assert.equal(deleted.parent, created.rev);
    assert.equal(isDocDeleted(deleted.tree), true);
  });

  test('updates must name a current leaf', () => {
    const v1 = applyInteractiveEdit(null, { deleted: false, body: { n: 1 } });
    const v2 = applyInteractiveEdit(v1.tree, { rev: v1.rev, deleted: false, body: { n: 2 } });
    assert.match(v2.rev, /^2-[0-9a-f]{32}$/);
    assert.deepEqual(revisionsFor(v2.tree, v2.rev)?.ids.length, 2);
    assert.throws(() => applyInteractiveEdit(v2.tree, { rev: v1.rev, deleted: false, body: { n: 3 } }), isConflict);
    assert.throws(() => applyInteractiveEdit(v2.tree, { deleted: false, body: { n: 3 } }), isConflict);
    assert.throws(() => applyInteractiveEdit(v2.tree, { rev: '2-unknown', deleted: false, body: {} }), isConflict);
    assert.throws(() => applyInteractiveEdit(null, { rev: v1.rev, deleted: false, body: {} }), isConflict);
    assert.throws(
      () => applyInteractiveEdit(v2.tree, { rev: 'garbage', deleted: false, body: {} }),
      (e: unknown) => e instanceof CouchError && e.reason === 'Invalid rev format',
    );
  });

  test('a deleted doc is recreated from its winning tombstone without a rev; any rev conflicts', () => {
    const v1 = applyInteractiveEdit(null, { deleted: false, body: {} });
    const v2 = applyInteractiveEdit(v1.tree, { rev: v1.rev, deleted: true, body: {} });
    // couch_db_updater merge_rev_tree/4: on a deleted document only a depth-1 edit (no rev) is
    // taken, so the tombstone's own rev conflicts (apache/couchdb#3177), as an older one does (COUCHDB-292).
    assert.throws(() => applyInteractiveEdit(v2.tree, { rev: v2.rev, deleted: false, body: { a: 1 } }), isConflict);
    assert.throws(() => applyInteractiveEdit(v2.tree, { rev: v2.rev, deleted: true, body: {} }), isConflict);
    assert.throws(() => applyInteractiveEdit(v2.tree, { rev: v1.rev, deleted: false, body: { a: 1 } }), isConflict);
    assert.throws(() => applyInteractiveEdit(v2.tree, { deleted: true, body: {} }), isConflict);
    const v3 = applyInteractiveEdit(v2.tree, { deleted: false, body: { a: 1 } });
    assert.match(v3.rev, /^3-/);
    assert.equal(v3.parent, v2.rev);
    assert.equal(isDocDeleted(v3.tree), false);
    assert.deepEqual(leaves(v3.tree).map((l) => l.rev), [v3.rev]);
  });

  test('the same edit on two nodes gives the same revision', () => {
    const a = applyInteractiveEdit(null, { deleted: false, body: { x: [1, 'two', { three: 3.5 }] } });
    const b = applyInteractiveEdit(null, { deleted: false, body: { x: [1, 'two', { three: 3.5 }] } });
    assert.equal(a.rev, b.rev);
  });

  test('a losing conflict leaf can be extended or deleted', () => {
    const tree: RevTree = applyReplicatedEdit(
      applyReplicatedEdit(null, { start: 1, ids: ['aaaa'] }, false).tree,
      { start: 1, ids: ['bbbb'] },
      false,
    ).tree;
    assert.equal(winningRev(tree), '1-bbbb');
    const resolved = applyInteractiveEdit(tree, { rev: '1-aaaa', deleted: true, body: {} });
    assert.equal(winningRev(resolved.tree), '1-bbbb');
    assert.deepEqual(conflicts(resolved.tree), []);
  });

  test('interactive edits stem to revsLimit', () => {
    let r = applyInteractiveEdit(null, { deleted: false, body: { i: 0 }, revsLimit: 3 });
    for (let i = 1; i < 6; i++) r = applyInteractiveEdit(r.tree, { rev: r.rev, deleted: false, body: { i }, revsLimit: 3 });
    assert.match(r.rev, /^6-/);
    assert.equal(revisionsFor(r.tree, r.rev)?.ids.length, 3);
    assert.equal(r.stemmed.length, 1);
    assert.match(r.stemmed[0], /^3-/);
  });
});

describe('replicated edits (new_edits: false)', () => {
  test('a different leaf at the same generation creates a conflict (spec §4.2)', () => {
    const local = applyReplicatedEdit(null, { start: 1, ids: ['c3b1'] }, false);
    assert.equal(local.outcome, 'new_leaf');
    const both = applyReplicatedEdit(local.tree, { start: 1, ids: ['e125'] }, false);
    assert.equal(both.outcome, 'new_branch');
    assert.equal(both.changed, true);
    assert.equal(winningRev(both.tree), '1-e125');
    assert.deepEqual(conflicts(both.tree), ['1-c3b1']);
  });

  test('known revisions are accepted and change nothing', () => {
    const first = applyReplicatedEdit(null, { start: 2, ids: ['b', 'a'] }, false);
    const again = applyReplicatedEdit(first.tree, { start: 2, ids: ['b', 'a'] }, false);
    assert.equal(again.changed, false);
    assert.equal(again.outcome, 'internal_node');
    assert.equal(again.tree, first.tree);
    const ancestor = applyReplicatedEdit(first.tree, { start: 1, ids: ['a'] }, true);
    assert.equal(ancestor.changed, false);
  });

  test('a history extends the matching branch and records ancestors', () => {
    const first = applyReplicatedEdit(null, { start: 2, ids: ['b', 'a'] }, false);
    const next = applyReplicatedEdit(first.tree, { start: 4, ids: ['d', 'c', 'b', 'a'] }, true);
    assert.equal(next.outcome, 'new_leaf');
    assert.equal(next.rev, '4-d');
    assert.equal(isDocDeleted(next.tree), true);
    assert.deepEqual(revisionsFor(next.tree, '4-d'), { start: 4, ids: ['d', 'c', 'b', 'a'] });
    // 3-c came without a body; stubs on 4-d refer to the newest stored ancestor.
    assert.equal(previousStoredRev(next.tree, '4-d'), '2-b');
    assert.equal(previousStoredRev(compactBodies(next.tree).tree, '4-d'), null);
  });

  test('replicated histories are stemmed to revsLimit', () => {
    const ids = Array.from({ length: 10 }, (_, i) => `r${10 - i}`);
    const r = applyReplicatedEdit(null, { start: 10, ids }, false, 4);
    assert.deepEqual(revisionsFor(r.tree, '10-r10'), { start: 10, ids: ['r10', 'r9', 'r8', 'r7'] });
    assert.equal(r.stemmed.length, 6);
  });
});
