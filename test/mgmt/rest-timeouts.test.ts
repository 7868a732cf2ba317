/**
 * The REST face's request timeout: a client that announces a body and stalls is cut off, as
 * mochiweb's idle timeout cuts it off in ns_server, while a streaming config stays open.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { startMgmtFace } from '../../src/mgmt/index.js';
import { formatBasicAuth } from '../../src/auth/basic.js';
import { ADMIN, startTestServer } from '../helpers/server.js';
import { Mgmt, StreamReader } from './rest-helpers.js';

test('a stalled request body is answered 408 and closed; a streaming config outlives the timeout', async () => {
  const t = await startTestServer({ numVBuckets: 4 });
  const { engine, users, authThrottle, logger, topology } = t.server;
  const face = await startMgmtFace({ engine, users, authThrottle, logger, host: '127.0.0.1', topology }, 0, undefined, { requestTimeoutMs: 1000, checkIntervalMs: 100 });
  try {
    const stream = await StreamReader.open(new Mgmt(face.port), '/pools/default/bs/default');
    assert.equal(stream.status, 200);
    assert.ok((await stream.next())?.includes('"name":"default"'));

    const socket = connect(face.port, '127.0.0.1');
    await once(socket, 'connect');
    let reply = '';
    socket.on('data', (d: Buffer) => (reply += d.toString('latin1')));
    const started = Date.now();
    socket.write(
      `POST /pools/default/buckets HTTP/1.1\r\nHost: x\r\nAuthorization: ${formatBasicAuth(ADMIN.username, ADMIN.password)}\r\n` +
        'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nname=stalled',
    );
    await once(socket, 'close');
    assert.ok(Date.now() - started < 5000, `closed after ${Date.now() - started} ms`);
    assert.match(reply, /^HTTP\/1\.1 408 /);
    assert.equal(engine.bucket('stalled'), undefined);

    // The stream, opened more than a timeout ago, still delivers a change.
    await engine.createBucket('later', { numVBuckets: 4 });
    await engine.bucket('default')!.createScope('s');
    assert.ok((await stream.next())?.includes('"name":"default"'));
    await stream.close();
  } finally {
    await face.close();
    await t.close();
  }
});
