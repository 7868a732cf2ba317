/**
 * How the CouchDB face logs a failed request (http/server.ts renderError): an error CouchDB
 * answers by design (a throwing design function, the 501 of `/_reshard`) is one warning without a
 * stack, so a client repeating it cannot fill the log with traces (found by fuzzing); a 4xx is
 * not logged at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { formatBasicAuth } from '../../src/auth/basic.js';
import { ADMIN, startTestServer } from '../helpers/server.js';

type LogLine = Record<string, unknown> & { level: number; msg: string };

test('expected 5xx answers are one warning line without a stack; 4xx are not logged', async () => {
  const logs: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const t = await startTestServer({ logger });
  try {
    const base = `http://127.0.0.1:${t.server.ports.http}`;
    const headers = { authorization: formatBasicAuth(ADMIN.username, ADMIN.password), 'content-type': 'application/json' };
    assert.equal((await fetch(`${base}/db`, { method: 'PUT', headers })).status, 201);
    const ddoc = { shows: { boom: 'function (doc, req) { throw new Error("boom"); }' } };
    assert.equal((await fetch(`${base}/db/_design/d`, { method: 'PUT', headers, body: JSON.stringify(ddoc) })).status, 201);
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${base}/db/_design/d/_show/boom`, { headers })).status, 500);
    assert.equal((await fetch(`${base}/_reshard`, { headers })).status, 501);
    assert.equal((await fetch(`${base}/db/missing`, { headers })).status, 404);
    // A misconfigured JWT setting answers every token 500 (couch_httpd_auth): by design too.
    const put = async (path: string, value: string): Promise<void> => {
      assert.equal((await fetch(`${base}/_node/_local/_config/${path}`, { method: 'PUT', headers, body: JSON.stringify(value) })).status, 200);
    };
    await put('chttpd/authentication_handlers', '{chttpd_auth, jwt_authentication_handler}, {chttpd_auth, default_authentication_handler}');
    await put('jwt_auth/required_claims', 'nonsense_claim');
    assert.equal((await fetch(`${base}/`, { headers: { authorization: 'Bearer a.b.c' } })).status, 500);
    const failed = logs.filter((l) => l.msg === 'CouchDB face request failed');
    assert.equal(failed.length, 5, JSON.stringify(failed));
    for (const line of failed) {
      assert.equal(line.level, 40);
      assert.equal(JSON.stringify(line).includes('stack'), false, JSON.stringify(line));
    }
    assert.deepEqual(failed.map((l) => l.status), [500, 500, 500, 501, 500]);
  } finally {
    await t.close();
  }
});
