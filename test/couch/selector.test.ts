import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CouchError } from '../../src/couch/errors.js';
import { compileSelector, normalizeSelector } from '../../src/couch/selector.js';

// Truth tables: [selector, [[doc, expected], ...]].
type Row = [Record<string, unknown>, boolean];
const cases: Array<[string, unknown, Row[]]> = [
  ['implicit $eq', { a: 1 }, [[{ a: 1 }, true], [{ a: 1.0 }, true], [{ a: 2 }, false], [{ a: '1' }, false], [{}, false], [{ a: [1] }, false]]],
  ['$eq null', { a: { $eq: null } }, [[{ a: null }, true], [{}, false], [{ a: false }, false]]],
  ['$eq object', { a: { b: 1, c: 2 } }, [[{ a: { b: 1, c: 2 } }, true], [{ a: { b: 1 } }, false]]],
  ['$eq array', { a: { $eq: [1, 2] } }, [[{ a: [1, 2] }, true], [{ a: [2, 1] }, false], [{ a: 1 }, false]]],
  ['$ne needs the field', { a: { $ne: 1 } }, [[{ a: 2 }, true], [{ a: 1 }, false], [{}, false], [{ a: null }, true]]],
  ['$gt number', { n: { $gt: 5 } }, [[{ n: 6 }, true], [{ n: 5 }, false], [{ n: 4.9 }, false], [{ n: 'x' }, true], [{ n: null }, false]]],
  ['$gte', { n: { $gte: 5 } }, [[{ n: 5 }, true], [{ n: 4 }, false]]],
  ['$lt', { n: { $lt: 5 } }, [[{ n: 4 }, true], [{ n: 5 }, false], [{ n: true }, true], [{ n: [] }, false]]],
  ['$lte', { n: { $lte: 5 } }, [[{ n: 5 }, true], [{ n: 6 }, false]]],
  ['string collation', { s: { $gt: 'a', $lt: 'b' } }, [[{ s: 'A' }, true], [{ s: 'aa' }, true], [{ s: 'B' }, false], [{ s: 'a' }, false]]],
  ['$in scalar', { a: { $in: [1, 'x'] } }, [[{ a: 1 }, true], [{ a: 'x' }, true], [{ a: 2 }, false], [{}, false]]],
  ['$in array field', { a: { $in: [1, 3] } }, [[{ a: [3, 4] }, true], [{ a: [5] }, false], [{ a: [] }, false]]],
  ['$nin', { a: { $nin: [1, 2] } }, [[{ a: 3 }, true], [{ a: 1 }, false], [{ a: [3, 4] }, true], [{ a: [3, 2] }, false], [{}, false]]],
  ['$exists true', { a: { $exists: true } }, [[{ a: null }, true], [{ a: 0 }, true], [{}, false]]],
  ['$exists false', { a: { $exists: false } }, [[{}, true], [{ a: null }, false], [{ b: 1 }, true]]],
  ['$and explicit', { $and: [{ a: 1 }, { b: 2 }] }, [[{ a: 1, b: 2 }, true], [{ a: 1 }, false]]],
  ['implicit $and', { a: 1, b: { $gt: 1 } }, [[{ a: 1, b: 2 }, true], [{ a: 1, b: 1 }, false]]],
  ['$and []', { $and: [] }, [[{}, true], [{ a: 1 }, true]]],
  ['$or', { $or: [{ a: 1 }, { b: 1 }] }, [[{ a: 1 }, true], [{ b: 1 }, true], [{ a: 2, b: 2 }, false]]],
  // CouchDB's 21_empty_selector tests: a selector of nothing but an empty $or finds nothing, an
  // empty $or beside other conditions is true.
  ['$or []', { $or: [] }, [[{ a: 1 }, false]]],
  ['$or [] with a field', { a: 1, $or: [] }, [[{ a: 1 }, true], [{ a: 2 }, false]]],
  ['$regex with PCRE inline options and anchors', { s: { $regex: '(?i)\\Anew.*york\\z' } }, [[{ s: 'New York' }, true], [{ s: 'x New York' }, false], [{ s: 'new york\nx' }, false]]],
  ['$regex (?s)', { s: { $regex: '(?s)a.b' } }, [[{ s: 'a\nb' }, true]]],
  ['$not pushed down (field must exist)', { $not: { a: { $gt: 1 } } }, [[{ a: 1 }, true], [{ a: 2 }, false], [{}, false]]],
  ['$not on a field', { a: { $not: { $eq: 1 } } }, [[{ a: 2 }, true], [{ a: 1 }, false], [{}, false]]],
  ['$not over $regex', { s: { $not: { $regex: '^a' } } }, [[{ s: 'b' }, true], [{ s: 'ab' }, false], [{ s: 5 }, true], [{}, false]]],
  ['$nor', { $nor: [{ a: 1 }, { b: 1 }] }, [[{ a: 2, b: 2 }, true], [{ a: 1, b: 2 }, false], [{ a: 2 }, false]]],
  ['$regex', { s: { $regex: '^fo+$' } }, [[{ s: 'foo' }, true], [{ s: 'fob' }, false], [{ s: 1 }, false]]],
  ['$type', { a: { $type: 'array' } }, [[{ a: [] }, true], [{ a: {} }, false], [{}, false]]],
  ['$type null/boolean/number/string/object', { $and: [{ n: { $type: 'null' } }, { b: { $type: 'boolean' } }, { x: { $type: 'number' } }, { s: { $type: 'string' } }, { o: { $type: 'object' } }] }, [[{ n: null, b: false, x: 1.5, s: '', o: {} }, true], [{ n: null, b: 0, x: 1.5, s: '', o: {} }, false]]],
  ['$size', { a: { $size: 2 } }, [[{ a: [1, 2] }, true], [{ a: [1] }, false], [{ a: 'ab' }, false]]],
  ['$all', { a: { $all: [1, 2] } }, [[{ a: [2, 3, 1] }, true], [{ a: [1, 3] }, false], [{ a: 1 }, false]]],
  ['$all with one array argument', { a: { $all: [[1, 2]] } }, [[{ a: [1, 2] }, true], [{ a: [[1, 2], 3] }, true], [{ a: [2, 1] }, false]]],
  ['$all []', { a: { $all: [] } }, [[{ a: [] }, false], [{ a: [1] }, false]]],
  ['$elemMatch', { a: { $elemMatch: { $gte: 80, $lt: 85 } } }, [[{ a: [70, 82] }, true], [{ a: [85, 90] }, false], [{ a: [] }, false], [{ a: 82 }, false]]],
  ['$elemMatch objects', { a: { $elemMatch: { k: 'x' } } }, [[{ a: [{ k: 'y' }, { k: 'x' }] }, true], [{ a: [{ k: 'y' }] }, false]]],
  ['$allMatch', { a: { $allMatch: { $gt: 0 } } }, [[{ a: [1, 2] }, true], [{ a: [1, 0] }, false], [{ a: [] }, false]]],
  ['$keyMapMatch', { m: { $keyMapMatch: { $eq: 'k' } } }, [[{ m: { k: 1 } }, true], [{ m: { j: 1 } }, false], [{ m: {} }, false]]],
  ['$mod', { n: { $mod: [3, 1] } }, [[{ n: 4 }, true], [{ n: 5 }, false], [{ n: -2 }, false], [{ n: -5 }, false], [{ n: 4.5 }, false], [{ n: '4' }, false]]],
  ['$mod negative remainder (Erlang rem)', { n: { $mod: [3, -1] } }, [[{ n: -4 }, true], [{ n: 2 }, false]]],
  ['$beginsWith', { s: { $beginsWith: 'ab' } }, [[{ s: 'abc' }, true], [{ s: 'xab' }, false], [{ s: 1 }, false]]],
  ['nested object fields', { a: { b: { $gt: 1 } } }, [[{ a: { b: 2 } }, true], [{ a: { b: 0 } }, false], [{ a: 1 }, false]]],
  ['dot paths and array indexes', { 'a.b.1': 'y' }, [[{ a: { b: ['x', 'y'] } }, true], [{ a: { b: ['y'] } }, false]]],
  ['escaped dot is literal', { 'a\\.b': 1 }, [[{ 'a.b': 1 }, true], [{ a: { b: 1 } }, false]]],
  ['_id compares raw (byte order)', { _id: { $gt: 'Z' } }, [[{ _id: '_design/x' }, true], [{ _id: 'a' }, true], [{ _id: 'A' }, false]]],
  ['other fields compare by collation', { name: { $gt: 'Z' } }, [[{ name: 'a' }, false], [{ name: 'z' }, false], [{ name: 'zz' }, true]]],
  ['empty selector matches everything', {}, [[{}, true], [{ a: 1 }, true]]],
];

