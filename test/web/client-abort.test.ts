/**
 * A client that closes its connection in the middle of a request body (found by fuzzing: the REST
 * face logged it as an error with a stack, the CouchDB face as a warning) is logged at debug level
 * without a stack (web/server.ts), on both HTTP faces of the real server, and the server goes on
 * answering.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { pino } from 'pino';
import { formatBasicAuth } from '../../src/auth/basic.js';
import { ADMIN, startTestServer } from '../helpers/server.js';

type LogLine = Record<string, unknown> & { level: number; msg: string };

/** Send the head and part of a body that claims 100 bytes, then close the socket. */
async function abortMidBody(port: number, method: string, path: string, contentType: string, partial: string): Promise<void> {
  const socket = connect({ port, host: '127.0.0.1' });
  await once(socket, 'connect');
  socket.write(
    `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${formatBasicAuth(ADMIN.username, ADMIN.password)}\r\n` +
      `Content-Type: ${contentType}\r\nContent-Length: 100\r\n\r\n${partial}`,
  );
  await new Promise((resolve) => setTimeout(resolve, 100));
  socket.destroy();
}

async function waitFor(logs: LogLine[], pred: (l: LogLine) => boolean, ms = 5000): Promise<LogLine> {
  const deadline = Date.now() + ms;
  for (;;) {
    const hit = logs.find(pred);
    if (hit !== undefined) return hit;
    if (Date.now() > deadline) throw new Error(`no such log line; got ${JSON.stringify(logs.map((l) => l.msg))}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a client that goes away mid-body', () => {
  test('is a debug line without a stack on the REST and CouchDB ports, not an error or a warning', { timeout: 30_000 }, async () => {
    const logs: LogLine[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
    const t = await startTestServer({ logger });
    try {
      const { mgmt, http } = t.server.ports;
      const gone = (url: string) => (l: LogLine): boolean => l.msg === 'HTTP client went away mid-request' && l.url === url;
      await abortMidBody(mgmt, 'POST', '/pools/default/buckets', 'application/x-www-form-urlencoded', 'name=abc');
      const rest = await waitFor(logs, gone('/pools/default/buckets'));
      await abortMidBody(http, 'PUT', '/default/doc1', 'application/json', '{"a":');
      const couch = await waitFor(logs, gone('/default/doc1'));
      for (const line of [rest, couch]) {
        assert.equal(line.level, 20, 'debug');
        assert.equal(line.err, 'aborted');
        assert.equal(JSON.stringify(line).includes('stack'), false, 'no stack');
      }
      const loud = logs.filter((l) => l.level >= 40 && JSON.stringify(l).includes('aborted'));
      assert.deepEqual(loud, [], 'nothing at warn or above');
      assert.equal(t.server.engine.bucket('abc'), undefined);
      // Both ports still answer.
      const auth = { authorization: formatBasicAuth(ADMIN.username, ADMIN.password) };
      assert.equal((await fetch(`http://127.0.0.1:${mgmt}/pools`, { headers: auth })).status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${http}/`, { headers: auth })).status, 200);
    } finally {
      await t.close();
    }
  });
});
