/**
 * The shared HTTP kernel (src/web/): the route table's edge cases (encoded slashes, tails,
 * literal-before-parameter with backtracking, wrong methods, HEAD), path splitting, and the
 * server over real sockets: bounded bodies, strict UTF-8 JSON, the error renderer, and close()
 * ending open connections at once.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { pathSegments } from '../../src/web/path.js';
import { RouteTable } from '../../src/web/route-table.js';
import { WebServer, type WebFace } from '../../src/web/server.js';
import { parseJsonBody, readBody, type BodyErrors } from '../../src/web/body.js';

function table(): RouteTable<string> {
  return new RouteTable<string>()
    .add('/', { GET: 'welcome' })
    .add('/_session', { GET: 'session', POST: 'login', DELETE: 'logout' })
    .add('/:db', { PUT: 'create', GET: 'info' })
    .add('/:db/_changes', { GET: 'changes', POST: 'changes-post' })
    .add('/:db/_local/*id', { GET: 'local' })
    .add('/:db/_design/:ddoc', { GET: 'ddoc' })
    .add('/:db/:doc', { GET: 'doc', PUT: 'put-doc' })
    .add('/:db/:doc/*att', { GET: 'att' });
}

function find(t: RouteTable<string>, method: string, path: string): unknown {
  const segments = pathSegments(path, 'trim');
  assert.ok(segments, `bad path ${path}`);
  const m = t.lookup(method, segments);
  return m.kind === 'found' ? [m.handler, m.params] : m;
}

describe('route table', () => {
  const t = table();

  test('an encoded slash stays inside its segment; tails join segments', () => {
    assert.deepEqual(find(t, 'GET', '/db/a%2Fb'), ['doc', { db: 'db', doc: 'a/b' }]);
    assert.deepEqual(find(t, 'GET', '/db/a%2Fb/c%2Fd/e'), ['att', { db: 'db', doc: 'a/b', att: 'c/d/e' }]);
    assert.deepEqual(find(t, 'GET', '/d%2Fb/x'), ['doc', { db: 'd/b', doc: 'x' }]);
    assert.deepEqual(find(t, 'GET', '/db/_local/x/y'), ['local', { db: 'db', id: 'x/y' }]);
    // Reserved and percent characters come back exactly as the client encoded them.
    assert.deepEqual(find(t, 'GET', '/db/%3F%23%25%252F%3A%40%20%C3%A9'), ['doc', { db: 'db', doc: '?#%%2F:@ é' }]);
  });

  test('literal segments win over parameters, with backtracking when a literal dead-ends', () => {
    assert.deepEqual(find(t, 'GET', '/db/_changes'), ['changes', { db: 'db' }]);
    assert.deepEqual(find(t, 'GET', '/db/_design/x'), ['ddoc', { db: 'db', ddoc: 'x' }]);
    // `_local` without an id is a document named `_local`; `/_session/x` a document of `_session`.
    assert.deepEqual(find(t, 'GET', '/db/_local'), ['doc', { db: 'db', doc: '_local' }]);
    assert.deepEqual(find(t, 'GET', '/_session/x'), ['doc', { db: '_session', doc: 'x' }]);
    // Case-sensitive: `_Changes` is a document.
    assert.deepEqual(find(t, 'GET', '/db/_Changes'), ['doc', { db: 'db', doc: '_Changes' }]);
  });

  test('a known path without the method lists the allowed ones (HEAD with GET); HEAD is served by GET', () => {
    assert.deepEqual(find(t, 'PUT', '/_session'), { kind: 'wrong-method', allowed: ['GET', 'POST', 'DELETE', 'HEAD'] });
    assert.deepEqual(find(t, 'DELETE', '/db/_changes'), { kind: 'wrong-method', allowed: ['GET', 'POST', 'HEAD'] });
    assert.deepEqual(find(t, 'HEAD', '/db/doc'), ['doc', { db: 'db', doc: 'doc' }]);
    assert.deepEqual(find(t, 'PATCH', '/'), { kind: 'wrong-method', allowed: ['GET', 'HEAD'] });
    assert.deepEqual(find(new RouteTable<string>().add('/x', { GET: 'g', HEAD: 'h' }), 'HEAD', '/x'), ['h', {}]);
  });

  test('trailing slashes, empty segments, long segments, unknown paths', () => {
    assert.deepEqual(find(t, 'GET', '/db/'), ['info', { db: 'db' }]);
    assert.deepEqual(find(t, 'GET', '//db//'), ['info', { db: 'db' }]);
    assert.deepEqual(find(t, 'GET', '/db//x'), ['att', { db: 'db', doc: '', att: 'x' }]);
    const long = 'k'.repeat(5000);
    assert.deepEqual(find(t, 'GET', `/db/${long}`), ['doc', { db: 'db', doc: long }]);
    assert.deepEqual(find(new RouteTable<string>().add('/a/b', { GET: 'ab' }), 'GET', '/a'), { kind: 'none' });
  });

  test('path splitting: per-segment decoding, the two empty-segment policies, bad escapes', () => {
    assert.deepEqual(pathSegments('//pools///default/', 'collapse'), ['pools', 'default']);
    assert.deepEqual(pathSegments('/a//b/', 'trim'), ['a', '', 'b']);
    assert.deepEqual(pathSegments('/', 'trim'), []);
    assert.deepEqual(pathSegments('/x%2Fy/%5Fz', 'collapse'), ['x/y', '_z']);
    assert.equal(pathSegments('/db/%ZZ', 'trim'), undefined);
    assert.equal(pathSegments('/db/%C3', 'collapse'), undefined);
  });

  test('a pattern may gain methods, but not declare one twice', () => {
    const t2 = new RouteTable<string>().add('/u/:name', { GET: 'get' }).add('/u/:name', { PUT: 'put' });
    assert.deepEqual(find(t2, 'PUT', '/u/a%2Fb'), ['put', { name: 'a/b' }]);
    assert.throws(() => t2.add('/u/:name', { GET: 'again' }), /declared twice/);
  });
});

describe('body reading', () => {
  const errors: BodyErrors = {
    tooLarge: () => new Error('too large'),
    invalidJson: () => new Error('invalid json'),
    tooDeep: (limit) => new Error(`deeper than ${limit}`),
  };

  test('invalid UTF-8, invalid JSON and too deep nesting are the face errors', () => {
    assert.deepEqual(parseJsonBody(Buffer.from('{"a":"é"}'), 10, errors), { a: 'é' });
    assert.throws(() => parseJsonBody(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), 10, errors), /invalid json/);
    assert.throws(() => parseJsonBody('{"a":', 10, errors), /invalid json/);
    assert.throws(() => parseJsonBody('[[[1]]]', 2, errors), /deeper than 2/);
  });
});

/** A face over the kernel: POST /echo/:name echoes a JSON body (limit 16 bytes), GET /stream starts a reply and fails. */
function echoFace(): WebFace {
  const routes = new RouteTable<string>().add('/echo/:name', { POST: 'echo' }).add('/stream', { GET: 'stream' });
  const errors: BodyErrors = {
    tooLarge: () => Object.assign(new Error('too large'), { status: 413 }),
    invalidJson: () => Object.assign(new Error('invalid UTF-8 JSON'), { status: 400 }),
    tooDeep: () => Object.assign(new Error('too deep'), { status: 400 }),
  };
  return {
    async handle(req, res) {
      const m = routes.lookup(req.method ?? 'GET', pathSegments(req.url ?? '/', 'trim') ?? []);
      if (m.kind !== 'found') throw Object.assign(new Error('nope'), { status: m.kind === 'none' ? 404 : 405 });
      if (m.handler === 'stream') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('partial');
        throw new Error('failed mid-reply');
      }
      const value = parseJsonBody(await readBody(req, 16, errors), 4, errors);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ name: m.params.name, value }));
    },
    renderError(err, _req, res) {
      if (res.headersSent) return;
      const status = (err as { status?: number }).status ?? 500;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end((err as Error).message);
    },
  };
}

