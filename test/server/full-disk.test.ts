/**
 * A real full disk: `freshet serve` in its own process with its data directory on a small tmpfs,
 * written to until the filesystem is full. The process must stay up, answer the failing writes
 * (KV TMPFAIL, HTTP 507), keep serving reads to every client, log the state change once, and take
 * writes again once space is freed (a filler file made beforehand is deleted), without a restart.
 * Mounting needs root (CI runs as root); otherwise this is skipped with the reason printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { request } from 'undici';
import * as c from '../../src/codec/index.js';
import { Status } from '../../src/codec/status.js';
import { vbucketOf } from '../../src/engine/vbucket-hash.js';
import { openBucket, type RawKv } from '../kv/raw-client.js';
import { basic } from '../http/helpers.js';
import { ADMIN } from '../helpers/server.js';

const VBS = 16;
const AUTH = { authorization: basic(ADMIN.username, ADMIN.password) };

/** Mount a tmpfs of `size` on a fresh directory; undefined when this process may not. */
function mountTmpfs(size: string): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'freshet-fulldisk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}

function set(kv: RawKv, key: string, value: Buffer): Promise<c.Packet> {
  return kv.request(c.encodeStoreRequest({ key: Buffer.from(key), value, datatype: 1, vbucket: vbucketOf(Buffer.from(key), VBS) }));
}

async function get(kv: RawKv, key: string): Promise<c.Packet> {
  return kv.request(c.encodeGetRequest({ key: Buffer.from(key), vbucket: vbucketOf(Buffer.from(key), VBS) }));
}

async function storageState(kv: RawKv): Promise<string | undefined> {
  kv.send(c.encodeStatRequest({ group: '' }, { opaque: kv.opaque() }));
  const packets = await kv.collect((p) => p.status !== Status.Success || c.isStatTerminator(p));
  for (const p of packets) {
    const e = c.decodeStatResponse(p);
    if (e?.name === 'ep_storage_state') return e.value;
  }
  return undefined;
}

test('freshet serve on a full tmpfs keeps serving and recovers when space returns', { timeout: 120_000 }, async (t) => {
  const mount = mountTmpfs('16m');
  if (!mount) {
    t.skip('needs root to mount a tmpfs');
    return;
  }
  const filler = join(mount, 'filler');
  writeFileSync(filler, Buffer.alloc(4 * 1024 * 1024, 1));
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/entry.ts', 'serve', '--data', join(mount, 'data'), '--kv-port', '0', '--mgmt-port', '0', '--http-port', '0', '--vbuckets', String(VBS), '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  let stderr = '';
  proc.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const clients: RawKv[] = [];
  try {
    const ready = await new Promise<string>((resolve, reject) => {
      createInterface({ input: proc.stdout! }).on('line', (l) => l.startsWith('freshet ready') && resolve(l));
      void exited.then((code) => reject(new Error(`server exited with ${code} before ready: ${stderr}`)));
    });
    const kvPort = Number(/kv=(\d+)/.exec(ready)![1]);
    const http = `http://127.0.0.1:${/http=(\d+)/.exec(ready)![1]}`;
    const kv = await openBucket(kvPort);
    clients.push(kv);

    // Fill the filesystem: 64 KiB values until a write is refused (16 MiB cannot hold 1000).
    const value = Buffer.from(JSON.stringify({ pad: 'a'.repeat(64 * 1024) }));
    let refused: c.Packet | undefined;
    let stored = 0;
    for (let i = 0; i < 1000 && !refused; i++) {
      const res = await set(kv, `fill-${i}`, value);
      if (res.status === Status.Success) stored++;
      else refused = res;
    }
    assert.ok(refused, 'the tmpfs filled up');
    assert.ok(stored > 10, `${stored} writes fit before the disk was full`);
    assert.equal(refused.status, Status.Etmpfail, `status 0x${refused.status.toString(16)}`);
    assert.match(Buffer.from(refused.value).toString(), /no space left on device/);

    // Still alive, and the same connection, a new one and the HTTP face all read.
    assert.equal(proc.exitCode, null, 'the server is still running');
    const first = await get(kv, 'fill-0');
    assert.equal(first.status, Status.Success);
    assert.deepEqual(Buffer.from(c.decodeGetResponse(first).value), value);
    const second = await openBucket(kvPort);
    clients.push(second);
    assert.equal((await get(second, `fill-${stored - 1}`)).status, Status.Success);
    assert.equal(await storageState(second), 'failing');
    const doc = await request(`${http}/default/fill-1`, { headers: AUTH });
    assert.equal(doc.statusCode, 200);
    await doc.body.dump();
    const changes = await request(`${http}/default/_changes?limit=5`, { headers: AUTH });
    assert.equal(changes.statusCode, 200);
    assert.equal(((await changes.body.json()) as { results: unknown[] }).results.length, 5);
    const put = await request(`${http}/default/big`, {
      method: 'PUT',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(1024 * 1024) }),
    });
    const putBody = (await put.body.json()) as { error?: string; reason?: string };
    assert.equal(put.statusCode, 507, JSON.stringify(putBody));
    assert.equal(putBody.error, 'insufficient_storage');

    // Space returns: writes succeed again on the same process and connection.
    rmSync(filler);
    const after = await set(kv, 'after-space', value);
    assert.equal(after.status, Status.Success, `status 0x${after.status.toString(16)}`);
    assert.equal((await get(second, 'after-space')).status, Status.Success);
    assert.equal(await storageState(kv), 'healthy');
    assert.equal(proc.exitCode, null);

    // One log line per state change, not one per refused write. The recovery line is written
    // when the next commit succeeds, and reaches our pipe a moment later on a busy machine.
    for (let i = 0; i < 100 && !stderr.includes('storage writes succeed again'); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(stderr.split('storage writes are failing').length - 1, 1, stderr.slice(-2000));
    assert.equal(stderr.split('storage writes succeed again').length - 1, 1, stderr.slice(-2000));
    assert.doesNotMatch(stderr, /unhandled promise rejection/);
  } finally {
    for (const k of clients) k.close();
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    execFileSync('umount', [mount]);
    rmSync(mount, { recursive: true, force: true });
  }
});
