// Merge and stemming cases from apache/couchdb
// src/couch/test/eunit/couch_key_tree_tests.erl (merge_and_stem with DEPTH 10)
// and pouchdb tests/unit/test.merge.js. Node values there ("foo"/"bar") are
// replaced by flags; `shape()` compares structure only.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  FLAG_AVAILABLE,
  FLAG_DELETED,
  merge,
  pathFromRevisions,
  removeLeaves,
  stem,
  type RevBranch,
  type RevNode,
  type RevTree,
} from '../../src/couch/rev-tree.js';

type Shape = [string, Shape[]];
const n = (id: string, ...children: RevNode[]): RevNode => [id, FLAG_AVAILABLE, children];
const b = (pos: number, node: RevNode): RevBranch => ({ pos, node });
function shapeNode(node: RevNode): Shape {
  return [node[0], node[2].map(shapeNode)];
}
const shape = (tree: RevTree) => tree.map((br) => ({ pos: br.pos, node: shapeNode(br.node) }));

function check(tree: RevTree, path: RevBranch, expected: RevTree, outcome: string, limit = 10): void {
  const result = merge(tree, path, limit);
  assert.deepEqual(shape(result.tree), shape(expected));
  assert.equal(result.outcome, outcome);
}

describe('couch_key_tree merge cases', () => {
  const one = () => b(1, n('1'));
  const twoSibs = () => [b(1, n('1')), b(1, n('2'))];
  const twoChild = () => b(1, n('1', n('1a', n('1aa'))));
  const twoChildSibs = () => b(1, n('1', n('1a'), n('1b')));
  const oneChild = () => b(1, n('1', n('1a')));
  const stemmed1aa = () => b(3, n('1aa'));

  test('merge with empty tree', () => check([], one(), [one()], 'new_leaf'));
  test('merge reflexive', () => check([one()], one(), [one()], 'internal_node'));
  test('prefix of a tree with tree', () => check(twoSibs(), one(), twoSibs(), 'internal_node'));
  test('unrelated branch is a conflict', () =>
    check(twoSibs(), b(1, n('3')), [...twoSibs(), b(1, n('3'))], 'new_branch'));
  test('reflexive for child nodes', () => check([twoChild()], twoChild(), [twoChild()], 'internal_node'));
  test('tree merged with its own leaf paths is itself', () => {
    let tree: RevTree = [twoChildSibs()];
    for (const path of [b(1, n('1', n('1a'))), b(1, n('1', n('1b')))]) {
      const r = merge(tree, path, 10);
      assert.equal(r.outcome, 'internal_node');
      tree = r.tree;
    }
    assert.deepEqual(shape(tree), shape([twoChildSibs()]));
  });
  test('tree of odd length', () =>
    check([twoChildSibs()], twoChild(), [b(1, n('1', n('1a', n('1aa')), n('1b')))], 'new_leaf'));
  test('tree with stem', () => check([twoChildSibs()], b(2, n('1a')), [twoChildSibs()], 'internal_node'));
  test('stem at deeper level', () => {
    const tree = b(1, n('1', n('1a'), n('1b', n('1bb'))));
    check([tree], b(3, n('1bb')), [tree], 'internal_node');
  });
  test('stem at deeper level with deeper paths', () => {
    const tree = [b(2, n('1a')), b(2, n('1b', n('1bb')))];
    check(tree, b(3, n('1bb')), tree, 'internal_node');
  });
  test('single tree with deeper stem', () => check([twoChild()], stemmed1aa(), [twoChild()], 'internal_node'));
  test('tree with large stem', () => check([twoChild()], b(2, n('1a', n('1aa'))), [twoChild()], 'internal_node'));
  test('stems', () => check([b(2, n('1a', n('1aa')))], stemmed1aa(), [b(2, n('1a', n('1aa')))], 'internal_node'));
  test('should create conflicts', () =>
    check([oneChild()], stemmed1aa(), [oneChild(), stemmed1aa()], 'new_branch'));
  test('should create no conflicts', () => check([oneChild(), stemmed1aa()], twoChild(), [twoChild()], 'new_leaf'));

  test('COUCHDB-902: conflicting branch is kept, values preferred from stored nodes', () => {
    const foo = b(1, n('foo', n('foo2'), n('foo3')));
    const bar = pathFromRevisions({ start: 3, ids: ['foo4', 'foo3', 'foo'] }, { deleted: false });
    const r = merge([foo], bar, 10);
    assert.equal(r.outcome, 'new_leaf');
    assert.deepEqual(shape(r.tree), shape([b(1, n('foo', n('foo2'), n('foo3', n('foo4'))))]));
    // The path's ancestors are "missing"; the stored foo/foo3 keep their bodies.
    const root = r.tree[0].node;
    assert.equal(root[1], FLAG_AVAILABLE);
    assert.equal(root[2][1][1], FLAG_AVAILABLE);
    assert.equal(root[2][1][2][0][1], FLAG_AVAILABLE);
  });

  test('a missing node gains the body when a path brings it', () => {
    const tree = [pathFromRevisions({ start: 2, ids: ['b', 'a'] }, { deleted: false })];
    assert.equal(tree[0].node[1], 0);
    const r = merge(tree, b(1, ['a', FLAG_AVAILABLE | FLAG_DELETED, []]), 10);
    assert.equal(r.outcome, 'internal_node');
    assert.equal(r.tree[0].node[1], FLAG_AVAILABLE | FLAG_DELETED);
  });

  test('inputs are not modified', () => {
    const tree = [oneChild()];
    const before = JSON.stringify(tree);
    const path = b(2, n('1a', n('1aa')));
    const pathBefore = JSON.stringify(path);
    merge(tree, path, 10);
    assert.equal(JSON.stringify(tree), before);
    assert.equal(JSON.stringify(path), pathBefore);
  });
});

