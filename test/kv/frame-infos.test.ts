/**
 * Request frame infos checked as kv_engine checks them (src/kv/frames.ts; kv
 * daemon/mcbp_validators.cc parseFrameExtras, tests/mcbp/mcbp_frame_extra.cc, daemon/cookie.cc
 * fetchEuidPrivilegeSet), over raw frames: unknown ids, frames a command does not take, malformed
 * frames, and Impersonate running the request as the named user.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  DurabilityLevel,
  Magic,
  Opcode,
  Status,
  durabilityFrame,
  encodeFrameInfos,
  encodeGetRequest,
  encodeStoreRequest,
  makeRequest,
  preserveTtlFrame,
  streamIdFrame,
  type FrameInfo,
  type Packet,
} from '../../src/codec/index.js';
import { expectStatus } from './raw-client.js';
import { RAW_TEST, withServer, type KvFixture } from './fixture.js';

const alt = (p: Packet, framingExtras: Buffer): Packet => ({ ...p, magic: Magic.AltClientRequest, framingExtras });
const frames = (...f: FrameInfo[]): Buffer => encodeFrameInfos(f);
const text = (id: number, s: string): FrameInfo => ({ id, data: Buffer.from(s) });
const IMPERSONATE = 4;
const EXTRA_PRIVILEGE = 6;

const set = (f: KvFixture, key: string, value: string, fe: Buffer): Packet => alt(encodeStoreRequest({ key, value, vbucket: f.vb(key) }), fe);
const get = (f: KvFixture, key: string, fe: Buffer): Packet => alt(encodeGetRequest({ key, vbucket: f.vb(key) }), fe);
const add = (f: KvFixture, key: string, fe: Buffer): Packet => alt(encodeStoreRequest({ opcode: Opcode.Add, key, value: 'v', vbucket: f.vb(key) }), fe);
const noop = (fe: Buffer): Packet => alt(makeRequest(Opcode.Noop), fe);

function context(p: Packet): string {
  return (JSON.parse(p.value.toString()) as { error: { context: string } }).error.context;
}

describe('request frame infos', () => {
  test('an unknown frame id is UnknownFrameInfo (0x80) and the command does not run', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      // id 8 (one byte) and id 270 (escaped: 0xf0 0xff), both without data
      for (const fe of [Buffer.from([0x80]), Buffer.from([0xf0, 0xff])]) {
        expectStatus(await kv.request(set(f, 'u', 'v', fe)), Status.UnknownFrameInfo, `frame ${fe.toString('hex')}`);
      }
      assert.throws(() => f.bucket.get('u'));
      // A known frame ahead of an unknown one does not save it.
      expectStatus(await kv.request(set(f, 'u', 'v', Buffer.concat([frames(preserveTtlFrame()), Buffer.from([0x80])]))), Status.UnknownFrameInfo);
    }));

  test('durability on a command that takes none is Einval; quiet writes take none either', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      const durable = frames(durabilityFrame({ level: DurabilityLevel.Majority }));
      expectStatus(await kv.request(set(f, 'k', 'v', frames())), Status.Success);
      const refused = expectStatus(await kv.request(get(f, 'k', durable)), Status.Einval, 'GET');
      assert.equal(context(refused), 'The requested command does not support durability requirements');
      expectStatus(await kv.request(noop(durable)), Status.Einval, 'NOOP');
      const setq = alt(encodeStoreRequest({ opcode: Opcode.SetQ, key: 'q', value: 'v', vbucket: f.vb('q') }), durable);
      expectStatus(await kv.request(setq), Status.Einval, 'SETQ');
      // The level is checked first (kv parses the requirement before the command's support).
      expectStatus(await kv.request(get(f, 'k', frames(durabilityFrame({ level: 0 })))), Status.DurabilityInvalidLevel);
      // Commands that take it still do.
      expectStatus(await kv.request(set(f, 'k', 'v2', durable)), Status.Success, 'SET');
      expectStatus(await kv.request(alt(makeRequest(Opcode.Delete, { key: Buffer.from('k'), vbucket: f.vb('k') }), durable)), Status.Success, 'DELETE');
    }));

  test('frame values: sizes, PreserveTtl on ADD, stream ids, truncation', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      expectStatus(await kv.request(set(f, 'b', 'v', frames({ id: 0, data: Buffer.alloc(0) }))), Status.Success, 'Barrier');
      const barrier = expectStatus(await kv.request(set(f, 'b', 'v', frames({ id: 0, data: Buffer.from([1]) }))), Status.Einval);
      assert.equal(context(barrier), 'Barrier should not contain value');
      expectStatus(await kv.request(set(f, 'b', 'v', frames({ id: 5, data: Buffer.from([1]) }))), Status.Einval, 'PreserveTtl with a value');
      expectStatus(await kv.request(add(f, 'a', frames(preserveTtlFrame()))), Status.NotSupported, 'PreserveTtl on ADD');
      expectStatus(await kv.request(set(f, 'b', 'v', frames({ id: 3, data: Buffer.alloc(0) }))), Status.Einval, 'empty tracing context');
      expectStatus(await kv.request(set(f, 'b', 'v', frames(text(3, 'trace-1')))), Status.Success, 'tracing context');
      // kv's validator takes a 2-byte stream id on any command (mcbp_frame_extra.cc DcpStreamId).
      expectStatus(await kv.request(noop(frames(streamIdFrame(7)))), Status.Success, 'NOOP with a stream id');
      const sid4 = expectStatus(await kv.request(noop(frames({ id: 2, data: Buffer.alloc(4) }))), Status.Einval);
      assert.equal(context(sid4), 'DcpStreamId invalid size:4');
      const truncated = expectStatus(await kv.request(set(f, 'b', 'v', Buffer.from([0x11]))), Status.Einval);
      assert.equal(context(truncated), 'Invalid encoding in FrameExtras');
      // The connection stays usable.
      expectStatus(await kv.request(makeRequest(Opcode.Noop)), Status.Success);
    }));

  test('Impersonate needs the privilege: a bucket user gets Eaccess', RAW_TEST, () =>
    withServer(async (f) => {
      await f.server.server.users.setBucketUser('bob', 'bob-pw', [{ role: 'bucket_full_access', bucket: 'default' }]);
      const kv = await f.open({ user: 'bob', password: 'bob-pw' });
      const refused = expectStatus(await kv.request(set(f, 'i', 'v', frames(text(IMPERSONATE, 'Administrator')))), Status.Eaccess);
      assert.match(context(refused), /without the Impersonate privilege/);
      expectStatus(await kv.request(noop(frames(text(IMPERSONATE, 'bob')))), Status.Eaccess, 'even on NOOP');
      expectStatus(await kv.request(noop(frames({ id: 7, data: Buffer.from([0, 1]) }))), Status.Eaccess, 'token auth');
      assert.throws(() => f.bucket.get('i'));
    }));

  test('the administrator impersonating runs the request with the named user rights only', RAW_TEST, () =>
    withServer(async (f) => {
      const users = f.server.server.users;
      await users.setBucketUser('reader', 'reader-pw', [{ role: 'data_reader', bucket: 'default' }]);
      await users.setBucketUser('writer', 'writer-pw', [{ role: 'data_writer', bucket: 'default' }]);
      await users.setBucketUser('other', 'other-pw', [{ role: 'bucket_full_access', bucket: 'elsewhere' }]);
      await f.bucket.set('doc', Buffer.from('{"a":1}'));
      const kv = await f.open();
      const asReader = frames(text(IMPERSONATE, 'reader'));
      expectStatus(await kv.request(get(f, 'doc', asReader)), Status.Success, 'reader GET');
      expectStatus(await kv.request(set(f, 'doc', 'x', asReader)), Status.Eaccess, 'reader SET');
      assert.equal(f.bucket.get('doc').value.toString(), '{"a":1}');
      // Not sticky: the next plain request is the administrator's again.
      expectStatus(await kv.request(set(f, 'doc', '{"a":2}', frames())), Status.Success, 'administrator SET');
      expectStatus(await kv.request(get(f, 'doc', frames(text(IMPERSONATE, 'writer')))), Status.Eaccess, 'writer GET');
      // An extra privilege from the impersonator adds to the named user's.
      const writerRead = frames(text(IMPERSONATE, 'writer'), text(EXTRA_PRIVILEGE, 'Read'));
      expectStatus(await kv.request(get(f, 'doc', writerRead)), Status.Success, 'writer GET with Read granted');
      // A user without a role on the bucket can do nothing there.
      expectStatus(await kv.request(get(f, 'doc', frames(text(IMPERSONATE, 'other')))), Status.Eaccess, 'other GET');
      // Unknown users, external users, bad privilege names.
      const unknown = expectStatus(await kv.request(get(f, 'doc', frames(text(IMPERSONATE, 'nouser')))), Status.Eaccess);
      assert.equal(context(unknown), 'User "nouser" is not a Couchbase user');
      expectStatus(await kv.request(get(f, 'doc', frames(text(IMPERSONATE, '^ldapuser')))), Status.NotSupported, 'external user');
      expectStatus(await kv.request(get(f, 'doc', frames(text(IMPERSONATE, 'writer'), text(EXTRA_PRIVILEGE, 'Bogus')))), Status.Einval);
      expectStatus(await kv.request(get(f, 'doc', frames(text(IMPERSONATE, 'writer'), text(EXTRA_PRIVILEGE, 'Stats')))), Status.NotSupported);
      expectStatus(await kv.request(get(f, 'doc', frames({ id: IMPERSONATE, data: Buffer.alloc(0) }))), Status.Einval, 'empty user');
      // Token auth data: the administrator may ask, Freshet holds none.
      expectStatus(await kv.request(noop(frames({ id: 7, data: Buffer.from([0, 1]) }))), Status.Einval, 'token auth');
      expectStatus(await kv.request(get(f, 'doc', frames(text(IMPERSONATE, 'Administrator')))), Status.Success, 'self');
    }));
});
