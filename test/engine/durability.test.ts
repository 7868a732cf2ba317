import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Engine } from '../../src/engine/engine.js';
import { tempDir } from '../helpers/server.js';

const WRITER = new URL('../fixtures/engine-writer.ts', import.meta.url).pathname;

/** Run the writer; in crash mode SIGKILL it once `killAfter` writes were acknowledged. */
function runWriter(dataDir: string, mode: 'crash' | 'clean', n: number, killAfter = 0): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dataDir, mode, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked: string[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('ack ')) acked.push(line.slice(4));
      if (mode === 'crash' && acked.length === killAfter) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (mode === 'clean' && code !== 0) reject(new Error(`writer exited with ${code}`));
      else if (mode === 'crash' && signal !== 'SIGKILL') reject(new Error(`writer was not killed (${code}, ${signal})`));
      else resolve(acked);
    });
  });
}

test('acknowledged writes survive kill -9, and the crash adds a failover entry to every vbucket', async () => {
  const dir = tempDir();
  try {
    const acked = await runWriter(dir, 'crash', 0, 3000);
    assert.ok(acked.length >= 3000);
    const engine = await Engine.open({ dataDir: dir, expiryPagerMs: 0 });
    try {
      assert.equal(engine.recoveredFromCrash, true);
      const bucket = engine.requireBucket('default');
      for (const key of acked) assert.equal(JSON.parse(bucket.get(key).value.toString()).i, Number(key.slice(4)));
      for (let vb = 0; vb < bucket.numVBuckets; vb++) {
        const info = bucket.vbucketInfo(vb);
        assert.equal(info.failoverLog.length, 2, `vbucket ${vb} has a new branch`);
        assert.equal(info.failoverLog[0]!.seqno, info.highSeqno, 'the new branch starts at the persisted high seqno');
      }
    } finally {
      await engine.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a clean shutdown adds no failover entry', async () => {
  const dir = tempDir();
  try {
    const acked = await runWriter(dir, 'clean', 500);
    assert.equal(acked.length, 500);
    const engine = await Engine.open({ dataDir: dir, expiryPagerMs: 0 });
    try {
      assert.equal(engine.recoveredFromCrash, false);
      const bucket = engine.requireBucket('default');
      let total = 0;
      for (let vb = 0; vb < bucket.numVBuckets; vb++) {
        const info = bucket.vbucketInfo(vb);
        assert.equal(info.failoverLog.length, 1);
        total += info.highSeqno;
      }
      assert.equal(total, 500);
    } finally {
      await engine.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
