/**
 * TLS on all three faces against a real in-process server with its generated development
 * certificate: the couchbase SDK over couchbases://, undici over https on the REST and CouchDB
 * ports, Freshet's own DCP consumer over TLS (KV and REST seeds), the config's TLS ports, the
 * wrong protocol on either kind of port, and `--tls-only`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';
import couchbase from 'couchbase';
import { Agent, request } from 'undici';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';
import { SDK_TIMEOUTS, SDK_TEST_TIMEOUT } from '../kv/sdk.js';
import { openChangeStream, type ChangeEvent } from '../../src/consumer/index.js';
import { KvConnection } from '../../src/client/connection.js';

const AUTH = `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}`;

function startTls(only = false): Promise<TestServer> {
  return startTestServer({ numVBuckets: 16, tls: { kvPort: 0, mgmtPort: 0, httpPort: 0, only } });
}

function trusting(ts: TestServer): Agent {
  return new Agent({ connect: { ca: readFileSync(ts.server.tls!.certPath) } });
}

async function getJson(agent: Agent, url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(url, { dispatcher: agent, headers: { authorization: AUTH } });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

/** Resolves when the server ends the connection; the socket must not get a reply first. */
function closedWithoutReply(socket: Socket, send: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    socket.on('data', (d: Buffer) => got.push(d));
    socket.once('error', () => {});
    socket.once('close', () => resolve(Buffer.concat(got)));
    socket.once('connect', () => socket.write(send));
    setTimeout(() => reject(new Error('the server kept the connection open')), 15_000).unref();
  });
}

function keyOf(e: ChangeEvent): string {
  return 'key' in e ? String(e.key) : '';
}

