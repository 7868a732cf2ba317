/**
 * `freshet tail` as a process: JSON lines on stdout, bounded runs, resume from --checkpoint,
 * SIGINT with the checkpoint saved, vbucket subsets and keys only.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startTestServer, tempDir } from '../helpers/server.js';
import { until, writeDocs } from './fixtures/cluster.js';

interface Line {
  type: string;
  key: string;
  vbucket: number;
  seqno: number;
  cas: string;
  flags: number;
  expiry: number;
  deleted: boolean;
  value: unknown;
}

function tail(args: string[]): { lines: Line[]; done: Promise<{ code: number | null; stderr: string }>; kill: (sig: NodeJS.Signals) => void } {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/consumer/fixtures/tail-main.ts', 'tail', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Line[] = [];
  createInterface({ input: proc.stdout }).on('line', (l) => lines.push(JSON.parse(l) as Line));
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) => proc.once('close', (code) => resolve({ code, stderr })));
  return { lines, done, kill: (sig) => proc.kill(sig) };
}

describe('consumer > freshet tail', () => {
  test('--to now prints every change once; a rerun with --checkpoint prints only what is new', async (t) => {
    const ts = await startTestServer({ numVBuckets: 8 });
    const dir = tempDir('freshet-tail-');
    t.after(async () => {
      await ts.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const bucket = ts.server.engine.bucket('default')!;
    await writeDocs(bucket, 300);
    await bucket.delete('doc-5');
    const url = `couchbase://127.0.0.1:${ts.server.ports.kv}/default`;
    const args = [url, '-u', 'Administrator', '-p', 'password', '--to', 'now', '--checkpoint', join(dir, 'cp.json')];

    const first = tail(args);
    const r1 = await first.done;
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(first.lines.length, 300); // doc-5's mutation is deduplicated into its deletion
    const del = first.lines.find((l) => l.key === 'doc-5')!;
    assert.deepEqual([del.type, del.deleted, del.value], ['deletion', true, null]);
    const doc = first.lines.find((l) => l.key === 'doc-7')!;
    assert.deepEqual(doc.value, { n: 7, extra: '' });
    assert.match(doc.cas, /^\d+$/);
    assert.equal(doc.vbucket, bucket.vbucketOf('doc-7'));
    assert.equal(typeof doc.seqno, 'number');

    await writeDocs(bucket, 20, 'new-');
    const second = tail(args);
    assert.equal((await second.done).code, 0);
    assert.deepEqual(second.lines.map((l) => l.key).sort(), Array.from({ length: 20 }, (_, i) => `new-${i}`).sort());
  });

  test('SIGINT saves the checkpoint at the last printed change; the rerun continues exactly there', async (t) => {
    const ts = await startTestServer({ numVBuckets: 8 });
    const dir = tempDir('freshet-tail-');
    t.after(async () => {
      await ts.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const bucket = ts.server.engine.bucket('default')!;
    await writeDocs(bucket, 3000);
    const cp = join(dir, 'cp.json');
    const url = `couchbase://127.0.0.1:${ts.server.ports.kv}/default`;
    const run = tail([url, '-u', 'Administrator', '-p', 'password', '--checkpoint', cp]);
    await until(() => run.lines.length >= 200, '200 lines');
    run.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr);
    const saved = JSON.parse(readFileSync(cp, 'utf8')) as { vbuckets: Record<string, { lastSeq: number }> };
    const lastPrinted = new Map<number, number>();
    for (const l of run.lines) lastPrinted.set(l.vbucket, l.seqno);
    for (const [vb, seq] of lastPrinted) assert.equal(saved.vbuckets[String(vb)]?.lastSeq, seq, `vbucket ${vb}`);

    const rest = tail([url, '-u', 'Administrator', '-p', 'password', '--checkpoint', cp, '--to', 'now']);
    assert.equal((await rest.done).code, 0);
    const keys = [...run.lines, ...rest.lines].map((l) => l.key);
    assert.equal(new Set(keys).size, keys.length, 'no repeats');
    assert.equal(keys.length, 3000, 'no gaps');
  });

  test('--vbuckets and --keys-only; an http:// URL needs --bucket', async (t) => {
    const ts = await startTestServer({ numVBuckets: 8 });
    t.after(() => ts.close());
    const bucket = ts.server.engine.bucket('default')!;
    await writeDocs(bucket, 200);
    const url = `http://127.0.0.1:${ts.server.ports.mgmt}`;
    const run = tail([url, '--bucket', 'default', '-u', 'Administrator', '-p', 'password', '--to', 'now', '--vbuckets', '1-2,5', '--keys-only']);
    assert.equal((await run.done).code, 0);
    const expected = Array.from({ length: 200 }, (_, i) => `doc-${i}`).filter((k) => [1, 2, 5].includes(bucket.vbucketOf(k)));
    assert.deepEqual(run.lines.map((l) => l.key).sort(), expected.sort());
    assert.ok(run.lines.every((l) => l.value === null));

    const bad = tail([url, '--to', 'now']);
    const r = await bad.done;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--bucket/);
  });

  test('an unreadable --checkpoint exits 1 at once, not after --connect-timeout', async (t) => {
    const dir = tempDir('freshet-tail-');
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const cp = join(dir, 'cp.json');
    writeFileSync(cp, '{not json');
    const started = Date.now();
    const run = tail(['couchbase://127.0.0.1:1/default', '-u', 'a', '-p', 'b', '--to', 'now', '--checkpoint', cp, '--connect-timeout', '60']);
    const r = await run.done;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not JSON/);
    assert.ok(Date.now() - started < 20_000, `exited after ${Date.now() - started} ms`);
  });
});
