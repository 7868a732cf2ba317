/**
 * `freshet stats` and `freshet stats --json` as a child process against a live server: the
 * readable summary names the buckets with their item counts, the JSON carries a `buckets` array
 * with `name` and `items`, and a wrong password fails with a clear message and exit code 1; names
 * holding control characters (a DCP client picks its connection's name) are printed escaped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { formatStats } from '../../src/cli/stats.js';

let t: TestServer;

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/entry.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

before(async () => {
  t = await startTestServer({ numVBuckets: 8, authThrottle: false });
  await t.server.engine.createBucket('orders', { numVBuckets: 4 });
  const b = t.server.engine.bucket('orders')!;
  for (let i = 0; i < 7; i++) await b.set(`o${i}`, JSON.stringify({ i }));
  await b.delete('o6');
  await b.quiesce();
});
after(() => t.close());

describe('freshet stats', () => {
  test('--json prints the summary document; without it, a readable table', async () => {
    const conn = ['--mgmt-port', String(t.server.ports.mgmt), '-u', 'Administrator', '-p', 'password'];
    const json = await runCli(['stats', '--json', ...conn]);
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as { buckets: Array<{ name: string; items: number; tombstones: number; numVBuckets: number }>; feeds: { count: number } };
    const orders = doc.buckets.find((b) => b.name === 'orders');
    assert.deepEqual({ items: orders?.items, tombstones: orders?.tombstones, numVBuckets: orders?.numVBuckets }, { items: 6, tombstones: 1, numVBuckets: 4 });
    assert.equal(doc.buckets.find((b) => b.name === 'default')?.items, 0);
    assert.equal(doc.feeds.count, 0);

    const text = await runCli(['stats', ...conn]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Buckets \(2\)$/m);
    assert.match(text.stdout, /^ {2}orders +6 +1 /m);
    assert.match(text.stdout, /^DCP connections \(0\)$/m);
    assert.match(text.stdout, /^_changes feeds: 0 open$/m);
    assert.match(text.stdout, /^Storage: healthy;/m);
  });

  test('a wrong password fails with a clear message', async () => {
    const res = await runCli(['stats', '--mgmt-port', String(t.server.ports.mgmt), '-p', 'wrong']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /could not read the server's stats: authentication failed/);
  });
});

describe('freshet stats > hostile names', () => {
  test('control characters and bidi overrides in DCP connection names are printed escaped, one row each', () => {
    const lines = formatStats({
      buckets: [{ name: 'default', items: 1 }],
      dcp: { connections: [{ bucket: 'default', name: 'evil\u001b[2J\u001b]0;pwned\u0007\nsecond line\r', streams: 1 }, { bucket: 'default', name: 'rtl\u202etxt', streams: 2 }] },
      replications: [{ id: 'abc', state: 'running\u001b[31m', source: 'a', target: 'b' }],
    });
    for (const line of lines) assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/, JSON.stringify(line));
    assert.ok(lines.some((l) => l.includes('evil\\x1b[2J\\x1b]0;pwned\\x07\\nsecond line\\r')), lines.join('\n'));
    assert.ok(lines.some((l) => l.includes('rtl\\u202etxt')));
    assert.ok(lines.some((l) => l.includes('running\\x1b[31m')));
    const dcp = lines.indexOf('DCP connections (2)');
    assert.equal(lines[dcp + 4], '', 'a header and one row per connection');
  });
});
