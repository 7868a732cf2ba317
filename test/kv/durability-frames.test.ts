/**
 * The durability contract of KV writes over raw frames (issue #16; kv_engine docs/SyncWrites.md):
 * invalid levels, SYNC_WRITE_IN_PROGRESS while a SyncWrite waits for a slow disk (reads see the
 * committed value), SyncWriteAmbiguous past the timeout, TMPFAIL past the dirty backlog limit,
 * and a plain write acknowledged before it is persisted. The slow disk is the store's own test
 * seam (group-commit.ts `slowDisk`), on the real server.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  DurabilityLevel,
  Magic,
  Status,
  decodeMutationResponse,
  durabilityFrame,
  encodeFrameInfos,
  encodeGetRequest,
  encodeStoreRequest,
  type Packet,
} from '../../src/codec/index.js';
import { expectStatus } from './raw-client.js';
import { RAW_TEST, withServer, type KvFixture } from './fixture.js';

function set(f: KvFixture, key: string, value: string, durability?: { level: number; timeoutMs?: number }): Packet {
  const base = encodeStoreRequest({ key, value, vbucket: f.vb(key) });
  if (durability === undefined) return base;
  return { ...base, magic: Magic.AltClientRequest, framingExtras: encodeFrameInfos([durabilityFrame(durability)]) };
}

function get(f: KvFixture, key: string): Packet {
  return encodeGetRequest({ key, vbucket: f.vb(key) });
}

function seqnoOf(reply: Packet): number {
  const token = decodeMutationResponse(reply).token;
  assert.ok(token !== undefined, 'the reply carries a mutation token');
  return token.seqno;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('durability over raw frames', () => {
  test('levels 0 and 4 are DurabilityInvalidLevel (0xa0) and nothing is written', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      for (const level of [0, 4]) {
        expectStatus(await kv.request(set(f, `bad${level}`, 'v', { level })), Status.DurabilityInvalidLevel, `level ${level}`);
        assert.throws(() => f.bucket.get(`bad${level}`), /KEY_ENOENT|not found/i);
      }
      // The three valid levels are accepted and each reply comes once the write is durable.
      for (const level of [DurabilityLevel.Majority, DurabilityLevel.MajorityAndPersistOnMaster, DurabilityLevel.PersistToMajority]) {
        const reply = expectStatus(await kv.request(set(f, `ok${level}`, 'v', { level })), Status.Success);
        if (level !== DurabilityLevel.Majority) {
          assert.ok(f.bucket.vbucketInfo(f.vb(`ok${level}`)).persistedSeqno >= seqnoOf(reply), `level ${level} is on disk at the ack`);
        }
      }
    }));

  test('a SyncWrite held by a slow disk: a plain SET of its key is 0xa2, GET sees the previous value', RAW_TEST, () =>
    withServer(async (f) => {
      const writer = await f.open();
      const other = await f.open();
      expectStatus(await other.request(set(f, 'k', 'v1')), Status.Success);
      await f.bucket.quiesce();
      f.engine.store.writer.slowDisk(500);
      try {
        const durable = writer.request(set(f, 'k', 'v2', { level: DurabilityLevel.MajorityAndPersistOnMaster }));
        await sleep(50);
        expectStatus(await other.request(set(f, 'k', 'v3')), Status.SyncWriteInProgress);
        const during = expectStatus(await other.request(get(f, 'k')), Status.Success);
        assert.equal(during.value.toString(), 'v1');
        // Another key is not held.
        expectStatus(await other.request(set(f, 'free', 'x')), Status.Success);
        const reply = expectStatus(await durable, Status.Success);
        assert.ok(f.bucket.vbucketInfo(f.vb('k')).persistedSeqno >= seqnoOf(reply));
        assert.equal(expectStatus(await other.request(get(f, 'k')), Status.Success).value.toString(), 'v2');
        expectStatus(await other.request(set(f, 'k', 'v4')), Status.Success);
        assert.ok(f.bucket.stats.syncWriteConflicts >= 1);
      } finally {
        f.engine.store.writer.slowDisk(0);
      }
    }));

  test('a durability timeout of 100 ms against a 1 s disk is SyncWriteAmbiguous (0xa3); the write lands later', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      f.engine.store.writer.slowDisk(1000);
      try {
        const started = Date.now();
        expectStatus(await kv.request(set(f, 'amb', 'late', { level: DurabilityLevel.PersistToMajority, timeoutMs: 100 })), Status.SyncWriteAmbiguous);
        assert.ok(Date.now() - started < 900, 'answered at the timeout, not when the disk finished');
      } finally {
        f.engine.store.writer.slowDisk(0);
      }
      await f.bucket.quiesce();
      assert.equal(expectStatus(await kv.request(get(f, 'amb')), Status.Success).value.toString(), 'late');
    }));

  test('TMPFAIL (0x86) once the dirty backlog passes maxDirtyBytes under a slow disk; writes succeed once it catches up', RAW_TEST, () =>
    withServer(
      async (f) => {
        const kv = await f.open();
        f.engine.store.writer.slowDisk(500);
        const value = 'x'.repeat(512);
        let accepted = 0;
        let tmpfail: Packet | undefined;
        try {
          for (let i = 0; i < 200 && tmpfail === undefined; i++) {
            const reply = await kv.request(set(f, `t${i}`, value));
            if (reply.status === Status.Etmpfail) tmpfail = reply;
            else expectStatus(reply, Status.Success, `write ${i}`);
            if (reply.status === Status.Success) accepted++;
          }
        } finally {
          f.engine.store.writer.slowDisk(0);
        }
        assert.ok(tmpfail !== undefined, 'a write was refused with TMPFAIL');
        assert.ok(accepted >= 1 && accepted < 200, `${accepted} writes accepted before the limit`);
        assert.ok(f.bucket.stats.tmpfails >= 1);
        await f.bucket.quiesce();
        assert.equal(f.bucket.dirtyBytes, 0);
        expectStatus(await kv.request(set(f, 'after', value)), Status.Success);
        // Every accepted write is there.
        for (let i = 0; i < accepted; i++) assert.equal(f.bucket.get(`t${i}`).value.length, 512);
      },
      { maxDirtyBytes: 8 * 1024 },
    ));

  test('a plain SET is acknowledged while the flusher is held: ack before persist', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      f.engine.store.writer.slowDisk(500);
      let seqno = 0;
      try {
        const reply = expectStatus(await kv.request(set(f, 'fast', 'v')), Status.Success);
        seqno = seqnoOf(reply);
        assert.ok(f.bucket.vbucketInfo(f.vb('fast')).persistedSeqno < seqno, 'not yet on disk when acknowledged');
        // Visible to reads at once.
        assert.equal(expectStatus(await kv.request(get(f, 'fast')), Status.Success).value.toString(), 'v');
      } finally {
        f.engine.store.writer.slowDisk(0);
      }
      await f.bucket.quiesce();
      assert.ok(f.bucket.vbucketInfo(f.vb('fast')).persistedSeqno >= seqno);
    }));
});
