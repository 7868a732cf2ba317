/**
 * A connection that never sends a request is closed after `firstRequestTimeout` (CouchDB's and
 * ns_server's mochiweb wait 300 s for a request line, REQUEST_RECV_TIMEOUT); node:http's
 * headersTimeout only starts with the first byte, so before this such a client held its socket
 * forever. The timer ends with the first request: a reply slower than it still arrives, and a
 * keep-alive connection is then governed by node's keepAliveTimeout as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { readFileSync, rmSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { WebServer, type WebFace } from '../../src/web/server.js';
import { devCertificatePaths, ensureDevCertificate } from '../../src/server/tls.js';
import { tempDir } from '../helpers/server.js';

const FIRST_MS = 300;

const slowFace: WebFace = {
  async handle(_req, res) {
    await new Promise((r) => setTimeout(r, FIRST_MS * 3));
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('slow but here');
  },
  renderError(_err, _req, res) {
    if (!res.headersSent) res.writeHead(500).end();
  },
};

/** The server closes `socket`, which sends nothing, after FIRST_MS without sending anything. */
async function assertClosedSilently(socket: Socket): Promise<void> {
  const started = Date.now();
  socket.on('error', () => undefined);
  const got: Buffer[] = [];
  socket.on('data', (d: Buffer) => got.push(d));
  await new Promise<void>((resolve, reject) => {
    socket.once('close', () => resolve());
    setTimeout(() => reject(new Error('the silent connection is still open')), FIRST_MS + 5_000).unref();
  });
  const waited = Date.now() - started;
  assert.ok(waited >= FIRST_MS - 50, `closed after ${waited} ms`);
  assert.equal(Buffer.concat(got).length, 0, 'nothing is sent to a client that asked nothing');
}

test('a silent connection is closed after firstRequestTimeout; a slow reply to a request is not cut', async (t) => {
  const web = await WebServer.listen(slowFace, { host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }), firstRequestTimeout: FIRST_MS });
  t.after(() => web.close());

  await assertClosedSilently(connect(web.port, '127.0.0.1'));

  const agent = new Agent();
  t.after(() => agent.close());
  const res = await request(`http://127.0.0.1:${web.port}/`, { dispatcher: agent });
  assert.equal(res.statusCode, 200);
  assert.equal(await res.body.text(), 'slow but here');
});

test('over TLS the wait starts after the handshake: a client that completes it and sends nothing is closed', async (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await ensureDevCertificate(dir);
  const paths = devCertificatePaths(dir);
  const tls = { cert: readFileSync(paths.cert), key: readFileSync(paths.key) };
  const web = await WebServer.listen(slowFace, { host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }), firstRequestTimeout: FIRST_MS, tls });
  t.after(() => web.close());
  const socket = tlsConnect({ host: '127.0.0.1', port: web.port, ca: tls.cert, servername: 'localhost' });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
  });
  await assertClosedSilently(socket);
});
