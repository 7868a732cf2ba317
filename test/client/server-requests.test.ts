/**
 * Server-initiated requests: DCP producer messages (magic 0x80/0x08) and Duplex pushes
 * (0x82) reach the serverRequests() iterator or the onServerRequest handler, interleaved
 * with ordinary responses; the iterator pauses socket reads above its high-water mark.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import * as c from '../../src/codec/index.js';
import { ConnectionClosedError } from '../../src/client/conn-errors.js';
import { KvConnection } from '../../src/client/connection.js';
import type { KvConnectionOptions } from '../../src/client/connection.js';
import { startFakePeer } from './fixtures/fake-peer.js';
import type { PeerConn } from './fixtures/fake-peer.js';
import { connected } from './fixtures/setup.js';

const mutation = (seqno: number, value = 'v'): c.Packet =>
  c.encodeDcpMutation({
    opaque: 0x1000, vbucket: 3, key: `k${seqno}`, value, cas: BigInt(seqno), datatype: 0,
    bySeqno: seqno, revSeqno: 1, flags: 0, expiration: 0,
  });

/** A connection built from a socket the test owns (the "connected Duplex" path). */
async function withSocket(
  t: import('node:test').TestContext,
  options: KvConnectionOptions = {},
): Promise<{ conn: KvConnection; socket: net.Socket; server: PeerConn }> {
  const peer = await startFakePeer();
  const socket = net.connect({ host: '127.0.0.1', port: peer.port });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const conn = new KvConnection(socket, options);
  const server = await peer.nextConnection();
  t.after(async () => {
    await conn.close();
    await peer.close();
  });
  return { conn, socket, server };
}

describe('client > connection > server-initiated requests', () => {
  test('DCP stream messages and a 0x82 push arrive in order, interleaved with a response', async (t) => {
    const { conn, server } = await connected(t);
    const inbox = conn.serverRequests();
    const ctl = conn.request(c.encodeDcpControlRequest({ key: 'enable_noop', value: 'true' }));
    const req = await server.takeOne();
    server.send(
      c.encodeSnapshotMarker({ opaque: 0x1000, vbucket: 3, version: 'v1', startSeqno: 0, endSeqno: 2, flags: 1 }),
      mutation(1),
      c.replyTo(req), // the control reply in the middle of stream traffic
      c.encodeDcpMutation({ opaque: 0x1000, vbucket: 3, streamId: 4, key: 'k2', value: 'v', cas: 2n, datatype: 0, bySeqno: 2, revSeqno: 1, flags: 0, expiration: 0 }),
      c.encodeClustermapChangeNotification({ revision: 9, bucket: 'default', config: '{}' }),
    );
    assert.equal((await ctl).status, c.Status.Success);
    const got: c.Packet[] = [];
    for await (const p of inbox) {
      got.push(p);
      if (got.length === 4) break;
    }
    assert.deepEqual(got.map((p) => [p.magic, p.opcode]), [
      [0x80, c.Opcode.DcpSnapshotMarker],
      [0x80, c.Opcode.DcpMutation],
      [0x08, c.Opcode.DcpMutation],
      [0x82, c.ServerOpcode.ClustermapChangeNotification],
    ]);
    assert.equal(c.decodeDcpMutation(got[2]!).streamId, 4);
    assert.equal(conn.stats.serverRequests, 4);
  });

  test('an onServerRequest handler can answer a DCP_NOOP with the same opaque', async (t) => {
    const { conn, server } = await connected(t, {
      onServerRequest: (p, self) => {
        if (p.opcode === c.Opcode.DcpNoop) void self.send(c.encodeDcpNoopResponse(p.opaque));
      },
    });
    assert.equal(conn.state, 'open');
    server.send(c.encodeDcpNoopRequest(10_000_001));
    const reply = await server.takeOne();
    assert.equal(reply.magic, c.Magic.ClientResponse);
    assert.equal(reply.opcode, c.Opcode.DcpNoop);
    assert.equal(reply.opaque, 10_000_001);
  });

  test('without a handler or iterator, server requests are dropped and reported', async (t) => {
    const { conn, server } = await connected(t);
    const dropped = new Promise<c.Packet>((resolve) =>
      conn.onStatus((e) => {
        if (e.type === 'server-request-dropped') resolve(e.packet);
      }),
    );
    server.send(mutation(1));
    assert.equal((await dropped).opcode, c.Opcode.DcpMutation);
    assert.equal(conn.stats.serverRequestsDropped, 1);
  });

  test('socket reads pause above the high-water mark and resume once drained', async (t) => {
    const { conn, socket, server } = await withSocket(t, { serverRequestHighWaterMark: 1024 });
    const inbox = conn.serverRequests();
    const value = 'x'.repeat(100);
    server.send(...Array.from({ length: 50 }, (_, i) => mutation(i + 1, value)));
    // wait (event-driven) until the inbox has paused the socket
    while (conn.stats.readPauses === 0) await new Promise((r) => setImmediate(r));
    assert.equal(socket.isPaused(), true);
    const seqnos: number[] = [];
    for (let i = 0; i < 50; i++) {
      const r = await inbox.next();
      assert.equal(r.done, false);
      seqnos.push(c.decodeDcpMutation(r.value as c.Packet).bySeqno);
    }
    assert.deepEqual(seqnos, Array.from({ length: 50 }, (_, i) => i + 1));
    assert.equal(socket.isPaused(), false, 'reading resumed after the consumer drained the queue');
    server.send(mutation(51));
    const r = await inbox.next();
    assert.equal(c.decodeDcpMutation(r.value as c.Packet).bySeqno, 51);
  });

  test('the iterator ends on close() and fails on a peer close', async (t) => {
    const a = await connected(t);
    const it = a.conn.serverRequests();
    const ended = it.next();
    await a.conn.close();
    assert.deepEqual(await ended, { value: undefined, done: true });

    const b = await connected(t);
    const it2 = b.conn.serverRequests();
    const failed = assert.rejects(it2.next(), ConnectionClosedError);
    b.server.socket.end();
    await failed;
  });

  test('a DCP mutation of a 20 MiB value with 1 MiB of system xattrs is accepted (beyond a request\'s 21 MiB)', async (t) => {
    const { conn, server } = await connected(t);
    const inbox = conn.serverRequests();
    const xattrs = c.encodeXattrBlob(Buffer.from(JSON.stringify({ _sync: { pad: 'x'.repeat(1024 * 1024) } })));
    assert.ok(xattrs);
    const body = Buffer.alloc(20 * 1024 * 1024, 0x61);
    const value = Buffer.concat([xattrs, body]);
    assert.ok(value.length > c.DEFAULT_MAX_BODY_LENGTH);
    server.send(c.encodeDcpMutation({ opaque: 0x1000, vbucket: 3, key: 'big', value, cas: 1n, datatype: c.Datatype.Xattr, bySeqno: 1, revSeqno: 1, flags: 0, expiration: 0 }));
    const r = await inbox.next();
    assert.equal(r.done, false);
    const m = c.decodeDcpMutation(r.value as c.Packet);
    assert.deepEqual([m.key.toString(), m.value.length], ['big', value.length]);
  });
});