describe('server > TLS', () => {
  test('the couchbase SDK bootstraps over couchbases:// and does upsert/get', { timeout: SDK_TEST_TIMEOUT }, async (t) => {
    const ts = await startTls();
    t.after(() => ts.close());
    const cluster = await couchbase.connect(`couchbases://127.0.0.1:${ts.server.ports.kvTls}`, {
      username: ADMIN.username,
      password: ADMIN.password,
      security: { trustStorePath: ts.server.tls!.certPath },
      timeouts: SDK_TIMEOUTS,
    });
    try {
      const collection = cluster.bucket('default').defaultCollection();
      await collection.upsert('over-tls', { secure: true });
      assert.deepEqual((await collection.get('over-tls')).content, { secure: true });
    } finally {
      await cluster.close();
    }
    assert.ok(ts.server.engine.requireBucket('default').get('over-tls'), 'stored by the server');
  });

  test('configs list the TLS ports: CCCP over TLS, nodeServices and the bucket over https', async (t) => {
    const ts = await startTls();
    const agent = trusting(ts);
    t.after(async () => {
      await agent.close();
      await ts.close();
    });
    const { kv, mgmt, http, kvTls, mgmtTls, httpTls } = ts.server.ports;
    const expected = { kv, kvSSL: kvTls, mgmt, mgmtSSL: mgmtTls, capi: http, capiSSL: httpTls };

    const services = await getJson(agent, `https://127.0.0.1:${mgmtTls}/pools/default/nodeServices`);
    assert.equal(services.status, 200);
    assert.deepEqual((services.body.nodesExt as { services: unknown }[])[0]!.services, expected);

    const verbose = await getJson(agent, `https://127.0.0.1:${mgmtTls}/pools/default/buckets/default`);
    const node = (verbose.body.nodes as { ports: unknown; couchApiBaseHTTPS: string }[])[0]!;
    assert.deepEqual(node.ports, { direct: kv, httpsMgmt: mgmtTls, httpsCAPI: httpTls });
    assert.match(node.couchApiBaseHTTPS, new RegExp(`^https://127\\.0\\.0\\.1:${httpTls}/default%2B`));

    const conn = await KvConnection.connect({ port: kvTls, tls: { ca: readFileSync(ts.server.tls!.certPath) } });
    try {
      await conn.hello('tls-test', []);
      await conn.saslPlain(ADMIN.username, ADMIN.password);
      await conn.selectBucket('default');
      const cccp = JSON.parse(await conn.getClusterConfig()) as { nodesExt: { services: unknown }[] };
      assert.deepEqual(cccp.nodesExt[0]!.services, expected);
    } finally {
      await conn.close();
    }
  });

  test('undici over https: the CouchDB port serves documents, with https Location headers', async (t) => {
    const ts = await startTls();
    const agent = trusting(ts);
    t.after(async () => {
      await agent.close();
      await ts.close();
    });
    const base = `https://127.0.0.1:${ts.server.ports.httpTls}`;
    const welcome = await getJson(agent, `${base}/`);
    assert.equal(welcome.status, 200);
    assert.equal(welcome.body.couchdb, 'Welcome');
    const created = await request(`${base}/tlsdb`, { method: 'PUT', dispatcher: agent, headers: { authorization: AUTH } });
    await created.body.dump();
    assert.equal(created.statusCode, 201);
    const put = await request(`${base}/tlsdb/doc1`, {
      method: 'PUT', dispatcher: agent, headers: { authorization: AUTH, 'content-type': 'application/json' }, body: '{"x":1}',
    });
    await put.body.dump();
    assert.equal(put.statusCode, 201);
    assert.equal(put.headers.location, `https://127.0.0.1:${ts.server.ports.httpTls}/tlsdb/doc1`);
    const got = await getJson(agent, `${base}/tlsdb/doc1`);
    assert.equal(got.body.x, 1);
    // Without trusting the certificate the handshake is refused, not downgraded.
    await assert.rejects(request(`${base}/`), /certificate/i);
  });

  test("Freshet's DCP consumer streams every mutation over TLS from couchbases:// and https:// seeds", async (t) => {
    const ts = await startTls();
    t.after(() => ts.close());
    const ca = readFileSync(ts.server.tls!.certPath);
    const bucket = ts.server.engine.requireBucket('default');
    const cluster = await couchbase.connect(`couchbases://127.0.0.1:${ts.server.ports.kvTls}`, {
      ...ADMIN, security: { trustStorePath: ts.server.tls!.certPath }, timeouts: SDK_TIMEOUTS,
    });
    const keys = Array.from({ length: 100 }, (_, i) => `dcp-${i}`);
    try {
      const collection = cluster.bucket('default').defaultCollection();
      for (const k of keys) await collection.upsert(k, { k });
    } finally {
      await cluster.close();
    }
    assert.equal(bucket.numVBuckets, 16);
    const seeds = [
      `couchbases://127.0.0.1:${ts.server.ports.kvTls}/default`,
      `https://127.0.0.1:${ts.server.ports.mgmtTls}`,
    ];
    for (const seed of seeds) {
      const stream = openChangeStream({ seeds: [seed], bucket: 'default', credentials: ADMIN, to: 'now', tls: { ca }, streamingConfig: false });
      const seen: string[] = [];
      try {
        for await (const e of stream) seen.push(keyOf(e));
      } finally {
        await stream.close();
      }
      assert.deepEqual(seen.sort(), [...keys].sort(), seed);
    }
    // A couchbases:// seed without the CA refuses the self-signed certificate.
    let firstError: (err: Error) => void = () => {};
    const failed = new Promise<Error>((resolve) => (firstError = resolve));
    const untrusted = openChangeStream({
      seeds: [`couchbases://127.0.0.1:${ts.server.ports.kvTls}/default`], credentials: ADMIN, to: 'now',
      clusterManagerSleepMaxMS: 50, connectTimeoutMS: 2000, onError: (err) => firstError(err),
    });
    t.after(() => untrusted.close());
    const err = await failed;
    const chain = [err, err.cause, (err.cause as Error | undefined)?.cause, ((err.cause as Error | undefined)?.cause as Error | undefined)?.cause];
    assert.ok(chain.some((e) => e instanceof Error && /self-signed|certificate/i.test(e.message)), String(err));
  });

  test('a plain client on a TLS port and a TLS hello on the plain port close only that connection', async (t) => {
    const ts = await startTls();
    t.after(() => ts.close());
    const { kv, kvTls, mgmtTls, httpTls } = ts.server.ports;
    const ca = readFileSync(ts.server.tls!.certPath);
    // A healthy TLS connection open throughout.
    const healthy = await KvConnection.connect({ port: kvTls, tls: { ca } });
    t.after(() => healthy.close());
    await healthy.hello('healthy', []);
    await healthy.saslPlain(ADMIN.username, ADMIN.password);

    const memcachedNoop = Buffer.from([0x80, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const reply = await closedWithoutReply(netConnect(kvTls, '127.0.0.1'), memcachedNoop);
    assert.equal(reply[0] === 0x81, false, 'no memcached reply in the clear');
    for (const port of [mgmtTls, httpTls]) {
      const res = await closedWithoutReply(netConnect(port, '127.0.0.1'), Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      assert.equal(res.toString('latin1').startsWith('HTTP/1.1 200'), false, `port ${port} answered plain HTTP`);
    }

    // A TLS client on the plain KV port: its ClientHello (0x16) ends that connection.
    const hello = tlsConnect({ host: '127.0.0.1', port: kv, ca, rejectUnauthorized: true });
    await new Promise<void>((resolve) => {
      hello.once('error', () => resolve());
      hello.once('close', () => resolve());
    });
    const stats = new Map((await healthy.stat('')).map((e) => [e.name, e.value]));
    assert.equal(stats.get('tls_on_plain_port'), '1');
    assert.ok(Number(stats.get('tls_handshake_failures')) >= 1);
    // The healthy connection still answers.
    await healthy.noop();
  });

  test('`tls.only` opens no plain port; the ready line lists the TLS ports only', async (t) => {
    const ts = await startTls(true);
    t.after(() => ts.close());
    const { kv, mgmt, http, kvTls, mgmtTls, httpTls } = ts.server.ports;
    assert.deepEqual([kv, mgmt, http], [0, 0, 0]);
    assert.ok(kvTls > 0 && mgmtTls > 0 && httpTls > 0);
    assert.match(ts.server.readyLine(), new RegExp(`^freshet ready kvs=${kvTls} mgmts=${mgmtTls} https=${httpTls} data=\\S+$`));
    // The configs name only what listens.
    const agent = trusting(ts);
    t.after(() => agent.close());
    const services = await getJson(agent, `https://127.0.0.1:${mgmtTls}/pools/default/nodeServices`);
    assert.deepEqual((services.body.nodesExt as { services: unknown }[])[0]!.services, { kvSSL: kvTls, mgmtSSL: mgmtTls, capiSSL: httpTls });
    const terse = await getJson(agent, `https://127.0.0.1:${mgmtTls}/pools/default/b/default`);
    assert.deepEqual((terse.body.vBucketServerMap as { serverList: string[] }).serverList, [`127.0.0.1:${kvTls}`]);
    // And the SDK still works with TLS alone.
    const cluster = await couchbase.connect(`couchbases://127.0.0.1:${kvTls}`, {
      ...ADMIN, security: { trustStorePath: ts.server.tls!.certPath }, timeouts: SDK_TIMEOUTS,
    });
    try {
      const collection = cluster.bucket('default').defaultCollection();
      await collection.upsert('only-tls', { v: 1 });
      assert.deepEqual((await collection.get('only-tls')).content, { v: 1 });
    } finally {
      await cluster.close();
    }
  });
});