describe('web server', () => {
  test('bodies, errors, and close() ending open connections', async () => {
    const web = await WebServer.listen(echoFace(), { host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }) });
    const base = `http://127.0.0.1:${web.port}`;
    const agent = new Agent({ keepAliveTimeout: 60_000 });
    try {
      const post = async (path: string, body: Buffer | string) => {
        const r = await request(base + path, { method: 'POST', body, dispatcher: agent });
        return { status: r.statusCode, text: await r.body.text() };
      };
      assert.deepEqual(await post('/echo/a%2Fb', '{"x":1}'), { status: 200, text: '{"name":"a/b","value":{"x":1}}' });
      assert.deepEqual(await post('/echo/a', '{"x":"0123456789"}'), { status: 413, text: 'too large' });
      assert.deepEqual(await post('/echo/a', Buffer.from([0x22, 0xc3, 0x22])), { status: 400, text: 'invalid UTF-8 JSON' });
      assert.deepEqual(await post('/echo/a', '[[[[[1]]]]]'), { status: 400, text: 'too deep' });
      assert.equal((await post('/nowhere', '1')).status, 404);
      assert.equal((await request(base + '/echo/a', { dispatcher: agent })).statusCode, 405);
      // A failure after the reply started drops the connection: the client sees an incomplete body.
      const streamed = await request(base + '/stream', { dispatcher: agent });
      assert.equal(streamed.statusCode, 200);
      await assert.rejects(streamed.body.text());
      // A connection in the middle of a request (body not all sent) is ended by close(), not awaited.
      const before = web.openSockets;
      const socket: Socket = connect(web.port, '127.0.0.1');
      // The server destroys it with request bytes unread, which the client may see as a reset.
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write('POST /echo/k HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n1');
      while (web.openSockets <= before) await new Promise((r) => setTimeout(r, 5));
      const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      const started = Date.now();
      await web.close();
      await ended;
      assert.ok(Date.now() - started < 2_000, 'close() waited for the client');
      assert.equal(web.openSockets, 0);
    } finally {
      await agent.close();
      await web.close();
    }
  });

  test('a taken port is a rejected listen', async () => {
    const logger = pino({ level: 'silent' });
    const first = await WebServer.listen(echoFace(), { host: '127.0.0.1', port: 0, logger });
    try {
      await assert.rejects(WebServer.listen(echoFace(), { host: '127.0.0.1', port: first.port, logger }), /EADDRINUSE/);
    } finally {
      await first.close();
    }
  });
});
