/**
 * The memory phase of `bench dcp` (issue 16: "memory while a consumer is stalled and 2M writes go
 * in: server RSS < 300 MB"). A `freshet serve` child (the built command, so its RSS is the
 * server's alone, without the TypeScript loader) on a temp data dir; a DCP consumer connects,
 * opens all 1024 streams from seqno 0 and then stops reading (socket paused: no reads, no buffer
 * acks), and BENCH_MEM_WRITES plain 100-byte SETs go in pipelined (bench/kv-load.ts, 4 x 64 in
 * flight). VmRSS of the child is sampled from /proc/PID/status every 50 ms during the writes and
 * BENCH_MEM_SETTLE seconds after (the flusher catching up); the peak is printed with the target.
 *
 *   BENCH_MEM_WRITES   writes (default 2,000,000; 0 skips the phase)
 *   BENCH_MEM_KEYS     distinct keys they cycle over (default 100,000): memory held for a stalled
 *                      consumer is what is measured; every distinct key also costs its entry in
 *                      the resident key directory (about 150 bytes), as Couchbase keeps metadata
 *   BENCH_MEM_SETTLE   seconds sampled after the last write (default 3)
 *   BENCH_MEM_CONSUMER 0 to run without the stalled consumer (the same writes, for comparison)
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { once } from 'node:events';
import { MinimalConsumer, openDcp, streamAll, USER } from './dcp-consumer.js';
import { env, errorNote, load, type LoadResult } from './kv-load.js';
import { fmt, line, rate } from './report.js';
import { spawnFreshet } from './serve.js';

const VBUCKETS = 1024;
const TARGET_MB = 300;

interface Rss {
  /** VmRSS, MB. */
  readonly total: number;
  /** RssAnon (heap, buffers) and RssFile (mapped files: LMDB's pages, the binary), MB. */
  readonly anon: number;
  readonly file: number;
}

function rss(pid: number): Rss {
  let status = '';
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    // no /proc (not Linux) or the child is gone: NaN figures
  }
  const mb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024;
  return { total: mb('VmRSS'), anon: mb('RssAnon'), file: mb('RssFile') };
}

const show = (r: Rss): string => `${r.total.toFixed(0)} MB (anon ${r.anon.toFixed(0)}, file ${r.file.toFixed(0)})`;

export async function memoryPhase(): Promise<void> {
  const writes = env('BENCH_MEM_WRITES', 2_000_000);
  if (writes <= 0) return;
  const settleMs = env('BENCH_MEM_SETTLE', 3) * 1000;
  const server = await spawnFreshet({ vbuckets: VBUCKETS, packaged: true });
  try {
    const stalled = env('BENCH_MEM_CONSUMER', 1) !== 0;
    const socket = connect({ host: '127.0.0.1', port: server.ports.kv });
    await once(socket, 'connect');
    if (stalled) {
      const consumer = new MinimalConsumer(socket);
      await openDcp(consumer, 'default', 'bench-stalled');
      await streamAll(consumer, VBUCKETS);
      socket.pause(); // stalled: nothing read, so nothing acknowledged either
    }

    const baseline = rss(server.pid);
    let peak = baseline;
    const sample = (): void => {
      const now = rss(server.pid);
      if (now.total > peak.total) peak = now;
    };
    const timer = setInterval(sample, 50);
    let r: LoadResult;
    try {
      const keys = Math.min(writes, env('BENCH_MEM_KEYS', 100_000));
      const job = { port: server.ports.kv, auth: { user: USER.username, password: USER.password, bucket: 'default' }, op: 'set' as const, durability: null, connections: 4, depth: 64, ms: 0, once: true, valueSize: 100, numVBuckets: VBUCKETS };
      r = { ops: 0, errors: 0, statuses: {}, ms: 0, cpuMs: 0 };
      for (let done = 0; done < writes; done += keys) {
        const round = await load(job, Math.min(keys, writes - done), 1);
        const statuses: Record<string, number> = { ...r.statuses };
        for (const [k, n] of Object.entries(round.statuses)) statuses[k] = (statuses[k] ?? 0) + n;
        r = { ops: r.ops + round.ops, errors: r.errors + round.errors, statuses, ms: r.ms + round.ms, cpuMs: r.cpuMs + round.cpuMs };
      }
      await new Promise((resolve) => setTimeout(resolve, settleMs));
    } finally {
      clearInterval(timer);
    }
    sample();
    const after = rss(server.pid);
    line(`memory: writes, ${stalled ? 'DCP consumer stalled' : 'no DCP consumer'}`, `${fmt(r.ops)} x 100 bytes at ${fmt(rate(r.ops, r.ms))}/s${errorNote(r)}`);
    line('  server RSS peak (freshet serve child)', `${show(peak)} (target < ${TARGET_MB} MB)`);
    line('  server RSS before / after', `${show(baseline)} / ${show(after)} ${(settleMs / 1000).toFixed(0)} s after the last write`);
    socket.destroy();
  } finally {
    await server.stop();
  }
}
