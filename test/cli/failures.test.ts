/**
 * `freshet tail` and `freshet replicate` when things are wrong: tail exits 1 with the cause for a
 * missing bucket, missing or refused credentials, and a server that stays down past
 * --connect-timeout; replicate stops within a second of SIGTERM while it retries an unreachable
 * peer, and --create-target creates nothing when the source refuses (401) or is missing (404).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startTestServer, tempDir } from '../helpers/server.js';
import { cli, closedPort, startCli, until, jsonLines } from './run-cli.js';

const CREDS = ['-u', 'Administrator', '-p', 'password'];

describe('cli > failures', () => {
  test('tail exits 1 with the cause: missing bucket, refused or missing credentials', async (t) => {
    const ts = await startTestServer({ numVBuckets: 8 });
    t.after(() => ts.close());
    const kv = `couchbase://127.0.0.1:${ts.server.ports.kv}`;
    const [missing, refused, none, quiet] = await Promise.all([
      cli(['tail', `${kv}/nope`, ...CREDS, '--to', 'now']),
      cli(['tail', `${kv}/default`, '-u', 'Administrator', '-p', 'wrong', '--to', 'now']),
      cli(['tail', `${kv}/default`]),
      cli(['tail', `${kv}/nope`, ...CREDS, '-q']),
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /freshet: the bucket does not exist.*nope/);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /freshet: authentication failed/);
    assert.ok(!refused.stderr.includes('wrong'), 'no password in the output');
    assert.equal(none.code, 1);
    assert.match(none.stderr, /freshet: no credentials/);
    // -q hides warnings, not the reason it stops (and it stops, even following forever)
    assert.equal(quiet.code, 1);
    assert.match(quiet.stderr, /^freshet: the bucket does not exist/);
  });

  test('tail --vbuckets naming vbuckets the bucket does not have exits 1 at once', async (t) => {
    const ts = await startTestServer({ numVBuckets: 8 });
    t.after(() => ts.close());
    const t0 = Date.now();
    const r = await cli(['tail', `couchbase://127.0.0.1:${ts.server.ports.kv}/default`, ...CREDS, '--vbuckets', '3,8-9', '--to', 'now', '--connect-timeout', '5']);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
    assert.match(r.stderr, /^freshet: the bucket has 8 vbuckets \(0-7\); there is no vbucket 8, 9$/m);
  });

  test('tail --to now gives up after --connect-timeout, naming the cause once', async () => {
    const port = await closedPort();
    const started = Date.now();
    const r = await cli(['tail', `couchbase://127.0.0.1:${port}/default`, ...CREDS, '--to', 'now', '--connect-timeout', '2']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /freshet: no connection within 2 s: connect ECONNREFUSED/);
    assert.ok(Date.now() - started >= 2000);
    const warnings = jsonLines(r.stderr).filter((l) => String(l.msg).includes('ECONNREFUSED'));
    assert.equal(warnings.length, 1, `one warning per state, not per retry:\n${r.stderr}`);
  });

  test('replicate stops within a second of SIGTERM while retrying an unreachable source', async () => {
    const port = await closedPort();
    const run = startCli(['replicate', `http://a:b@127.0.0.1:${port}/src`, `http://a:b@127.0.0.1:${port}/dst`, '--no-progress']);
    await until(() => run.stderr.includes('retrying request'), 'a retry');
    const sent = Date.now();
    run.child.kill('SIGTERM');
    const code = await run.done;
    const ms = Date.now() - sent;
    assert.ok(ms < 1000, `stopped in ${ms} ms`);
    assert.equal(code, 1);
    const summary = JSON.parse(run.stdout.trim()) as { ok: boolean; error: string };
    assert.deepEqual([summary.ok, summary.error], [false, 'REPLICATOR_ABORTED']);
  });

  test('replicate --create-target creates nothing when the source answers 401 or 404', async (t) => {
    const ts = await startTestServer({ numVBuckets: 8 });
    t.after(() => ts.close());
    const base = `http://127.0.0.1:${ts.server.ports.http}`;
    const admin = `http://Administrator:password@127.0.0.1:${ts.server.ports.http}`;
    const bad = `http://Administrator:wrong@127.0.0.1:${ts.server.ports.http}`;
    const [unauthorized, missing] = await Promise.all([
      cli(['replicate', `${bad}/default`, `${admin}/target401`, '--create-target', '--no-progress']),
      cli(['replicate', `${admin}/nosuchdb`, `${admin}/target404`, '--create-target', '--no-progress']),
    ]);
    assert.equal(unauthorized.code, 1);
    assert.equal(missing.code, 1);
    // the cause on stderr, as every command ends, even with logs off
    const quiet = await cli(['replicate', `${bad}/default`, `${admin}/target401`, '--no-progress', '--log-level', 'silent']);
    assert.equal(quiet.code, 1);
    assert.match(quiet.stderr, /^freshet: replication failed: unauthorized: GET .*\/default\/ → 401\n$/);
    assert.ok(!quiet.stderr.includes('wrong'), 'no password in the output');
    assert.match(missing.stderr, /^freshet: replication failed: database not found/m);
    assert.equal((JSON.parse(missing.stdout) as { error: string }).error, 'REPLICATOR_DB_NOT_FOUND');
    const auth = { authorization: `Basic ${Buffer.from('Administrator:password').toString('base64')}` };
    for (const db of ['target401', 'target404']) {
      assert.equal((await fetch(`${base}/${db}`, { headers: auth })).status, 404, `${db} was not created`);
    }
    // and with a good source the target is created
    const ok = await cli(['replicate', `${admin}/default`, `${admin}/target200`, '--create-target', '--no-progress']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal((await fetch(`${base}/target200`, { headers: auth })).status, 200);
  });

  // /proc refuses new directories (ENOENT); Node 20's mkdir({recursive}) never returns there.
  test('serve with a data directory that cannot be created exits 1 at once with the cause', async () => {
    const t0 = Date.now();
    const r = await cli(['serve', '--data', '/proc/freshet-no/data', '--kv-port', '0', '--mgmt-port', '0', '--http-port', '0', '-p', 'secret']);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
    assert.match(r.stderr, /freshet: ENOENT.*mkdir '\/proc\/freshet-no'/);
    assert.equal(r.stdout, '', 'no ready line');
    // the access log's directory too (sonic-boom's mkdir is the recursive one)
    const log = await cli(['serve', '--data', join(tempDir(), 'data'), '--kv-port', '0', '--mgmt-port', '0', '--http-port', '0', '-p', 'secret', '--access-log', '/proc/freshet-no/access.log']);
    assert.equal(log.code, 1, log.stderr);
    assert.match(log.stderr, /freshet: ENOENT.*mkdir '\/proc\/freshet-no'/);
  });

  test('xdcr push with a checkpoint that cannot be written exits 1 after the push instead of hanging', async (t) => {
    const ts = await startTestServer({ numVBuckets: 8 });
    t.after(() => ts.close());
    await ts.server.engine.bucket('default')!.set('k', '{}');
    const kv = `couchbase://127.0.0.1:${ts.server.ports.kv}`;
    const t0 = Date.now();
    const r = await cli(['xdcr', 'push', 'default', `${kv}/default`, '--source', kv, ...CREDS, '--checkpoint', '/proc/freshet-no/cp.json']);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
    assert.match(r.stderr, /freshet: ENOENT/);
    assert.ok(jsonLines(r.stderr).length <= 2, 'the same problem is warned once');
  });
});