describe('selector truth tables', () => {
  for (const [name, selector, rows] of cases) {
    test(name, () => {
      const match = compileSelector(selector);
      rows.forEach(([doc, expected], i) => assert.equal(match(doc), expected, `row ${i}: ${JSON.stringify(doc)}`));
    });
  }
});

describe('normalisation (mango_selector:normalize/1)', () => {
  test('implicit operators and field paths are made explicit', () => {
    assert.deepEqual(normalizeSelector({ foo: { bar: { $gt: 10 } } }), { 'foo.bar': { $gt: 10 } });
    assert.deepEqual(normalizeSelector({ foo: { $and: [{ $gt: 5 }, { $lt: 10 }] } }), {
      $and: [{ foo: { $gt: 5 } }, { foo: { $lt: 10 } }],
    });
  });
  test('De Morgan', () => {
    assert.deepEqual(normalizeSelector({ $not: { $and: [{ foo: { $gt: 10 } }, { foo: { $lt: 5 } }] } }), {
      $or: [{ foo: { $lte: 10 } }, { foo: { $gte: 5 } }],
    });
    assert.deepEqual(normalizeSelector({ $not: { $not: { a: 1 } } }), { a: { $eq: 1 } });
    assert.deepEqual(normalizeSelector({ a: { $not: { $size: 1 } } }), { a: { $not: { $size: 1 } } });
  });
});

