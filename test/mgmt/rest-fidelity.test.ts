/**
 * Cluster-manager REST details checked against ns_server's menelaus_web.erl and
 * menelaus_web_buckets.erl: unrouted methods, the bucket form's reply shape and `just_validate`.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Mgmt, startMgmtServer, type MgmtServer } from './rest-helpers.js';

describe('cluster-manager REST fidelity', () => {
  let s: MgmtServer;
  let mgmt: Mgmt;
  before(async () => {
    s = await startMgmtServer();
    mgmt = s.mgmt;
  });
  after(() => s.t.close());

  test('an unrouted DELETE, PUT, PATCH or OPTIONS is 405 "Method Not Allowed", GET and POST 404, before credentials', async () => {
    for (const [method, path] of [
      ['DELETE', '/pools'],
      ['PUT', '/pools/default/buckets/default'],
      ['PATCH', '/pools/default'],
      ['OPTIONS', '/pools'],
      ['DELETE', '/no/such/thing'],
    ] as const) {
      for (const creds of [undefined, null]) {
        const r = await mgmt.call(method, path, { creds });
        assert.deepEqual([r.status, r.text, r.headers['content-type']], [405, 'Method Not Allowed', 'text/plain'], `${method} ${path}`);
      }
    }
    for (const [method, path] of [['GET', '/no/such'], ['POST', '/pools'], ['POST', '/no/such']] as const) {
      const r = await mgmt.call(method, path, { creds: null });
      assert.deepEqual([r.status, r.text], [404, 'Requested resource not found.\r\n'], `${method} ${path}`);
    }
  });
});
