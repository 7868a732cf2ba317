import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CouchError } from '../../src/couch/errors.js';
import { FLAG_AVAILABLE, FLAG_DELETED, merge, pathFromRevisions, type RevNode, type RevTree } from '../../src/couch/rev-tree.js';
import {
  allRevs,
  compactBodies,
  conflicts,
  deletedConflicts,
  findRev,
  isDeleted,
  isDocDeleted,
  latest,
  leaves,
  revisionsFor,
  revsDiff,
  revsInfo,
  winningRev,
} from '../../src/couch/rev-tree-query.js';

const A = FLAG_AVAILABLE;
const D = FLAG_AVAILABLE | FLAG_DELETED;
const n = (id: string, flags: number, ...children: RevNode[]): RevNode => [id, flags, children];

describe('winner and conflicts', () => {
  test('winningRev returns the longest leaf (pouchdb test.merge.js)', () => {
    const tree: RevTree = [
      {
        pos: 1,
        node: n(
          'bfe70372c90ded1087239e5191984f76',
          A,
          n('44d71a718b90e4696c06a90e08912c8f', A),
          n('56e657612d55ab1a402dcb281c874f2a', A, n('93c3db16462f656f7172ccabd3cf6cd6', A)),
        ),
      },
    ];
    assert.equal(winningRev(tree), '3-93c3db16462f656f7172ccabd3cf6cd6');
    assert.deepEqual(conflicts(tree), ['2-44d71a718b90e4696c06a90e08912c8f']);
  });

  test('winningRev across two roots (pouchdb issue #293)', () => {
    const tree: RevTree = [
      { pos: 1, node: n('203db1a1810a838895d561f67b224b5d', A, n('bf5e08a4f9fa6d33a53f4a00ae3ea399', A, n('28cd77a3ca30f79e1cfffcd6a41ca308', A))) },
      {
        pos: 1,
        node: n(
          'c6d5cce35bcfbef90b20f140d723cbdb',
          A,
          n('1b8dfbb1267e213328920bae43f2f597', A),
          n('59ed830b84b276ab776c3c51aaf93a16', A, n('64a9842c6aea50bf24660378e496e853', A)),
        ),
      },
    ];
    assert.equal(winningRev(tree), '3-64a9842c6aea50bf24660378e496e853');
  });

  test('equal generations: the higher hash wins (spec §4.2: e125 beats c3b1)', () => {
    const tree: RevTree = [
      { pos: 1, node: n('c3b1', A) },
      { pos: 1, node: n('e125', A) },
    ];
    assert.equal(winningRev(tree), '1-e125');
    assert.deepEqual(conflicts(tree), ['1-c3b1']);
    assert.deepEqual(leaves(tree).map((l) => l.rev), ['1-e125', '1-c3b1']);
  });

  test('a live leaf beats a longer deleted one; deleted leaves are deleted conflicts', () => {
    const tree: RevTree = [{ pos: 1, node: n('a', A, n('b', A), n('c', A, n('d', D))) }];
    assert.equal(winningRev(tree), '2-b');
    assert.equal(isDocDeleted(tree), false);
    assert.deepEqual(conflicts(tree), []);
    assert.deepEqual(deletedConflicts(tree), ['3-d']);
    assert.equal(isDeleted(tree, '3-d'), true);
    assert.equal(isDeleted(tree, '2-b'), false);
    assert.equal(isDeleted(tree, '9-z'), undefined);
  });

  test('all leaves deleted: the document is deleted and the highest tombstone wins', () => {
    const tree: RevTree = [{ pos: 1, node: n('a', A, n('b', D), n('c', A, n('d', D))) }];
    assert.equal(isDocDeleted(tree), true);
    assert.equal(winningRev(tree), '3-d');
    assert.deepEqual(deletedConflicts(tree), ['2-b']);
  });
});