describe('invalid selectors', () => {
  const reasons: Array<[unknown, string]> = [
    [[], 'Selector error: expected a JSON object'],
    ['x', 'Selector error: expected a JSON object'],
    [{ a: { $in: 5 } }, 'Bad argument for operator $in: 5'],
    [{ a: { $nin: {} } }, 'Bad argument for operator $nin: {}'],
    [{ $and: { a: 1 } }, 'Bad argument for operator $and: {"a":1}'],
    [{ $or: 1 }, 'Bad argument for operator $or: 1'],
    [{ $nor: 'x' }, 'Bad argument for operator $nor: "x"'],
    [{ a: { $not: 1 } }, 'Bad argument for operator $not: 1'],
    [{ a: { $exists: 'yes' } }, 'Bad argument for operator $exists: "yes"'],
    [{ a: { $type: 1 } }, 'Bad argument for operator $type: 1'],
    [{ _id: { $beginsWith: true } }, 'Invalid operator: $beginsWith'],
    [{ a: { $size: -1 } }, 'Bad argument for operator $size: -1'],
    [{ a: { $size: 1.5 } }, 'Bad argument for operator $size: 1.5'],
    [{ a: { $mod: [3] } }, 'Bad argument for operator $mod: [3]'],
    [{ a: { $mod: [0, 1] } }, 'Bad argument for operator $mod: [0,1]'],
    [{ a: { $regex: '(' } }, 'Bad argument for operator $regex: "("'],
    [{ a: { $all: 1 } }, 'Bad argument for operator $all: 1'],
    [{ a: { $elemMatch: [] } }, 'Bad argument for operator $elemMatch: []'],
    [{ a: { $foo: 1 } }, 'Invalid operator: $foo'],
    [{ $where: 'x' }, 'Unsupported operator: $where'],
    [{ $gt: 5 }, 'One or more conditions is missing a field name.'],
    [{ 'a..b': 1 }, 'Invalid field name: a..b'],
  ];
  for (const [selector, reason] of reasons) {
    test(JSON.stringify(selector), () => {
      assert.throws(
        () => compileSelector(selector),
        (e: unknown) => e instanceof CouchError && e.status === 400 && e.error === 'bad_request' && e.reason === reason,
      );
    });
  }
});
