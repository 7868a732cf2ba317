/**
 * Pipelining, quiet commands and backpressure on one KV connection (issue 3 "Connection rules";
 * memcached quiet semantics: kv docs/BinaryProtocol.md, GETQ/SETQ, and kv_engine gat_context.cc).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Opcode,
  Status,
  decodeArithResponse,
  encodeArithRequest,
  encodeConcatRequest,
  encodeDeleteRequest,
  encodeGetRequest,
  encodeNoopRequest,
  encodeStatRequest,
  encodeStoreRequest,
  isStatTerminator,
  encodeTouchRequest,
  type GetOpcode,
  type Packet,
} from '../../src/codec/index.js';
import { expectStatus } from './raw-client.js';
import { RAW_TEST, withServer, type KvFixture } from './fixture.js';

function store(f: KvFixture, opcode: number, key: string, value: string, opaque: number): Packet {
  return encodeStoreRequest({ opcode, key, value, vbucket: f.vb(key) }, { opaque });
}

function getOp(f: KvFixture, opcode: number, key: string, opaque: number): Packet {
  return encodeGetRequest({ key, vbucket: f.vb(key), opcode: opcode as GetOpcode }, { opaque });
}

describe('pipelining', () => {
  test('many requests in one write are executed and answered in order', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      const n = 300;
      const batch: Packet[] = [];
      for (let i = 0; i < n; i++) {
        batch.push(store(f, Opcode.Set, `p${i}`, `value-${i}`, 2 * i + 1));
        batch.push(getOp(f, Opcode.Get, `p${i}`, 2 * i + 2));
      }
      kv.send(...batch);
      const replies = await kv.take(2 * n);
      replies.forEach((r, i) => {
        assert.equal(r.opaque, i + 1, 'replies come back in request order');
        expectStatus(r, Status.Success);
      });
      for (let i = 0; i < n; i++) {
        // Each GET sees the SET just before it, though that SET's reply waited for the disk.
        assert.equal(replies[2 * i + 1]!.value.toString(), `value-${i}`);
      }
    }));

  test('an error in the middle of a pipeline is answered in its place', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      kv.send(
        store(f, Opcode.Add, 'e', '1', 1),
        store(f, Opcode.Add, 'e', '2', 2),
        getOp(f, Opcode.Get, 'missing', 3),
        encodeGetRequest({ key: 'e', vbucket: (f.vb('e') + 1) % 64 }, { opaque: 4 }),
        getOp(f, Opcode.Get, 'e', 5),
      );
      const statuses = (await kv.take(5)).map((r) => [r.opaque, r.status]);
      assert.deepEqual(statuses, [
        [1, Status.Success],
        [2, Status.KeyEexists],
        [3, Status.KeyEnoent],
        [4, Status.NotMyVbucket],
        [5, Status.Success],
      ]);
    }));

  test('each request of one write is counted and timed once (STAT timings)', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      // Durable SETs (promise replies) between runs of synchronous GETs, quiet GETQ misses and
      // loud GET misses: requests in one read share clock readings (connection.ts execute).
      const batch: Packet[] = [];
      let opaque = 1;
      for (let i = 0; i < 4; i++) {
        batch.push(store(f, Opcode.Set, `t${i}`, `v${i}`, opaque++));
        for (let j = 0; j <= i; j++) batch.push(getOp(f, Opcode.Get, `t${j}`, opaque++));
        batch.push(getOp(f, Opcode.GetQ, `absent${i}`, opaque++));
      }
      batch.push(getOp(f, Opcode.Get, 'absent', opaque++), getOp(f, Opcode.Get, 't0', opaque++), encodeNoopRequest({ opaque: opaque++ }));
      kv.send(...batch);
      // 4 SETs, 10 + 1 GET hits, 1 GET miss, the NOOP; the GETQ misses stay silent.
      const replies = await kv.take(17);
      assert.equal(replies.filter((r) => r.status === Status.KeyEnoent).length, 1);
      assert.equal(replies.at(-1)!.opcode, Opcode.Noop);
      kv.send(encodeStatRequest({ group: 'timings' }, { opaque: opaque++ }));
      const stats = new Map((await kv.collect(isStatTerminator)).map((p) => [p.key.toString(), Number(p.value.toString())]));
      const bucketSum = (kind: string): number => [...stats].filter(([k]) => k.startsWith(`${kind}_`) && k.includes(',')).reduce((n, [, v]) => n + v, 0);
      assert.equal(stats.get('get_cmd_count'), 16);
      assert.equal(bucketSum('get_cmd'), 16);
      assert.equal(stats.get('store_cmd_count'), 4);
      assert.equal(bucketSum('store_cmd'), 4);
      assert.equal(stats.get('noop_cmd_count'), 1);
    }));
});

describe('quiet commands', () => {
  test('quiet mutations answer only failures, quiet gets only hits, and NOOP ends the batch', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      kv.send(
        store(f, Opcode.SetQ, 'a', 'A', 1),
        store(f, Opcode.SetQ, 'b', 'B', 2),
        store(f, Opcode.AddQ, 'a', 'again', 3), // fails: exists
        getOp(f, Opcode.GetQ, 'missing', 4), // silent miss
        getOp(f, Opcode.GetQ, 'a', 5), // hit
        getOp(f, Opcode.GetKQ, 'b', 6), // hit, with the key
        encodeDeleteRequest({ key: 'nothing', vbucket: f.vb('nothing'), quiet: true }, { opaque: 7 }), // fails
        encodeDeleteRequest({ key: 'b', vbucket: f.vb('b'), quiet: true }, { opaque: 8 }), // silent
        store(f, Opcode.ReplaceQ, 'a', 'A2', 9),
        encodeConcatRequest({ opcode: Opcode.AppendQ, key: 'a', value: '+', vbucket: f.vb('a') }, { opaque: 10 }),
        encodeArithRequest({ opcode: Opcode.IncrementQ, key: 'n', delta: 1n, initial: 5n, vbucket: f.vb('n') }, { opaque: 11 }),
        encodeNoopRequest({ opaque: 12 }),
      );
      const replies = await kv.collect((p) => p.opcode === Opcode.Noop);
      assert.deepEqual(
        replies.map((r) => [r.opaque, r.opcode, r.status]),
        [
          [3, Opcode.AddQ, Status.KeyEexists],
          [5, Opcode.GetQ, Status.Success],
          [6, Opcode.GetKQ, Status.Success],
          [7, Opcode.DeleteQ, Status.KeyEnoent],
          [12, Opcode.Noop, Status.Success],
        ],
      );
      assert.equal(replies[1]!.value.toString(), 'A');
      assert.equal(replies[2]!.key.toString(), 'b');
      assert.equal(f.bucket.get('a').value.toString(), 'A2+');
      assert.throws(() => f.bucket.get('b'), /not found/);
      assert.equal(f.bucket.get('n').value.toString(), '5');
      const incr = expectStatus(
        await kv.request(encodeArithRequest({ key: 'n', delta: 2n, vbucket: f.vb('n') })),
        Status.Success,
      );
      assert.equal(decodeArithResponse(incr).value, 7n);
    }));

  test('GATQ answers a hit with the document and stays silent on a miss', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      expectStatus(await kv.request(store(f, Opcode.Set, 'g', 'doc', 0)), Status.Success);
      kv.send(
        encodeTouchRequest({ opcode: Opcode.GatQ, key: 'missing', expiration: 100, vbucket: f.vb('missing') }, { opaque: 21 }),
        encodeTouchRequest({ opcode: Opcode.GatQ, key: 'g', expiration: 100, vbucket: f.vb('g') }, { opaque: 22 }),
        encodeNoopRequest({ opaque: 23 }),
      );
      const replies = await kv.collect((p) => p.opcode === Opcode.Noop);
      assert.deepEqual(
        replies.map((r) => [r.opaque, r.opcode, r.status]),
        [
          [22, Opcode.GatQ, Status.Success],
          [23, Opcode.Noop, Status.Success],
        ],
      );
      assert.equal(replies[0]!.value.toString(), 'doc');
      assert.equal(replies[0]!.extras.length, 4, 'flags');
      assert.ok(f.bucket.get('g').expiry > 0, 'GATQ touched the document');
    }));
});

describe('backpressure', () => {
  test('a client that does not read its replies stops the server executing, not its memory', RAW_TEST, () =>
    withServer(async (f) => {
      const kv = await f.open();
      const big = 'x'.repeat(1024 * 1024);
      expectStatus(await kv.request(store(f, Opcode.Set, 'big', big, 0)), Status.Success);
      const n = 100;
      const readsBefore = f.bucket.stats.reads;
      kv.pause();
      kv.send(...Array.from({ length: n }, (_, i) => getOp(f, Opcode.Get, 'big', 1000 + i)));
      await sleep(300);
      const executed = f.bucket.stats.reads - readsBefore;
      // The socket buffers hold a few MiB; the server stops well before 100 MiB of replies.
      assert.ok(executed < n / 2, `${executed} of ${n} GETs executed while the client read nothing`);
      kv.resume();
      const replies = await kv.take(n);
      replies.forEach((r, i) => {
        assert.equal(r.opaque, 1000 + i);
        assert.equal(r.value.length, big.length);
      });
      assert.equal(f.bucket.stats.reads - readsBefore, n);
    }));
});
