/**
 * A client that opens a connection to a TLS port and never completes its handshake (silent, or
 * a ClientHello cut short) is dropped after the handshake timeout on all three TLS ports, and
 * the ports keep serving. Node's handshake timeout only emits 'tlsClientError'; without the
 * listeners destroying the socket such a client held it forever (the CouchDB port's clientError
 * handler even queued a 400 that could never be sent).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { KvConnection } from '../../src/client/connection.js';
import { ADMIN, startTestServer } from '../helpers/server.js';

const HANDSHAKE_MS = 400;

/** Milliseconds until the server closes a connection that sent `send` (or nothing). */
function closedAfter(port: number, send?: Buffer): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1', () => {
      if (send) socket.write(send);
    });
    socket.on('error', () => {});
    socket.on('data', () => reject(new Error(`port ${port} answered a handshake that never finished`)));
    socket.once('close', () => resolve(Date.now() - started));
    setTimeout(() => {
      socket.destroy();
      reject(new Error(`port ${port} kept a stalled handshake open`));
    }, HANDSHAKE_MS + 10_000).unref();
  });
}

test('a TLS handshake that never completes is dropped on the KV, REST and CouchDB TLS ports', async (t) => {
  const ts = await startTestServer({ numVBuckets: 8, tls: { kvPort: 0, mgmtPort: 0, httpPort: 0, handshakeTimeoutMs: HANDSHAKE_MS } });
  t.after(() => ts.close());
  const { kvTls, mgmtTls, httpTls } = ts.server.ports;
  // The first bytes of a TLS record header announcing a ClientHello that never arrives.
  const partialHello = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]);
  const waits = await Promise.all([kvTls, mgmtTls, httpTls].flatMap((port) => [closedAfter(port), closedAfter(port, partialHello)]));
  for (const ms of waits) assert.ok(ms >= HANDSHAKE_MS - 50, `closed after ${ms} ms, before the handshake timeout`);

  // The ports still serve clients that do complete the handshake.
  const ca = readFileSync(ts.server.tls!.certPath);
  const kv = await KvConnection.connect({ port: kvTls, tls: { ca } });
  t.after(() => kv.close());
  await kv.hello('after-stalls', []);
  await kv.saslPlain(ADMIN.username, ADMIN.password);
  const stats = new Map((await kv.stat('')).map((e) => [e.name, e.value]));
  assert.ok(Number(stats.get('tls_handshake_failures')) >= 2, `tls_handshake_failures ${stats.get('tls_handshake_failures')}`);
  const agent = new Agent({ connect: { ca } });
  t.after(() => agent.close());
  const auth = `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}`;
  for (const [port, path] of [[mgmtTls, '/pools'], [httpTls, '/']] as const) {
    const res = await request(`https://127.0.0.1:${port}${path}`, { dispatcher: agent, headers: { authorization: auth } });
    assert.equal(res.statusCode, 200);
    await res.body.text();
  }
});
