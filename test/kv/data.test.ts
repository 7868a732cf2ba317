/**
 * Document-command rules over raw frames that the SDK tests do not reach: size limits, ADD with a
 * CAS, what APPEND and INCR keep, and GET_META on tombstones (kv docs/BinaryProtocol.md; kv_engine
 * mcbp_validators.cc; dcp.md §2.3).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Opcode,
  Status,
  decodeGetMetaResponse,
  encodeArithRequest,
  encodeConcatRequest,
  encodeDeleteRequest,
  encodeGetMetaRequest,
  encodeGetRequest,
  encodeStoreRequest,
  encodeTouchRequest,
} from '../../src/codec/index.js';
import { expectStatus } from './raw-client.js';
import { RAW_TEST, withServer } from './fixture.js';

test('key and value size limits: 250-byte keys and 20 MiB values', RAW_TEST, () =>
  withServer(async (f) => {
    const kv = await f.open();
    const set = (key: string, size: number) => encodeStoreRequest({ key, value: Buffer.alloc(size, 1), vbucket: f.vb(key) });
    expectStatus(await kv.request(set('k'.repeat(250), 10)), Status.Success);
    expectStatus(await kv.request(set('k'.repeat(251), 10)), Status.Einval);
    expectStatus(await kv.request(set('big', 20 * 1024 * 1024 + 1)), Status.E2big);
    expectStatus(await kv.request(set('big', 20 * 1024 * 1024)), Status.Success);
    const got = expectStatus(await kv.request(encodeGetRequest({ key: 'big', vbucket: f.vb('big') })), Status.Success);
    assert.equal(got.value.length, 20 * 1024 * 1024);
  }));

test('ADD with a CAS is an invalid request; SET and REPLACE with a CAS on a missing key are KeyEnoent', RAW_TEST, () =>
  withServer(async (f) => {
    const kv = await f.open();
    const req = (opcode: number) => encodeStoreRequest({ opcode, key: 'c', value: 'v', cas: 5n, vbucket: f.vb('c') });
    expectStatus(await kv.request(req(Opcode.Add)), Status.Einval);
    expectStatus(await kv.request(req(Opcode.Set)), Status.KeyEnoent);
    expectStatus(await kv.request(req(Opcode.Replace)), Status.KeyEnoent);
    assert.throws(() => f.bucket.get('c'), /not found/);
  }));

test('APPEND and INCR keep the flags and the expiry; counters wrap at 2^64 and stop at 0', RAW_TEST, () =>
  withServer(async (f) => {
    const kv = await f.open();
    expectStatus(await kv.request(encodeStoreRequest({ key: 'a', value: 'abc', flags: 0x1234, expiration: 3600, vbucket: f.vb('a') })), Status.Success);
    const expiry = f.bucket.get('a').expiry;
    expectStatus(await kv.request(encodeConcatRequest({ key: 'a', value: 'def', vbucket: f.vb('a') })), Status.Success);
    assert.deepEqual([f.bucket.get('a').value.toString(), f.bucket.get('a').flags, f.bucket.get('a').expiry], ['abcdef', 0x1234, expiry]);

    expectStatus(await kv.request(encodeStoreRequest({ key: 'n', value: '18446744073709551615', flags: 0x99, vbucket: f.vb('n') })), Status.Success);
    expectStatus(await kv.request(encodeArithRequest({ key: 'n', delta: 2n, vbucket: f.vb('n') })), Status.Success);
    assert.deepEqual([f.bucket.get('n').value.toString(), f.bucket.get('n').flags], ['1', 0x99]);
    expectStatus(await kv.request(encodeArithRequest({ opcode: Opcode.Decrement, key: 'n', delta: 5n, vbucket: f.vb('n') })), Status.Success);
    assert.equal(f.bucket.get('n').value.toString(), '0');
    expectStatus(await kv.request(encodeConcatRequest({ key: 'missing', value: 'x', vbucket: f.vb('missing') })), Status.NotStored);
  }));

test('GET_META reports tombstones as deleted; GAT and TOUCH on them are KeyEnoent', RAW_TEST, () =>
  withServer(async (f) => {
    const kv = await f.open();
    expectStatus(await kv.request(encodeStoreRequest({ key: 'm', value: '{}', flags: 7, vbucket: f.vb('m') })), Status.Success);
    const live = decodeGetMetaResponse(expectStatus(await kv.request(encodeGetMetaRequest({ key: 'm', version: 2, vbucket: f.vb('m') })), Status.Success));
    assert.equal(live.deleted, false);
    assert.equal(live.flags, 7);
    expectStatus(await kv.request(encodeDeleteRequest({ key: 'm', vbucket: f.vb('m') })), Status.Success);
    const dead = decodeGetMetaResponse(expectStatus(await kv.request(encodeGetMetaRequest({ key: 'm', version: 2, vbucket: f.vb('m') })), Status.Success));
    assert.equal(dead.deleted, true);
    assert.equal(dead.revSeqno, live.revSeqno + 1);
    expectStatus(await kv.request(encodeTouchRequest({ opcode: Opcode.Gat, key: 'm', expiration: 10, vbucket: f.vb('m') })), Status.KeyEnoent);
    expectStatus(await kv.request(encodeTouchRequest({ key: 'm', expiration: 10, vbucket: f.vb('m') })), Status.KeyEnoent);
    expectStatus(await kv.request(encodeGetMetaRequest({ key: 'never', version: 2, vbucket: f.vb('never') })), Status.KeyEnoent);
  }));

test('INCR parses the stored number as kv safe_strtoull does: spaces, a plus sign, leading zeros', RAW_TEST, () =>
  withServer(async (f) => {
    const kv = await f.open();
    const incr = async (stored: string): Promise<number> => {
      expectStatus(await kv.request(encodeStoreRequest({ key: 'n', value: stored, vbucket: f.vb('n') })), Status.Success);
      return (await kv.request(encodeArithRequest({ key: 'n', delta: 1n, vbucket: f.vb('n') }))).status;
    };
    for (const ok of [' 12', '12 ', '+5', '\t7\n', '000000000000000000000001', '12 abc', '18446744073709551615']) {
      assert.equal(await incr(ok), Status.Success, JSON.stringify(ok));
    }
    expectStatus(await kv.request(encodeStoreRequest({ key: 'n', value: '+41', vbucket: f.vb('n') })), Status.Success);
    expectStatus(await kv.request(encodeArithRequest({ key: 'n', delta: 1n, vbucket: f.vb('n') })), Status.Success);
    assert.equal(f.bucket.get('n').value.toString(), '42');
    for (const bad of ['', ' ', '-1', '12abc', '++1', '0x10', '18446744073709551616', '1'.repeat(40)]) {
      assert.equal(await incr(bad), Status.DeltaBadval, JSON.stringify(bad));
    }
  }));

test('a GET miss is a bare KeyEnoent and a GETK miss echoes the key (kv get_context.cc noSuchItem)', RAW_TEST, () =>
  withServer(async (f) => {
    const kv = await f.open();
    const get = expectStatus(await kv.request(encodeGetRequest({ key: 'nope', vbucket: f.vb('nope') })), Status.KeyEnoent);
    assert.equal(get.value.length, 0);
    assert.equal(get.key.length, 0);
    const getk = expectStatus(await kv.request(encodeGetRequest({ opcode: Opcode.GetK, key: 'nope', vbucket: f.vb('nope') })), Status.KeyEnoent);
    assert.equal(getk.key.toString(), 'nope');
    assert.equal(getk.value.length, 0);
  }));

test('GET_META v2 reports the stored datatype to a client without HELLO JSON; a miss is a bare KeyEnoent', RAW_TEST, () =>
  withServer(async (f) => {
    const kv = await f.open({ features: [] });
    expectStatus(await kv.request(encodeStoreRequest({ key: 'j', value: '{"a":1}', vbucket: f.vb('j') })), Status.Success);
    const meta = decodeGetMetaResponse(expectStatus(await kv.request(encodeGetMetaRequest({ key: 'j', version: 2, vbucket: f.vb('j') })), Status.Success));
    assert.equal(meta.datatype, 0x01);
    const miss = expectStatus(await kv.request(encodeGetMetaRequest({ key: 'nope', version: 2, vbucket: f.vb('nope') })), Status.KeyEnoent);
    assert.equal(miss.value.length, 0);
  }));

test('TOUCH and GAT on a missing key are a bare KeyEnoent; GATQ stays silent (kv gat_context.cc)', RAW_TEST, () =>
  withServer(async (f) => {
    const kv = await f.open();
    for (const opcode of [Opcode.Touch, Opcode.Gat]) {
      const miss = expectStatus(await kv.request(encodeTouchRequest({ opcode, key: 'nope', expiration: 10, vbucket: f.vb('nope') })), Status.KeyEnoent);
      assert.equal(miss.value.length, 0);
    }
  }));