describe('pouchdb-merge cases', () => {
  const simple = () => b(1, n('1'));
  const two0 = () => b(1, n('1', n('2_0')));
  const two1 = () => b(1, n('1', n('2_1')));
  const newleaf = () => b(2, n('2_0', n('3')));
  const withnewleaf = () => b(1, n('1', n('2_0', n('3'))));
  const newbranch = () => b(1, n('1', n('2_0'), n('2_1')));
  const newbranchleaf = () => b(1, n('1', n('2_0', n('3')), n('2_1')));
  const newbranchleafbranch = () => b(1, n('1', n('2_0', n('3'), n('3_1')), n('2_1')));

  test('new leaf', () => check([two0()], newleaf(), [withnewleaf()], 'new_leaf'));
  test('new branch, in either order', () => {
    check([two0()], two1(), [newbranch()], 'new_branch');
    check([two1()], two0(), [newbranch()], 'new_branch');
  });
  test('new_leaf, not new_branch, when branches exist', () =>
    check([newbranch()], newleaf(), [newbranchleaf()], 'new_leaf'));
  test('deep branch with branches', () =>
    check([newbranchleaf()], b(2, n('2_0', n('3_1'))), [newbranchleafbranch()], 'new_branch'));
  test('new information reconnects stemming-induced conflicts', () =>
    check([simple(), b(3, n('3'))], withnewleaf(), [withnewleaf()], 'new_leaf'));
  test('simple stemming', () => check([two0()], newleaf(), [newleaf()], 'new_leaf', 2));
  test('stemming to leaves', () =>
    check([newbranchleafbranch()], simple(), [b(2, n('2_1')), b(3, n('3')), b(3, n('3_1'))], 'internal_node', 1));
  test('merging unstemmed recovers as much as possible', () =>
    check(
      [b(2, n('2_1')), b(3, n('3')), b(3, n('3_1'))],
      withnewleaf(),
      [withnewleaf(), b(2, n('2_1')), b(3, n('3_1'))],
      'internal_node',
    ));
  test('stemming branches keeps a node within the limit of any leaf (CouchDB stem_tree)', () => {
    // PouchDB splits this into [{1,1->2_1},{2,2_0->(3|3_1)}]; CouchDB keeps
    // node 1 whole because leaf 2_1 is only one generation below it.
    check([newbranchleafbranch()], simple(), [newbranchleafbranch()], 'internal_node', 2);
  });
});

