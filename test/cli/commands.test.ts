/**
 * The `freshet` command as a process: --version, --log-level validation, the environment
 * variables in every help, `bucket list --json` summaries, and `serve` with the default-password
 * warning, the access log (both HTTP faces and KV) and one version string on every face.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { once } from 'node:events';
import { startTestServer, tempDir } from '../helpers/server.js';
import { cli, jsonLines, startCli, until } from './run-cli.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const AUTH = { authorization: `Basic ${Buffer.from('Administrator:password').toString('base64')}` };

describe('cli > commands', () => {
  test('--version prints the package version', async () => {
    const r = await cli(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), VERSION);
  });

  test('an unknown --log-level is a usage error listing the valid levels', async () => {
    const r = await cli(['serve', '--log-level', 'verbose', '--data', '/nonexistent/never-created']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /'verbose' is invalid/);
    assert.match(r.stderr, /fatal, error, warn, info, debug, trace, silent/);
    assert.doesNotMatch(r.stderr, /default level/); // not pino's internal message
    const env = await cli(['tail', 'couchbase://127.0.0.1/x', '--to', 'now'], { FRESHET_LOG_LEVEL: 'loud' });
    assert.equal(env.code, 1);
    assert.match(env.stderr, /'loud' from env 'FRESHET_LOG_LEVEL' is invalid/);
  });

  test('--host takes an address, not a URL or host:port', async () => {
    for (const host of ['http://127.0.0.1', '127.0.0.1:8091', '[::1]:8091']) {
      const r = await cli(['bucket', 'list', '--host', host]);
      assert.equal(r.code, 1, host);
      assert.match(r.stderr, /--host is an address such as 127\.0\.0\.1/, host);
    }
    const env = await cli(['stats'], { FRESHET_HOST: 'http://127.0.0.1' });
    assert.equal(env.code, 1);
    assert.match(env.stderr, /from env 'FRESHET_HOST' is invalid/);
  });

  test('help lists the environment variables', async () => {
    for (const cmd of ['serve', 'tail', 'bucket']) {
      const r = await cli([cmd, '--help']);
      assert.equal(r.code, 0, r.stderr);
      for (const v of ['FRESHET_DATA', 'FRESHET_HOST', 'FRESHET_USERNAME', 'FRESHET_PASSWORD', 'FRESHET_LOG_LEVEL']) {
        assert.ok(r.stdout.includes(v), `${cmd} --help names ${v}`);
      }
    }
  });

  test('bucket list --json prints one small object per bucket', async (t) => {
    const ts = await startTestServer({ numVBuckets: 16 });
    t.after(() => ts.close());
    await ts.server.engine.createBucket('second', { numVBuckets: 8 });
    const r = await cli(['bucket', 'list', '--json', '--mgmt-port', String(ts.server.ports.mgmt)]);
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(list.map((b) => [b.name, b.numVBuckets, b.bucketType]), [['default', 16, 'membase'], ['second', 8, 'membase']]);
    // `items` is ns_server's basicStats.itemCount, which the bucket documents carry.
    for (const b of list) assert.deepEqual(Object.keys(b).sort(), ['bucketType', 'items', 'name', 'numVBuckets', 'uuid']);
    assert.deepEqual(list.map((b) => b.items), [0, 0]);
    assert.ok(r.stdout.length < 400, `small output (${r.stdout.length} bytes)`);
  });

  test('serve: default-password warning, access log lines, one version on every face', async (t) => {
    const dir = tempDir('freshet-cli-');
    const accessFile = join(dir, 'access.log');
    const run = startCli(['serve', '--data', join(dir, 'data'), '--kv-port', '0', '--mgmt-port', '0', '--http-port', '0', '--vbuckets', '8', '--access-log', accessFile]);
    t.after(() => {
      run.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });
    await until(() => run.stdout.includes('freshet ready'), 'the ready line');
    const m = /kv=(\d+) mgmt=(\d+) http=(\d+)/.exec(run.stdout)!;
    const [kv, mgmt, http] = [Number(m[1]), Number(m[2]), Number(m[3])];

    const warning = jsonLines(run.stderr).find((l) => String(l.msg).includes('default password'));
    assert.ok(warning, run.stderr);
    assert.equal(warning.level, 40);

    const root = (await (await fetch(`http://127.0.0.1:${http}/?password=hunter2`)).json()) as Record<string, unknown>;
    assert.equal(root.version, '3.3.3');
    assert.equal(root.freshet, VERSION);
    assert.deepEqual(root.vendor, { name: 'Freshet', version: VERSION });
    const pools = (await (await fetch(`http://127.0.0.1:${mgmt}/pools`, { headers: AUTH })).json()) as Record<string, unknown>;
    assert.equal(pools.implementationVersion, `7.6.0-freshet-${VERSION}`);

    // KV VERSION (opcode 0x0b) over a raw connection, then close it.
    const sock = connect(kv, '127.0.0.1');
    await once(sock, 'connect');
    const req = Buffer.alloc(24);
    req[0] = 0x80;
    req[1] = 0x0b;
    sock.write(req);
    const [reply] = (await once(sock, 'data')) as [Buffer];
    assert.equal(reply.subarray(24).toString(), `7.6.0-freshet-${VERSION}`);
    sock.end();
    await once(sock, 'close');

    await until(() => {
      try {
        return jsonLines(readFileSync(accessFile, 'utf8')).some((l) => l.event === 'close');
      } catch {
        return false;
      }
    }, 'the KV close line');
    const lines = jsonLines(readFileSync(accessFile, 'utf8'));
    assert.ok(lines.every((l) => l.access === true && l.level === 30));
    const couch = lines.find((l) => l.face === 'couchdb')!;
    assert.deepEqual([couch.method, couch.path, couch.status, couch.user, couch.remote], ['GET', '/?password=*****', 200, null, '127.0.0.1']);
    assert.ok(typeof couch.bytes === 'number' && couch.bytes > 50 && typeof couch.ms === 'number');
    const rest = lines.find((l) => l.face === 'mgmt')!;
    assert.deepEqual([rest.method, rest.path, rest.status, rest.user], ['GET', '/pools', 200, 'Administrator']);
    const kvLines = lines.filter((l) => l.face === 'kv');
    assert.deepEqual(kvLines.map((l) => l.event), ['open', 'close']);
    assert.deepEqual([kvLines[1]!.ops, kvLines[1]!.user, kvLines[1]!.bucket, kvLines[1]!.remote], [1, null, null, '127.0.0.1']);
    assert.ok(!readFileSync(accessFile, 'utf8').includes('hunter2'), 'no secret from the query');

    run.child.kill('SIGTERM');
    assert.equal(await run.done, 0);
  });
});
