/**
 * The Prometheus families of one server, in a registry of its own (never prom-client's global
 * one: tests run several servers in one process). Every family is read at scrape time from the
 * counters the engine and the faces keep (sources.ts) through prom-client `collect()` callbacks,
 * so the request paths never call prom-client. Names are prefixed `freshet_`; the process
 * defaults (RSS, heap, event-loop lag, GC) come from `collectDefaultMetrics` with the same prefix.
 * Couchbase 7 serves its own families on `GET /metrics` of the management port and CouchDB 3 on
 * `GET /_node/_local/_prometheus`; Freshet serves this registry at both.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { opcodeName } from '../codec/opcodes.js';
import { statusName } from '../codec/status.js';
import { RawHistogram, type LabelledHistogram } from './raw-histogram.js';
import { bucketSummaries, dcpSummaries, type BucketSummary, type MetricSources } from './sources.js';

type Labels = Record<string, string>;
type Reading = ReadonlyArray<readonly [Labels, number]>;

export function buildRegistry(src: MetricSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'freshet_' });
  // prom-client's CPU counters add the CPU used since they were registered (processCpuTotal.js
  // keeps the process.cpuUsage() of that moment), and the registry is built at the first scrape:
  // start them at the CPU used so far, so they are totals since the process started, as
  // process_cpu_seconds_total is defined (and as the plain process collectors report it).
  const cpu = process.cpuUsage();
  for (const [name, micros] of [['user', cpu.user], ['system', cpu.system], ['', cpu.user + cpu.system]] as const) {
    const counter = registry.getSingleMetric(`freshet_process_cpu_${name === '' ? '' : `${name}_`}seconds_total`);
    if (counter instanceof Counter) counter.inc(micros / 1e6);
  }

  /** A gauge (or counter) whose label sets are replaced on each scrape by `read()`. */
  const family = (kind: 'gauge' | 'counter', name: string, help: string, labelNames: string[], read: () => Reading): void => {
    const collect = function (this: Gauge | Counter): void {
      this.reset();
      for (const [labels, value] of read()) {
        if (this instanceof Gauge) this.set(labels, value);
        else this.inc(labels, value);
      }
    };
    if (kind === 'gauge') new Gauge({ name, help, labelNames, registers: [registry], collect });
    else new Counter({ name, help, labelNames, registers: [registry], collect });
  };
  const one = (value: number): Reading => [[{}, value]];

  // ---- KV --------------------------------------------------------------------------------------
  family('counter', 'freshet_kv_ops_total', 'KV requests by opcode and reply status', ['opcode', 'status'], () => {
    const ops = src.kv?.ops;
    if (!ops) return [];
    return [...ops.byStatus()].map(([key, n]) => [{ opcode: opcodeName(key >>> 16), status: statusName(key & 0xffff) }, n] as const);
  });
  new RawHistogram(registry, 'freshet_kv_op_duration_seconds', 'KV request latency by opcode (to the reply; durable writes until on disk)', ['opcode'], () => {
    const out: LabelledHistogram[] = [];
    src.kv?.ops.timings.forEach((h, op) => {
      if (h) out.push({ labels: { opcode: opcodeName(op) }, histogram: h });
    });
    return out;
  });
  family('gauge', 'freshet_kv_connections', 'Open KV connections', [], () => one(src.kv?.connections ?? 0));
  family('counter', 'freshet_kv_get_hits_total', 'Client GETs that found the document', [], () => one(src.kv?.ops.getHits ?? 0));
  family('counter', 'freshet_kv_get_misses_total', 'Client GETs that did not find the document', [], () => one(src.kv?.ops.getMisses ?? 0));

  // ---- buckets and persistence -----------------------------------------------------------------
  // One scan per scrape: the bucket families share the reading of the first to collect.
  let buckets: { at: number; list: BucketSummary[] } | undefined;
  const readBuckets = (): BucketSummary[] => {
    const now = Date.now();
    if (!buckets || now - buckets.at > 500) buckets = { at: now, list: bucketSummaries(src) };
    return buckets.list;
  };
  const perBucket = (name: string, help: string, pick: (b: BucketSummary) => number, kind: 'gauge' | 'counter' = 'gauge'): void =>
    family(kind, name, help, ['bucket'], () => readBuckets().map((b) => [{ bucket: b.name }, pick(b)] as const));
  perBucket('freshet_bucket_items', 'Live documents per bucket', (b) => b.items);
  perBucket('freshet_bucket_tombstones', 'Deleted documents (tombstones not purged yet) per bucket', (b) => b.tombstones);
  perBucket('freshet_bucket_disk_bytes', 'Bytes of the bucket\'s document indexes in LMDB', (b) => b.bytes);
  perBucket('freshet_bucket_high_seqno', 'Sum over the bucket\'s vbuckets of the high seqno', (b) => b.highSeqnoSum);
  perBucket('freshet_bucket_persisted_seqno', 'Sum over the bucket\'s vbuckets of the persisted seqno', (b) => b.persistedSeqnoSum);
  perBucket('freshet_bucket_persistence_lag', 'High seqno minus persisted seqno, summed over the bucket\'s vbuckets', (b) => b.persistenceLag);
  perBucket('freshet_bucket_record_cache_hits_total', 'Reads of a current version served from the record cache', (b) => b.recordCacheHits, 'counter');
  perBucket('freshet_bucket_bg_fetches_total', 'Reads of a current version served from LMDB (kv_engine ep_bg_fetched)', (b) => b.bgFetches, 'counter');

  const writer = src.engine.store.writer;
  family('counter', 'freshet_storage_flush_batches_total', 'LMDB transactions committed (group commits)', [], () => one(writer.commits));
  family('counter', 'freshet_storage_flushed_ops_total', 'Write operations in committed transactions', [], () => one(writer.committedOps));
  family('counter', 'freshet_storage_flush_failures_total', 'Group commits that failed', [], () => one(writer.failedCommits));
  new RawHistogram(registry, 'freshet_storage_fsync_seconds', 'From commit to on disk, per group commit', [], () => [{ labels: {}, histogram: writer.flushLatency }]);
  family('gauge', 'freshet_storage_healthy', '1 while storage writes succeed, 0 while they fail (full disk)', [], () => one(src.engine.store.health.state === 'healthy' ? 1 : 0));

  // ---- DCP ---------------------------------------------------------------------------------------
  family('gauge', 'freshet_dcp_connections', 'Open DCP producer connections per bucket', ['bucket'], () => {
    const byBucket = new Map<string, number>(src.engine.buckets().map((b) => [b.name, 0]));
    for (const c of dcpSummaries(src)) byBucket.set(c.bucket, (byBucket.get(c.bucket) ?? 0) + 1);
    return [...byBucket].map(([bucket, n]) => [{ bucket }, n] as const);
  });
  const perConn = (kind: 'gauge' | 'counter', name: string, help: string, pick: (c: ReturnType<typeof dcpSummaries>[number]) => number): void =>
    family(kind, name, help, ['bucket', 'connection'], () => dcpSummaries(src).map((c) => [{ bucket: c.bucket, connection: c.name }, pick(c)] as const));
  perConn('gauge', 'freshet_dcp_streams', 'Streams open on a DCP connection', (c) => c.streams);
  perConn('counter', 'freshet_dcp_items_sent_total', 'Items (mutations, deletions, expirations) sent on a DCP connection', (c) => c.itemsSent);
  perConn('gauge', 'freshet_dcp_bytes_buffered', 'Bytes sent and not yet acknowledged (flow control)', (c) => c.bytesBuffered);
  perConn('gauge', 'freshet_dcp_items_remaining', 'Seqnos the connection\'s streams have still to send (consumer lag)', (c) => c.itemsRemaining);

  // ---- CouchDB face: feeds, requests, replications ------------------------------------------------
  family('gauge', 'freshet_changes_feeds_open', 'Open _changes feeds by mode', ['mode'], () =>
    Object.entries(src.http?.feedsByMode() ?? {}).map(([mode, n]) => [{ mode }, n] as const));
  family('counter', 'freshet_http_requests_total', 'CouchDB API requests by method', ['method'], () =>
    Object.entries(src.http?.stats.methods ?? {}).map(([method, n]) => [{ method }, n] as const));
  family('counter', 'freshet_http_responses_total', 'CouchDB API replies by status code', ['code'], () =>
    Object.entries(src.http?.stats.statusCodes ?? {}).map(([code, n]) => [{ code }, n] as const));
  const jobs = () => src.http?.replicator?.summaries() ?? [];
  const perJob = (name: string, help: string, pick: (j: ReturnType<typeof jobs>[number]) => number | null): void =>
    family('gauge', name, help, ['replication_id'], () =>
      jobs().flatMap((j) => {
        const v = pick(j);
        return v === null ? [] : [[{ replication_id: j.id }, v] as const];
      }));
  family('gauge', 'freshet_replication_jobs', 'Replication jobs by state', ['state'], () => {
    const byState: Record<string, number> = {};
    for (const j of jobs()) byState[j.state] = (byState[j.state] ?? 0) + 1;
    return Object.entries(byState).map(([state, n]) => [{ state }, n] as const);
  });
  perJob('freshet_replication_docs_read', 'Documents a replication job read from its source', (j) => j.docsRead);
  perJob('freshet_replication_docs_written', 'Documents a replication job wrote to its target', (j) => j.docsWritten);
  perJob('freshet_replication_doc_write_failures', 'Documents the target refused', (j) => j.docFailures);
  perJob('freshet_replication_pending', 'Changes the source reports as left to replicate', (j) => j.pending);
  perJob('freshet_replication_checkpointed_seq', 'Source seq of the last checkpoint (numeric seqs only)', (j) =>
    typeof j.checkpointedSeq === 'number' ? j.checkpointedSeq : null);

  // ---- auth --------------------------------------------------------------------------------------
  family('counter', 'freshet_auth_failures_total', 'Failed password checks by face', ['face'], () =>
    Object.entries(src.authThrottle.stats().failuresByFace).map(([face, n]) => [{ face }, n] as const));
  family('counter', 'freshet_auth_throttled_total', 'Login attempts answered after a throttle delay', [], () => one(src.authThrottle.stats().throttledAttempts));
  return registry;
}
