import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { startTestServer, tempDir } from '../helpers/server.js';
import { Engine } from '../../src/engine/engine.js';

const CLI = new URL('../../src/cli/entry.ts', import.meta.url).pathname;

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

test('an in-process server binds ephemeral ports and creates bucket default', async () => {
  const t = await startTestServer();
  try {
    const { kv, mgmt, http } = t.server.ports;
    assert.ok(kv > 0 && mgmt > 0 && http > 0);
    assert.equal(new Set([kv, mgmt, http]).size, 3);
    for (const p of [kv, mgmt, http]) assert.ok(await canConnect(p));
    assert.equal(t.server.engine.requireBucket('default').numVBuckets, 64);
    assert.match(t.server.readyLine(), new RegExp(`^freshet ready kv=${kv} mgmt=${mgmt} http=${http} data=`));
  } finally {
    await t.close();
  }
});

test('`freshet serve` prints one ready line with the real ports and shuts down cleanly on SIGTERM', async () => {
  const dir = tempDir();
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--data', dir, '--kv-port', '0', '--mgmt-port', '0', '--http-port', '0', '--vbuckets', '8', '--log-level', 'silent'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: string[] = [];
    const ready = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        lines.push(line);
        if (line.startsWith('freshet ready')) resolve(line);
      });
      child.once('exit', (code) => reject(new Error(`serve exited early with ${code}`)));
    });
    const m = /^freshet ready kv=(\d+) mgmt=(\d+) http=(\d+) data=(.+)$/.exec(ready);
    assert.ok(m, ready);
    assert.equal(m[4], dir);
    for (const p of [m[1], m[2], m[3]]) assert.ok(await canConnect(Number(p)));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exit, 0);
    assert.equal(lines.length, 1, 'exactly one line on stdout');
    const engine = await Engine.open({ dataDir: dir, expiryPagerMs: 0 });
    assert.equal(engine.recoveredFromCrash, false, 'the shutdown was clean');
    assert.equal(engine.requireBucket('default').numVBuckets, 8);
    await engine.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
