/**
 * The server decides the JSON datatype bit, not the client (kv_engine
 * steppable_command_context.cc setDatatypeJSONFromValue): a value flagged JSON that is invalid
 * JSON, invalid UTF-8 or nested past `maxJsonDepth` is stored raw, with its bytes intact; valid
 * JSON is flagged even when the client did not flag it. Raw frames, so the datatype byte is ours.
 */
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Opcode, Status, encodeConcatRequest, encodeGetRequest, encodeStoreRequest } from '../../src/codec/index.js';
import { jsonDepth, parseCheckedJson } from '../../src/codec/json-check.js';
import { Engine } from '../../src/engine/engine.js';
import { tempDir } from '../helpers/server.js';
import { expectStatus, type RawKv } from './raw-client.js';
import { RAW_TEST, withServer, type KvFixture } from './fixture.js';

const JSON_DT = 0x01;

function nested(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

async function setThenGet(f: KvFixture, kv: RawKv, key: string, value: string | Buffer, datatype: number, opcode: number = Opcode.Set): Promise<{ value: Buffer; datatype: number }> {
  expectStatus(await kv.request(encodeStoreRequest({ opcode, key, value, datatype, vbucket: f.vb(key) })), Status.Success, `store ${key}`);
  const got = expectStatus(await kv.request(encodeGetRequest({ key, vbucket: f.vb(key) })), Status.Success, `get ${key}`);
  return { value: got.value, datatype: got.datatype };
}

test('the depth scanner skips string contents and escapes, and stops past the limit', () => {
  const b = (s: string) => Buffer.from(s, 'utf8');
  assert.equal(jsonDepth(b('1')), 0);
  assert.equal(jsonDepth(b('{"a":[1,{"b":2}]}')), 3);
  assert.equal(jsonDepth(b('{"a":"[[[{{{","b":"\\"[[["}')), 1);
  assert.equal(jsonDepth(b('["\\\\",[]]')), 2);
  assert.equal(jsonDepth(b(nested(1_000_000)), 100), 101);
  assert.deepEqual(parseCheckedJson(b(nested(101)), 100), { ok: false, failure: 'depth' });
  assert.deepEqual(parseCheckedJson(Buffer.from([0x22, 0xff, 0x22]), 100), { ok: false, failure: 'utf8' });
  assert.deepEqual(parseCheckedJson(b('{"a":'), 100), { ok: false, failure: 'syntax' });
  assert.equal(parseCheckedJson(b(nested(100)), 100).ok, true);
});

test('SET flagged JSON: invalid JSON, invalid UTF-8 and 5,000-deep JSON are stored raw, bytes intact', RAW_TEST, () =>
  withServer(async (f) => {
    const kv = await f.open();
    const invalid = await setThenGet(f, kv, 'bad', '{"not json', JSON_DT);
    assert.equal(invalid.value.toString(), '{"not json');
    assert.equal(invalid.datatype, 0);
    const latin1 = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]); // {"a":"\xe9"}
    const utf = await setThenGet(f, kv, 'latin1', latin1, JSON_DT);
    assert.deepEqual(utf.value, latin1);
    assert.equal(utf.datatype, 0);
    const deepText = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
    const deep = await setThenGet(f, kv, 'deep', deepText, JSON_DT);
    assert.equal(deep.value.toString(), deepText);
    assert.equal(deep.datatype, 0);
    // At the limit it is JSON; one level more is raw. Unflagged valid JSON is flagged by the server.
    assert.equal((await setThenGet(f, kv, 'at-limit', nested(100), 0)).datatype, JSON_DT);
    assert.equal((await setThenGet(f, kv, 'past-limit', nested(101), JSON_DT)).datatype, 0);
    const arr = await setThenGet(f, kv, 'array', '[1,2,3]', JSON_DT);
    assert.equal(arr.value.toString(), '[1,2,3]');
    assert.equal(arr.datatype, JSON_DT);
    // ADD and REPLACE go through the same check.
    assert.equal((await setThenGet(f, kv, 'added', '{oops}', JSON_DT, Opcode.Add)).datatype, 0);
    assert.equal((await setThenGet(f, kv, 'added', '{"ok":1}', 0, Opcode.Replace)).datatype, JSON_DT);
    // The engine stored what the reply said.
    assert.equal(f.bucket.get('deep').datatype, 0);
  }));

test('APPEND and PREPEND re-check the whole value', RAW_TEST, () =>
  withServer(async (f) => {
    const kv = await f.open();
    assert.equal((await setThenGet(f, kv, 'c', '{"a":1', 0)).datatype, 0);
    expectStatus(await kv.request(encodeConcatRequest({ opcode: Opcode.Append, key: 'c', value: '}', vbucket: f.vb('c') })), Status.Success);
    let got = expectStatus(await kv.request(encodeGetRequest({ key: 'c', vbucket: f.vb('c') })), Status.Success);
    assert.equal(got.value.toString(), '{"a":1}');
    assert.equal(got.datatype, JSON_DT);
    expectStatus(await kv.request(encodeConcatRequest({ opcode: Opcode.Prepend, key: 'c', value: '['.repeat(100), vbucket: f.vb('c') })), Status.Success);
    got = expectStatus(await kv.request(encodeGetRequest({ key: 'c', vbucket: f.vb('c') })), Status.Success);
    assert.equal(got.datatype, 0);
  }));

test('maxJsonDepth is a server option', RAW_TEST, () =>
  withServer(
    async (f) => {
      const kv = await f.open();
      assert.equal((await setThenGet(f, kv, 'three', '{"a":{"b":[1]}}', JSON_DT)).datatype, JSON_DT);
      assert.equal((await setThenGet(f, kv, 'four', '{"a":{"b":[[1]]}}', JSON_DT)).datatype, 0);
    },
    { maxJsonDepth: 3 },
  ));

test('an invalid maxJsonDepth is refused at start-up', async () => {
  const dir = tempDir();
  try {
    await assert.rejects(Engine.open({ dataDir: dir, maxJsonDepth: 0 }), /maxJsonDepth must be a positive integer/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
