/**
 * Failures: the target going away in the middle of a run (request retries, and job restarts when
 * the outage outlasts them), and the replicator process killed outright, then started again:
 * nothing that was checkpointed is transferred twice.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startPouchServer, type PouchServer } from './helpers/pouchdb-server.js';
import { startProxy } from './helpers/proxy.js';
import { call, db, leafMap, seedPlain } from './helpers/data.js';
import { Replication } from '../../src/replicator/replicator.js';
import { ReplicatorManager } from '../../src/replicator/manager.js';
import { HttpPeer } from '../../src/replicator/http-peer.js';
import { replicationIds } from '../../src/replicator/replication-id.js';
import { compareReplicationLogs } from '../../src/replicator/checkpoint.js';

let a: PouchServer;
let b: PouchServer;
before(async () => {
  [a, b] = await Promise.all([startPouchServer(), startPouchServer()]);
});
after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

async function waitFor(cond: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('target unavailable mid-run', () => {
  test('connections reset for a while: requests are retried and the run completes', async () => {
    const src = db(await a.createDb('outage'));
    await seedPlain(src, 3000);
    const proxy = await startProxy(b.port);
    try {
      const rep = new Replication({
        source: src.url, target: proxy.url('/outage'), createTarget: true, batchSize: 100, workers: 2, nodeUuid: 'n',
        http: { backoff: { initialMs: 100, maxMs: 400, retries: 20, jitter: 0 } },
      });
      const done = rep.start();
      await waitFor(() => rep.stats.docs_written >= 500);
      proxy.down();
      await new Promise((r) => setTimeout(r, 1200));
      proxy.up();
      const res = await done;
      assert.equal(res.stats.docs_written, 3000);
      assert.ok(res.stats.retries > 0, 'requests were retried');
      assert.equal((await leafMap(db(`${b.base}/outage`))).size, 3000);
    } finally {
      await proxy.close();
    }
  });

  test('503 from the target for a while: retried with backoff', async () => {
    const src = db(await a.createDb('busy'));
    await seedPlain(src, 500);
    const proxy = await startProxy(b.port);
    try {
      let refused = 0;
      proxy.failWith((req) => {
        if (req.method !== 'POST' || !(req.url ?? '').includes('_bulk_docs') || refused >= 3) return false;
        refused++;
        return true;
      }, 503);
      const res = await new Replication({
        source: src.url, target: proxy.url('/busy'), createTarget: true, batchSize: 100, nodeUuid: 'n',
        http: { backoff: { initialMs: 50, maxMs: 200, retries: 5, jitter: 0 } },
      }).start();
      assert.equal(refused, 3);
      assert.equal(res.stats.retries, 3);
      assert.equal(res.stats.docs_written, 500);
    } finally {
      await proxy.close();
    }
  });

  test('an outage longer than the retry budget: the job crashes, restarts and resumes', async () => {
    const src = db(await a.createDb('long-outage'));
    await seedPlain(src, 2000);
    const proxy = await startProxy(b.port);
    const m = new ReplicatorManager({
      nodeUuid: 'n',
      defaults: { batchSize: 100, checkpointIntervalMs: 50, http: { backoff: { initialMs: 20, maxMs: 40, retries: 2, jitter: 0 } } },
      restartBackoff: { initialMs: 200, maxMs: 400, retries: Infinity, jitter: 0 },
    });
    try {
      await m.replicatorDocChanged('_replicator', 'j', { source: src.url, target: proxy.url('/long-outage'), create_target: true, continuous: true });
      await waitFor(() => m.activeTasks().some((t) => Number(t.docs_written) >= 300));
      proxy.down();
      await waitFor(() => m.schedulerDocs('_replicator', 'j')!.state === 'crashing');
      assert.ok(Number(m.schedulerDocs('_replicator', 'j')!.error_count) >= 1);
      proxy.up();
      await waitFor(async () => (await leafMap(db(`${b.base}/long-outage`))).size === 2000);
      const job = (m.schedulerJobs() as { jobs: Array<{ history: Array<{ type: string }> }> }).jobs[0]!;
      assert.ok(job.history.some((e) => e.type === 'crashed'));
    } finally {
      await m.close();
      await proxy.close();
    }
  });
});

describe('replicator killed, then started again', () => {
  test('the second run starts from the checkpoint and re-reads nothing before it', async () => {
    const N = 20_000;
    const src = db(await a.createDb('killed'));
    await seedPlain(src, N);
    const tgtUrl = `${b.base}/killed`;
    const node = 'kill-test-node';
    const args = ['--import', 'tsx', 'test/replicator/helpers/cli-main.ts', 'replicate', src.url, tgtUrl,
      '--create-target', '--batch-size', '100', '--workers', '2', '--checkpoint-interval', '50', '--node-uuid', node, '--no-progress'];
    const peers = [new HttpPeer(src.url), new HttpPeer(tgtUrl)];
    const { checkpointId } = replicationIds({ nodeUuid: node, source: peers[0]!.endpoint, target: peers[1]!.endpoint, createTarget: true });
    await Promise.all(peers.map((p) => p.close()));

    const first = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => first.once('exit', (code) => r(code)));
    await waitFor(async () => {
      const log = await call(db(tgtUrl), 'GET', `/${checkpointId}`);
      return log.status === 200 && Number((log.json as Record<string, unknown>).source_last_seq) >= 3000;
    });
    first.kill('SIGKILL');
    assert.equal(await exited, null, 'killed, not finished');
    const [srcLog, tgtLog] = await Promise.all([call(src, 'GET', `/${checkpointId}`), call(db(tgtUrl), 'GET', `/${checkpointId}`)]);
    const { startSeq } = compareReplicationLogs(srcLog.json as Record<string, unknown>, tgtLog.json as Record<string, unknown>);
    assert.ok(Number(startSeq) >= 3000 && Number(startSeq) < N, `checkpoint at ${String(startSeq)}`);

    const second = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    second.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((r) => second.once('exit', (c) => r(c)));
    assert.equal(code, 0, out);
    const summary = JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
    assert.equal(summary.changes_read, N - Number(startSeq), 'only changes after the checkpoint are read');
    assert.ok(summary.docs_written <= N - Number(startSeq));
    assert.equal(summary.checkpointed_source_seq, N);
    assert.equal((await leafMap(db(tgtUrl))).size, N);
  });
});
