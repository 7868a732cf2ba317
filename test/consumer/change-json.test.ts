/** `freshet tail` output lines (change-json.ts). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { changeToJson, changeToJsonLine } from '../../src/consumer/change-json.js';
import { itemEvent } from '../../src/consumer/change-events.js';
import { encodeDcpDeletion, encodeDcpMutation } from '../../src/codec/index.js';

const mutation = (value: Buffer | string, datatype: number, key: Buffer | string = 'k1') =>
  itemEvent(5, encodeDcpMutation({ opaque: 1, vbucket: 5, key, value, cas: 0xfedcba9876543210n, datatype, bySeqno: 12, revSeqno: 3, flags: 0xdeadbeef, expiration: 1700000000 }));

describe('consumer > change JSON', () => {
  test('a JSON document: parsed value, cas as a decimal string, every field', () => {
    assert.deepEqual(changeToJson(mutation('{"n":1}', 1)), {
      type: 'mutation', key: 'k1', vbucket: 5, seqno: 12, revSeqno: 3, cas: '18364758544493064720', flags: 0xdeadbeef,
      expiry: 1700000000, deleted: false, datatype: 1, value: { n: 1 },
    });
    assert.equal(changeToJsonLine(mutation('[1]', 0)).endsWith('"value":[1]}\n'), true); // JSON without the bit
  });

  test('text stays text, binary becomes base64, keys too', () => {
    assert.deepEqual(changeToJson(mutation('hello', 0)).value, 'hello');
    assert.equal(changeToJson(mutation('hello', 0)).valueEncoding, 'utf8');
    assert.equal(changeToJson(mutation('{oops', 1)).valueEncoding, 'utf8');
    const bin = changeToJson(mutation(Buffer.from([0xff, 0x00, 0xfe]), 0, Buffer.from([0xc3, 0x28])));
    assert.deepEqual([bin.value, bin.valueEncoding, bin.key, bin.keyEncoding], ['/wD+', 'base64', 'wyg=', 'base64']);
    assert.equal(changeToJson(mutation('{"n":1}', 1), true).value, null); // keys only
  });

  test('deletions and rollbacks', () => {
    const del = itemEvent(2, encodeDcpDeletion({ version: 1, opaque: 1, vbucket: 2, key: 'gone', cas: 5n, bySeqno: 9, revSeqno: 2 }));
    assert.deepEqual(changeToJson(del), { type: 'deletion', key: 'gone', vbucket: 2, seqno: 9, revSeqno: 2, cas: '5', flags: 0, expiry: 0, deleted: true, datatype: 0, value: null });
    assert.deepEqual(changeToJson({ type: 'rollback', vbucket: 3, seqno: 7, vbUuid: 11 }), { type: 'rollback', vbucket: 3, seqno: 7, vbUuid: 11 });
  });
});
