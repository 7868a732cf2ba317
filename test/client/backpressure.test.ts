/**
 * Write backpressure: with the peer not reading, the client stops pushing into the socket
 * once it needs 'drain' and holds packets in its own queue; send() promises stay pending
 * until the peer reads again; everything then arrives intact and in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import * as c from '../../src/codec/index.js';
import { KvConnection } from '../../src/client/connection.js';
import { startFakePeer } from './fixtures/fake-peer.js';
import { track } from './fixtures/setup.js';

test('client > connection > backpressure: waits for drain instead of buffering in the socket', async (t) => {
  const peer = await startFakePeer();
  const socket = net.connect({ host: '127.0.0.1', port: peer.port });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const conn = new KvConnection(socket);
  const server = await peer.nextConnection();
  t.after(async () => {
    await conn.close();
    await peer.close();
  });
  server.socket.pause(); // the peer stops reading

  const chunk = 1024 * 1024;
  const count = 48; // well above loopback socket buffers (a few MiB), so writes must queue
  const value = Buffer.alloc(chunk, 0x61);
  const sends = Array.from({ length: count }, (_, i) =>
    track(conn.send(c.encodeStoreRequest({ opcode: c.Opcode.SetQ, key: `k${i}`, value }, { opaque: i + 1 }))),
  );
  // give the socket every chance to flush what it can
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));

  assert.ok(conn.stats.drainWaits > 0, 'the connection waited for drain');
  assert.ok(conn.queuedWrites > 0, 'packets wait in the connection queue');
  assert.ok(
    socket.writableLength <= chunk + socket.writableHighWaterMark + 64,
    `socket buffer stays bounded (${socket.writableLength} bytes)`,
  );
  assert.ok(sends.some((s) => !s.settled), 'some send() promises are still pending');
  assert.equal(sends[count - 1]!.settled, false, 'the last send has not been written');

  server.socket.resume(); // the peer reads again
  await Promise.all(sends.map((s) => s.promise));
  const received = await server.take(count);
  assert.deepEqual(received.map((p) => p.opaque), Array.from({ length: count }, (_, i) => i + 1));
  assert.ok(received.every((p) => p.value.length === chunk && p.value.equals(value)));
  assert.equal(conn.queuedWrites, 0);
});
