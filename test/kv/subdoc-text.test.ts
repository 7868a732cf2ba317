/**
 * Sub-document mutations keep the bytes they do not touch: subjson splices the new value into the
 * document text (operations.cc do_store_dict, do_mkdir_p, do_remove, do_list_append,
 * do_list_prepend, do_insert, do_arith_op, do_empty_append), so whitespace, member order, number
 * spellings, escapes and repeated names survive, and a plain GET reads them back.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Feature, Opcode, Status, SubdocPathFlag, encodeGetRequest, encodeMultiRequest } from '../../src/codec/index.js';
import { RAW_TEST, withServer, type KvFixture } from './fixture.js';
import { expectStatus, subdocSingle as single, type RawKv } from './raw-client.js';

const FEATURES = [Feature.Xerror, Feature.SelectBucket, Feature.Json, Feature.MutationSeqno, Feature.Xattr];
const { MkdirP } = SubdocPathFlag;

const DOC = '{ "a" : 1.0, "b":[ 1 , 2 ],\n  "c": {"x":"caf\\u00e9"}, "n": 1e3 }';

interface Case {
  readonly opcode: number;
  readonly path: string;
  readonly value?: string;
  readonly pathFlags?: number;
  readonly doc?: string;
  readonly expect: string;
}

const CASES: ReadonlyArray<readonly [string, Case]> = [
  ['upsert of an existing member', { opcode: Opcode.SubdocDictUpsert, path: 'n', value: '5', expect: DOC.replace('1e3', '5') }],
  ['add of a new member', { opcode: Opcode.SubdocDictAdd, path: 'd', value: 'true', expect: DOC.replace('1e3 }', '1e3 ,"d":true}') }],
  ['replace in a nested object', { opcode: Opcode.SubdocReplace, path: 'c.x', value: '"y"', expect: DOC.replace('"caf\\u00e9"', '"y"') }],
  ['the value as sent', { opcode: Opcode.SubdocDictUpsert, path: 'a', value: '{ "k" : 2.50 }', expect: DOC.replace('1.0', '{ "k" : 2.50 }') }],
  ['delete of the first member', { opcode: Opcode.SubdocDelete, path: 'a', expect: DOC.replace('"a" : 1.0,', '') }],
  ['delete of the last member', { opcode: Opcode.SubdocDelete, path: 'n', expect: DOC.replace(', "n": 1e3', '') }],
  ['delete of a middle element', { opcode: Opcode.SubdocDelete, path: 'b[0]', expect: DOC.replace('[ 1 , 2 ]', '[  2 ]') }],
  ['push last', { opcode: Opcode.SubdocArrayPushLast, path: 'b', value: '3', expect: DOC.replace('[ 1 , 2 ]', '[ 1 , 2 ,3]') }],
  ['push first', { opcode: Opcode.SubdocArrayPushFirst, path: 'b', value: '0', expect: DOC.replace('[ 1 , 2 ]', '[ 0,1 , 2 ]') }],
  ['insert before an element', { opcode: Opcode.SubdocArrayInsert, path: 'b[1]', value: '9', expect: DOC.replace('[ 1 , 2 ]', '[ 1 , 9,2 ]') }],
  ['insert at the end', { opcode: Opcode.SubdocArrayInsert, path: 'b[2]', value: '9', expect: DOC.replace('[ 1 , 2 ]', '[ 1 , 2 ,9]') }],
  ['add unique', { opcode: Opcode.SubdocArrayAddUnique, path: 'b', value: '3', expect: DOC.replace('[ 1 , 2 ]', '[ 1 , 2 ,3]') }],
  ['counter creating a member', { opcode: Opcode.SubdocCounter, path: 'c.k', value: '2', expect: DOC.replace('"caf\\u00e9"}', '"caf\\u00e9","k":2}') }],
  [
    'upsert creating the intermediate objects',
    { opcode: Opcode.SubdocDictUpsert, path: 'p.`q.r`.s', value: '[1, 2]', pathFlags: MkdirP, expect: DOC.replace('1e3 }', '1e3 ,"p":{"q.r":{"s":[1, 2]}}}') },
  ],
  ['push last creating the array', { opcode: Opcode.SubdocArrayPushLast, path: 'c.l', value: '1, 2', pathFlags: MkdirP, expect: DOC.replace('"caf\\u00e9"}', '"caf\\u00e9","l":[1, 2]}') }],
  ['push into an empty array (its inside whitespace goes)', { opcode: Opcode.SubdocArrayPushLast, path: 'e', value: '3', doc: '{"e":[ ], "f" : 1}', expect: '{"e":[3], "f" : 1}' }],
  ['push last on the root array', { opcode: Opcode.SubdocArrayPushLast, path: '', value: '3', doc: '[1, 2 ] ', expect: '[1, 2,3]' }],
  ['upsert of a repeated name changes the first', { opcode: Opcode.SubdocDictUpsert, path: 'a', value: '3', doc: '{"a":1,"a":2}', expect: '{"a":3,"a":2}' }],
  ['an escaped member name matches its characters', { opcode: Opcode.SubdocDictUpsert, path: 'ab', value: '2', doc: '{"\\u0061b": 1}', expect: '{"\\u0061b": 2}' }],
];

async function plainGet(f: KvFixture, kv: RawKv, key: string): Promise<string> {
  return expectStatus(await kv.request(encodeGetRequest({ key: Buffer.from(key), vbucket: f.vb(key) })), Status.Success).value.toString();
}

describe('sub-document mutations edit the document text', () => {
  for (const [name, c] of CASES) {
    test(name, RAW_TEST, () =>
      withServer(async (f) => {
        const kv = await f.open({ features: FEATURES });
        await f.bucket.set('k', c.doc ?? DOC);
        const more = { ...(c.value !== undefined ? { value: c.value } : {}), ...(c.pathFlags ? { pathFlags: c.pathFlags } : {}) };
        expectStatus(await single(kv, f.vb('k'), c.opcode, 'k', c.path, more), Status.Success, name);
        assert.equal(await plainGet(f, kv, 'k'), c.expect);
      }));
  }

  test('a multi-mutation applies its specs one after the other to the text', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      await f.bucket.set('m', DOC);
      const specs = [
        { opcode: Opcode.SubdocDictUpsert, path: 'n', value: '7' },
        { opcode: Opcode.SubdocDelete, path: 'b[-1]' },
        { opcode: Opcode.SubdocCounter, path: 'n', value: '-2' },
      ];
      const res = expectStatus(await kv.request(encodeMultiRequest(Opcode.SubdocMultiMutation, { key: 'm', vbucket: f.vb('m'), specs })), Status.Success);
      assert.ok(res.value.toString().endsWith('5'));
      assert.equal(await plainGet(f, kv, 'm'), DOC.replace('1e3', '5').replace('[ 1 , 2 ]', '[ 1  ]'));
    }));

  test("subjson's own examples (t_ops.cc), one after the other", RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      const steps: ReadonlyArray<readonly [string, number, string, string | undefined, string]> = [
        // [start document or '' to go on, opcode, path, value, document after]
        ['[0,[1,[2]],{"key":"val"}]', Opcode.SubdocDelete, '[1][1][0]', undefined, '[0,[1,[]],{"key":"val"}]'],
        ['', Opcode.SubdocDelete, '[1][1]', undefined, '[0,[1],{"key":"val"}]'],
        ['[1,2]', Opcode.SubdocDelete, '[0]', undefined, '[2]'],
        ['[1]', Opcode.SubdocDelete, '[-1]', undefined, '[]'],
        ['[1,2,4,5]', Opcode.SubdocArrayInsert, '[2]', '3', '[1,2,3,4,5]'],
        ['', Opcode.SubdocArrayInsert, '[0]', '0', '[0,1,2,3,4,5]'],
        ['', Opcode.SubdocArrayInsert, '[6]', '6', '[0,1,2,3,4,5,6]'],
        ['{"a":["23"]}', Opcode.SubdocArrayAddUnique, 'a', '1234', '{"a":["23",1234]}'],
        ['{"array":[4,5,6]}', Opcode.SubdocArrayPushFirst, 'array', '1,2,3', '{"array":[1,2,3,4,5,6]}'],
        ['', Opcode.SubdocArrayPushLast, 'array', '7,8,9', '{"array":[1,2,3,4,5,6,7,8,9]}'],
        ['[]', Opcode.SubdocArrayPushLast, '', 'null', '[null]'],
      ];
      for (const [start, opcode, path, value, after] of steps) {
        if (start !== '') await f.bucket.set('t', start);
        expectStatus(await single(kv, f.vb('t'), opcode, 't', path, value === undefined ? {} : { value }), Status.Success, `${path} on ${start}`);
        assert.equal(await plainGet(f, kv, 't'), after, `${path}`);
      }
    }));

  test('a body that is not JSON is DOC_NOTJSON and stays as it was', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      await f.bucket.set('r', 'not { json');
      expectStatus(await single(kv, f.vb('r'), Opcode.SubdocDictUpsert, 'r', 'a', { value: '1' }), Status.SubdocDocNotJson);
      assert.equal(await plainGet(f, kv, 'r'), 'not { json');
    }));

  test('GET_COUNT counts the members as written, a repeated name twice', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open({ features: FEATURES });
      await f.bucket.set('g', '{"o":{"a":1,"a":2,"b":3}}');
      assert.equal(expectStatus(await single(kv, f.vb('g'), Opcode.SubdocGetCount, 'g', 'o'), Status.Success).value.toString(), '3');
    }));
});
