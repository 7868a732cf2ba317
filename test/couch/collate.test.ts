import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { collate, compareDocIds, compareRaw } from '../../src/couch/collate.js';

function assertSorted(values: unknown[], cmp: (a: unknown, b: unknown) => number): void {
  for (let i = 0; i < values.length; i++) {
    for (let j = 0; j < values.length; j++) {
      const expected = Math.sign(i - j);
      assert.equal(cmp(values[i], values[j]), expected, `${JSON.stringify(values[i])} vs ${JSON.stringify(values[j])}`);
    }
  }
}

describe('view collation', () => {
  test('the order documented in CouchDB views/collation.rst', () => {
    assertSorted(
      [
        null,
        false,
        true,
        1,
        2,
        3.5,
        4,
        'a',
        'A',
        'aa',
        'b',
        'B',
        'ba',
        'bb',
        ['a'],
        ['b'],
        ['b', 'c'],
        ['b', 'c', 'a'],
        ['b', 'd'],
        ['b', 'd', 'e'],
        { a: 1 },
        { a: 2 },
        { b: 1 },
        { b: 2 },
        { b: 2, a: 1 },
        { b: 2, c: 2 },
      ],
      collate,
    );
  });

  test('numbers compare by value; equal values collate equal', () => {
    assert.equal(collate(1, 1.0), 0);
    assert.equal(collate(-1, 0.5), -1);
    assert.equal(collate({ a: [1, 'x'] }, { a: [1, 'x'] }), 0);
  });
});

describe('raw (Erlang term / _all_docs) order', () => {
  test('doc ids sort by code point, unlike view collation', () => {
    const ids = ['A', 'B', 'Z', '_design/a', 'a', 'b', 'z', '\u00e9', '\uff01', '\u{1f600}'];
    assertSorted(ids, (a, b) => compareDocIds(a as string, b as string));
    assert.equal(collate('Z', 'a'), 1, 'view collation puts Z after a');
  });

  test('a character above U+FFFF sorts after U+FFFF-range characters (UTF-8 byte order)', () => {
    assert.equal(compareDocIds('\u{10000}', '\uffff'), 1);
    assert.equal('\u{10000}' < '\uffff', true, 'JavaScript code-unit order gets this wrong');
    assert.equal(Buffer.compare(Buffer.from('\u{10000}'), Buffer.from('\uffff')), 1);
  });

  test('mixed JSON types in Erlang term order', () => {
    assertSorted([-1, 2, false, null, true, { a: 1 }, { b: 0 }, [], [0], [0, 1], '', 'a'], compareRaw);
  });
});
