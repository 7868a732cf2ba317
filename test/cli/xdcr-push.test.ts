/**
 * `freshet xdcr push` as a real child process (src/cli/xdcr*.ts) between two in-process servers:
 * `kill -9` in the middle of a push, then a rerun with the same checkpoint resumes (it sends far
 * fewer than everything) and the target ends up with every document and its metadata; a
 * `--continuous` push stops on SIGTERM within a second, exit 0, with its summary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN, startTestServer, tempDir } from '../helpers/server.js';
import { cli, closedPort, jsonLines, startCli, until } from './run-cli.js';

const TOTAL = 3000;

test('kill -9 during a push, then a rerun resumes from the checkpoint and completes', async () => {
  const a = await startTestServer();
  const b = await startTestServer();
  try {
    const src = a.server.engine.bucket('default')!;
    const dst = b.server.engine.bucket('default')!;
    for (let i = 0; i < TOTAL; i += 200) {
      await Promise.all(Array.from({ length: 200 }, (_, j) => src.set(`k${i + j}`, JSON.stringify({ n: i + j }), { flags: 7 })));
    }
    const checkpoint = join(tempDir(), 'push.json');
    const args = [
      'xdcr', 'push', 'default', `couchbase://127.0.0.1:${b.server.ports.kv}/default`,
      '--source', `couchbase://127.0.0.1:${a.server.ports.kv}`,
      '-u', ADMIN.username, '-p', ADMIN.password, '--checkpoint', checkpoint, '--no-progress',
    ];
    const first = startCli(args);
    await until(() => existsSync(checkpoint) && dst.docCounts().docCount >= 400, 'a checkpoint and part of the push');
    first.child.kill('SIGKILL');
    assert.equal(await first.done, null);
    const partial = dst.docCounts().docCount;
    assert.ok(partial < TOTAL, `the push was interrupted (${partial} of ${TOTAL} pushed)`);

    const second = await cli(args);
    assert.equal(second.code, 0, second.stderr);
    const summary = JSON.parse(second.stdout.trim().split('\n').at(-1)!) as { mutations: number; written: number; rejected: number };
    // Resumed: only what the checkpoint did not cover is sent again (a few repeats are rejected as ties).
    assert.ok(summary.mutations <= TOTAL - partial + 200, `resent ${summary.mutations}, ${partial} were already there`);
    assert.ok(summary.mutations < TOTAL);
    await dst.quiesce(); // document counts are read from disk
    assert.equal(dst.docCounts().docCount, TOTAL);
    for (const key of ['k0', 'k1499', `k${TOTAL - 1}`]) {
      const s = src.getMeta(key);
      const d = dst.getMeta(key);
      assert.deepEqual([d.cas, d.revSeqno, d.flags], [s.cas, s.revSeqno, s.flags], key);
    }
  } finally {
    await a.close();
    await b.close();
  }
});

test('a --continuous push carries new changes and stops on SIGTERM within a second', async () => {
  const a = await startTestServer();
  const b = await startTestServer();
  try {
    const src = a.server.engine.bucket('default')!;
    const dst = b.server.engine.bucket('default')!;
    await src.set('before', '{}');
    const run = startCli([
      'xdcr', 'push', 'default', `couchbase://127.0.0.1:${b.server.ports.kv}/default`,
      '--source', `couchbase://127.0.0.1:${a.server.ports.kv}`, '-u', ADMIN.username, '-p', ADMIN.password, '--continuous',
    ]);
    await until(() => dst.docCounts().docCount === 1, 'the existing document');
    await src.set('after', '{"live":true}');
    await until(() => dst.docCounts().docCount === 2, 'the new document');
    assert.equal(dst.get('after').cas, src.get('after').cas);
    const t0 = Date.now();
    run.child.kill('SIGTERM');
    const code = await run.done;
    assert.ok(Date.now() - t0 < 1000, `stopped in ${Date.now() - t0} ms`);
    assert.equal(code, 0, run.stderr);
    const summary = JSON.parse(run.stdout.trim()) as { written: number; stopped: boolean };
    assert.deepEqual([summary.written, summary.stopped], [2, true]);
  } finally {
    await a.close();
    await b.close();
  }
});

test('bad arguments are usage errors', async () => {
  const r = await cli(['xdcr', 'push', 'default', 'http://somewhere/default']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /couchbase:\/\/HOST\[:PORT\]\/BUCKET/);
});

test('a one-shot push whose source never answers exits 1 after --connect-timeout, warning once per cause', async () => {
  const b = await startTestServer();
  try {
    const port = await closedPort();
    const t0 = Date.now();
    const r = await cli([
      'xdcr', 'push', 'default', `couchbase://127.0.0.1:${b.server.ports.kv}/default`,
      '--source', `couchbase://127.0.0.1:${port}`, '-u', ADMIN.username, '-p', ADMIN.password, '--connect-timeout', '1.5',
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(Date.now() - t0 < 20_000, `gave up in ${Date.now() - t0} ms`);
    assert.match(r.stderr, /no connection to the source within 1\.5 s/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    const warnings = jsonLines(r.stderr).filter((l) => l.msg === 'source stream problem, retrying');
    assert.ok(warnings.length <= 2, `warned ${warnings.length} times`);
    assert.equal(r.stdout, '');
  } finally {
    await b.close();
  }
});

test('a target refusing its credentials is named, with the options that give them', async () => {
  const a = await startTestServer();
  const b = await startTestServer();
  try {
    const base = [
      'xdcr', 'push', 'default', `couchbase://127.0.0.1:${b.server.ports.kv}/default`,
      '--source', `couchbase://127.0.0.1:${a.server.ports.kv}`, '-u', ADMIN.username, '-p', ADMIN.password,
    ];
    const r = await cli([...base, '--target-username', ADMIN.username, '--target-password', 'wrong']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^freshet: the target couchbase:\/\/127\.0\.0\.1:\d+\/default: authentication failed .*check --target-username and --target-password$/m);
    assert.ok(!r.stderr.includes('wrong'), 'no password in the output');
    const missing = await cli(['xdcr', 'push', 'default', `couchbase://127.0.0.1:${b.server.ports.kv}/nosuch`, ...base.slice(4)]);
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(missing.stderr, /^freshet: the target couchbase:\/\/127\.0\.0\.1:\d+\/nosuch: the bucket does not exist/m);
  } finally {
    await a.close();
    await b.close();
  }
});
