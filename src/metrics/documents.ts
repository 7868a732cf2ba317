/**
 * The two JSON documents of the metrics module:
 * - `summary`: `GET /freshet/stats` on the management port, read by `freshet stats` and meant to
 *   be polled by a console (rates are the poller's to derive from the counters);
 * - `couchStats`: `GET /_node/{node}/_stats` on the CouchDB port, in CouchDB's shape
 *   (`{group: {metric: {value, type, desc}}}`), with names and descriptions from CouchDB's
 *   src/couch/priv/stats_descriptions.cfg for the metrics Freshet has, and Freshet's own under
 *   `freshet`.
 */
import { bucketSummaries, dcpSummaries, kvSummary, type MetricSources } from './sources.js';

export function summary(src: MetricSources): Record<string, unknown> {
  const http = src.http;
  const health = src.engine.store.health;
  const writer = src.engine.store.writer;
  const throttle = src.authThrottle.stats();
  const feeds = http?.feedsByMode() ?? {};
  return {
    time: new Date().toISOString(),
    uptimeSeconds: Math.floor(process.uptime()),
    buckets: bucketSummaries(src),
    kv: kvSummary(src.kv),
    dcp: { connections: dcpSummaries(src) },
    feeds: { count: Object.values(feeds).reduce((a, b) => a + b, 0), byMode: feeds },
    replications: http?.replicator?.summaries() ?? [],
    storage: {
      state: health.state,
      writeFailures: health.writeFailures,
      recoveries: health.recoveries,
      lastError: health.lastError?.errno ?? null,
      flushBatches: writer.commits,
      flushedOps: writer.committedOps,
    },
    auth: { failedLogins: throttle.failedLogins, failuresByFace: throttle.failuresByFace, throttledAttempts: throttle.throttledAttempts, throttledAddresses: throttle.throttledAddresses },
    memory: process.memoryUsage(),
  };
}

interface Stat {
  value: number | string | null;
  type: 'counter' | 'gauge';
  desc: string;
}

const counter = (value: number, desc: string): Stat => ({ value, type: 'counter', desc });
const gauge = (value: number | string | null, desc: string): Stat => ({ value, type: 'gauge', desc });

export function couchStats(src: MetricSources): Record<string, unknown> {
  const http = src.http;
  const traffic = http?.docTraffic() ?? { reads: 0, writes: 0 };
  const methods = Object.fromEntries(Object.entries(http?.stats.methods ?? {}).map(([m, n]) => [m, counter(n, `number of HTTP ${m} requests`)]));
  const codes = Object.fromEntries(Object.entries(http?.stats.statusCodes ?? {}).map(([c, n]) => [c, counter(n, `number of HTTP ${c} responses`)]));
  const feeds = http?.feedsByMode() ?? {};
  const rep = http?.replicator?.totals() ?? { docsRead: 0, docsWritten: 0, docFailures: 0, jobs: 0 };
  const jobs = http?.replicator?.summaries() ?? [];
  const health = src.engine.store.health;
  const writer = src.engine.store.writer;
  return {
    couchdb: {
      database_reads: counter(traffic.reads, 'number of times a document was read from a database'),
      database_writes: counter(traffic.writes, 'number of times a database was changed'),
      open_databases: counter(http?.openDatabases ?? 0, 'number of open databases'),
      commits: counter(writer.commits, 'number of commits performed'),
      auth_cache_hits: counter(http?.couchUsers.stats.authCacheHits ?? 0, 'number of authentication cache hits'),
      auth_cache_misses: counter(http?.couchUsers.stats.authCacheMisses ?? 0, 'number of authentication cache misses'),
      password_hashing_fast: counter(http?.passwords.stats.fast ?? 0, 'number of fast password hashing operations'),
      password_hashing_slow: counter(http?.passwords.stats.slow ?? 0, 'number of slow password hashing operations'),
      httpd: {
        requests: counter(http?.stats.requests ?? 0, 'number of HTTP requests'),
        clients_requesting_changes: counter(feeds.continuous ?? 0, 'number of clients for continuous _changes'),
      },
      httpd_request_methods: methods,
      httpd_status_codes: codes,
    },
    couch_replicator: {
      jobs: {
        running: gauge(jobs.filter((j) => j.state === 'running').length, 'replicator scheduler running jobs'),
        pending: gauge(jobs.filter((j) => j.state === 'pending').length, 'replicator scheduler pending jobs'),
        crashed: gauge(jobs.filter((j) => j.state === 'crashing').length, 'replicator scheduler crashed jobs'),
        total: gauge(rep.jobs, 'total number of replicator scheduler jobs'),
      },
      docs_read: counter(rep.docsRead, 'number of documents read by replications since start'),
      docs_written: counter(rep.docsWritten, 'number of documents written by replications since start'),
      doc_write_failures: counter(rep.docFailures, 'number of documents the targets of replications refused'),
    },
    freshet: {
      storage: { state: health.state, write_failures: health.writeFailures, recoveries: health.recoveries, last_error: health.lastError?.errno ?? null },
      changes_feeds: Object.fromEntries(Object.entries(feeds).map(([mode, n]) => [mode, gauge(n, `number of open ${mode} _changes feeds`)])),
    },
  };
}