describe('revision lookups', () => {
  const tree: RevTree = [{ pos: 1, node: n('a', A, n('b', 0, n('c', D)), n('x', A)) }];

  test('findRev', () => {
    assert.deepEqual(findRev(tree, '2-b'), { rev: '2-b', pos: 2, hash: 'b', deleted: false, available: false, leaf: false });
    assert.equal(findRev(tree, '2-c'), null);
  });

  test('revisionsFor gives _revisions newest first', () => {
    assert.deepEqual(revisionsFor(tree, '3-c'), { start: 3, ids: ['c', 'b', 'a'] });
    assert.equal(revisionsFor(tree, '3-q'), null);
  });

  test('revsInfo statuses: available, deleted, missing', () => {
    assert.deepEqual(revsInfo(tree, '3-c'), [
      { rev: '3-c', status: 'deleted' },
      { rev: '2-b', status: 'missing' },
      { rev: '1-a', status: 'available' },
    ]);
  });

  test('latest: the leaves under a revision (couch_key_tree get_key_leafs)', () => {
    assert.deepEqual(latest(tree, '1-a').sort(), ['2-x', '3-c']);
    assert.deepEqual(latest(tree, '2-b'), ['3-c']);
    assert.deepEqual(latest(tree, '3-c'), ['3-c']);
    assert.deepEqual(latest(tree, '1-zz'), []);
  });

  test('allRevs and compactBodies', () => {
    assert.deepEqual(allRevs(tree).sort(), ['1-a', '2-b', '2-x', '3-c']);
    const { tree: compacted, dropped } = compactBodies(tree);
    assert.deepEqual(dropped, ['1-a']);
    assert.equal(revsInfo(compacted, '3-c')?.[2].status, 'missing');
    assert.equal(revsInfo(tree, '3-c')?.[2].status, 'available', 'input untouched');
  });
});

describe('revsDiff', () => {
  // couch_key_tree_tests find_missing cases, as _revs_diff answers.
  const twoChildSibs: RevTree = [{ pos: 0, node: n('1', A, n('1a', A), n('1b', A)) }];

  test('nothing missing: null (the id is left out)', () => {
    assert.equal(revsDiff(twoChildSibs, ['0-1', '1-1a']), null);
  });

  test('missing revs plus leaves older than the newest missing one', () => {
    assert.deepEqual(revsDiff(twoChildSibs, ['0-1', '0-10', '1-1a', '100-x']), {
      missing: ['0-10', '100-x'],
      possible_ancestors: ['1-1b', '1-1a'],
    });
  });

  test('stemmed revisions count as missing', () => {
    const stemmed1: RevTree = [{ pos: 1, node: n('1a', A, n('1aa', A)) }];
    assert.deepEqual(revsDiff(stemmed1, ['0-1', '1-1a', '100-x'])?.missing, ['0-1', '100-x']);
    const stemmed2: RevTree = [{ pos: 2, node: n('1aa', A) }];
    assert.deepEqual(revsDiff(stemmed2, ['0-1', '1-1a', '100-x'])?.missing, ['0-1', '1-1a', '100-x']);
  });

  test('no possible_ancestors when no leaf is older, or for an unknown doc', () => {
    assert.deepEqual(revsDiff(twoChildSibs, ['1-zz']), { missing: ['1-zz'] });
    assert.deepEqual(revsDiff(null, ['1-a', '2-b', '1-a']), { missing: ['1-a', '2-b'] });
  });

  test('invalid revs are a 400', () => {
    assert.throws(() => revsDiff(twoChildSibs, ['nope']), (e: unknown) => e instanceof CouchError && e.reason === 'Invalid rev format');
  });

  test('replicated history: ancestors of a pushed leaf are known afterwards', () => {
    const local = merge([], pathFromRevisions({ start: 2, ids: ['5df0', '1c7f'] }, { deleted: false })).tree;
    assert.equal(revsDiff(local, ['2-5df0', '1-1c7f']), null);
    assert.deepEqual(revsDiff(local, ['3-new']), { missing: ['3-new'], possible_ancestors: ['2-5df0'] });
  });
});