describe('stem', () => {
  const twoChild = () => [b(0, n('1', n('1a', n('1aa'))))];
  test('no effect when the limit exceeds the depth', () =>
    assert.deepEqual(shape(stem(twoChild(), 3).tree), shape(twoChild())));
  test('one deepest node', () => {
    const r = stem(twoChild(), 1);
    assert.deepEqual(shape(r.tree), shape([b(2, n('1aa'))]));
    assert.deepEqual(r.stemmed.sort(), ['0-1', '1-1a']);
  });
  test('two deepest nodes', () => assert.deepEqual(shape(stem(twoChild(), 2).tree), shape([b(1, n('1a', n('1aa')))])));
  test('rejects a bad limit', () => assert.throws(() => stem(twoChild(), 0), RangeError));

  test('deep histories do not overflow the stack', () => {
    const ids = Array.from({ length: 20000 }, (_, i) => `h${20000 - i}`);
    const path = pathFromRevisions({ start: 20000, ids }, { deleted: false });
    const r = merge([], path, 1000);
    assert.equal(r.tree[0].pos, 19001);
    assert.equal(r.stemmed.length, 19000);
    const full = merge([], path, 50000);
    assert.equal(full.tree[0].pos, 1);
  });
});

describe('pathFromRevisions', () => {
  test('builds a linear path with a body only on the newest revision', () => {
    const p = pathFromRevisions({ start: 3, ids: ['c', 'b', 'a'] }, { deleted: true });
    assert.deepEqual(p, { pos: 1, node: ['a', 0, [['b', 0, [['c', FLAG_AVAILABLE | FLAG_DELETED, []]]]]] });
  });
  test('rejects impossible histories', () => {
    assert.throws(() => pathFromRevisions({ start: 1, ids: ['b', 'a'] }, { deleted: false }), RangeError);
    assert.throws(() => pathFromRevisions({ start: 1, ids: [] }, { deleted: false }), RangeError);
  });
});

// couch_key_tree_tests.erl remove_leafs cases (positions as there, 0-based roots).
describe('removeLeaves (couch_key_tree:remove_leafs)', () => {
  const twoChildSibs = () => [b(0, n('1', n('1a'), n('1b')))];
  const stemmed = () => [b(1, n('1a', n('1aa')))];
  const r = (pos: number, hash: string) => ({ pos, hash });
  test('removing no leaves has no effect', () => {
    const out = removeLeaves(twoChildSibs(), []);
    assert.deepEqual([shape(out.tree), out.removed], [shape(twoChildSibs()), []]);
  });
  test('removing an interior node has no effect', () => {
    const out = removeLeaves(twoChildSibs(), [r(0, '1')]);
    assert.deepEqual([shape(out.tree), out.removed], [shape(twoChildSibs()), []]);
    assert.deepEqual(removeLeaves(stemmed(), [r(1, '1a')]).removed, []);
  });
  test('removing a leaf removes the leaf', () => {
    const out = removeLeaves(twoChildSibs(), [r(1, '1b')]);
    assert.deepEqual([shape(out.tree), out.removed], [shape([b(0, n('1', n('1a')))]), [r(1, '1b')]]);
  });
  test('removing all leaves leaves an empty tree', () => {
    const out = removeLeaves(twoChildSibs(), [r(1, '1a'), r(1, '1b')]);
    assert.deepEqual([out.tree, out.removed], [[], [r(1, '1a'), r(1, '1b')]]);
    assert.deepEqual(removeLeaves(stemmed(), [r(2, '1aa')]), { tree: [], removed: [r(2, '1aa')] });
  });
  test('ancestors only the removed leaf descends from go; flags stay', () => {
    const tree = [b(1, n('a', n('b', n('c')), ['x', FLAG_AVAILABLE | FLAG_DELETED, [n('y')]]))];
    const out = removeLeaves(tree, [r(3, 'c'), r(9, 'nope')]);
    assert.deepEqual(out.tree, [b(1, [n('a')[0], FLAG_AVAILABLE, [['x', FLAG_AVAILABLE | FLAG_DELETED, [n('y')]]]])]);
    assert.deepEqual(out.removed, [r(3, 'c')]);
  });
});
