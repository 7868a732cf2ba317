/**
 * `/_node/{node}/_config` over HTTP: the sections clients and admins read, PUT/DELETE of keys
 * with CouchDB's answers (the old value; 404 unknown_config_value), admin-only access, values
 * persisted across a restart of the face, and `[log] level` changing the running pino logger.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino, type Logger as PinoLogger } from 'pino';
import { request } from 'undici';
import { startHttpFace } from '../../src/http/index.js';
import { startTestServer } from '../helpers/server.js';
import { basic, obj, withCouch } from './helpers.js';

describe('_config', () => {
  test('sections, keys, PUT and DELETE answer as CouchDB does; only server admins', () =>
    withCouch(async (f) => {
      const all = obj((await f.req('/_node/_local/_config')).json);
      for (const s of ['couchdb', 'chttpd', 'chttpd_auth', 'log', 'cors', 'replicator', 'query_server_config']) assert.ok(s in all, s);
      assert.equal(obj(all.couchdb).default_security, 'admin_only');
      assert.equal(obj(all.chttpd).enable_cors, 'false');
      // Standard options a running server reports (CouchDB's config_test).
      assert.equal(obj(all.chttpd).port, String(f.server.server.ports.http));
      assert.equal(typeof obj(all.couchdb).database_dir, 'string');
      assert.equal((await f.req('/_node/_local/_config/query_server_config/os_process_timeout')).json, '5000');
      assert.equal((await f.req('/_node/_local/_config/query_server_config/os_process_timeout', { method: 'PUT', json: '2000' })).json, '5000');
      assert.equal(f.listener.face.config.int('query_server_config', 'os_process_timeout', 0), 2000);
      assert.equal((await f.req('/_node/_local/_config/custom/answer', { method: 'PUT', json: '42' })).json, '');
      assert.deepEqual((await f.req('/_node/_local/_config/custom')).json, { answer: '42' });
      assert.equal((await f.req('/_node/_local/_config/custom/answer', { method: 'DELETE' })).json, '42');
      const gone = await f.req('/_node/_local/_config/custom/answer');
      assert.deepEqual([gone.status, gone.json], [404, { error: 'not_found', reason: 'unknown_config_value' }]);
      assert.equal((await f.req('/_node/_local/_config/custom/answer', { method: 'DELETE' })).status, 404);
      assert.equal((await f.req('/_node/_local/_config/log/level', { method: 'PUT', json: 'loud' })).status, 400);
      assert.equal((await f.req('/_node/_local/_config/log/level', { method: 'PUT', json: 3 })).status, 400);
      assert.equal((await f.req('/_node/_local/_config/admins/eve', { method: 'PUT', json: 'pw' })).status, 400);
      assert.equal((await f.req('/_node/elsewhere/_config')).status, 404);
      // couch_util:check_config_blacklist, and _reload.
      for (const method of ['PUT', 'DELETE']) {
        const r = await f.req('/_node/_local/_config/query_servers/javascript', { method, ...(method === 'PUT' ? { json: 'evil' } : {}) });
        assert.deepEqual([r.status, r.json], [403, { error: 'forbidden', reason: 'Config section blacklisted for modification over HTTP API.' }]);
      }
      assert.deepEqual((await f.req('/_node/_local/_config/_reload', { method: 'POST' })).json, { ok: true });
      // CORS keys are the CORS settings (cors.ts).
      assert.equal((await f.req('/_node/_local/_config/cors/origins', { method: 'PUT', json: 'http://a.example' })).status, 200);
      assert.equal(obj((await f.req('/_node/_local/_config/cors')).json).origins, 'http://a.example');
      await f.server.server.users.setBucketUser('alice', 'alice-pw', ['default']);
      for (const auth of [null, { user: 'alice', password: 'alice-pw' }]) {
        const denied = await f.req('/_node/_local/_config', { auth });
        assert.deepEqual([denied.status, denied.json], [401, { error: 'unauthorized', reason: 'You are not a server admin.' }]);
      }
      // `default_security` applies to databases without a security object of their own.
      assert.equal((await f.req('/_node/_local/_config/couchdb/default_security', { method: 'PUT', json: 'everyone' })).status, 200);
      assert.deepEqual((await f.req('/default/_security')).json, {});
    }));

  test('query_server_config/os_process_timeout is the design-function deadline, changed live', () =>
    withCouch(async (f) => {
      assert.equal((await f.req('/db', { method: 'PUT' })).status, 201);
      assert.equal((await f.req('/db/x', { method: 'PUT', json: {} })).status, 201);
      assert.equal((await f.req('/db/_design/d', { method: 'PUT', json: { filters: { loop: 'function (doc, req) { while (true) {} }' } } })).status, 201);
      assert.equal((await f.req('/_node/_local/_config/query_server_config/os_process_timeout', { method: 'PUT', json: '300' })).status, 200);
      const r = await f.req('/db/_changes?filter=d/loop');
      assert.equal(r.status, 500, r.text);
      assert.equal(obj(r.json).error, 'os_process_error');
      assert.match(String(obj(r.json).reason), /limit 300 ms/);
    }));

  test('PUT log/level changes the running logger at once and again after a restart', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done(); } });
    const server = await startTestServer();
    try {
      const { engine, users, authThrottle, addresses } = server.server;
      const start = (logger: PinoLogger) => startHttpFace({ engine, users, authThrottle, logger, host: addresses.host, ports: addresses.ports }, 0);
      const logger: PinoLogger = pino({ level: 'info' }, sink);
      let listener = await start(logger);
      const put = async (value: string): Promise<unknown> => {
        const res = await request(`http://127.0.0.1:${listener.port}/_node/_local/_config/log/level`, {
          method: 'PUT', body: JSON.stringify(value), headers: { authorization: basic('Administrator', 'password') },
        });
        assert.equal(res.statusCode, 200);
        return res.body.json();
      };
      logger.debug('before');
      assert.equal(await put('debug'), 'info');
      assert.equal(logger.level, 'debug');
      logger.debug('after');
      assert.deepEqual(lines.map((l) => String(JSON.parse(l).msg)).filter((m) => m === 'before' || m === 'after'), ['after']);
      assert.equal(await put('warning'), 'debug');
      assert.equal(logger.level, 'warn');
      await listener.close();
      const second: PinoLogger = pino({ level: 'info' }, sink);
      listener = await start(second);
      assert.equal(second.level, 'warn', 'the persisted level applies at start');
      await listener.close();
    } finally {
      await server.close();
    }
  });
});
