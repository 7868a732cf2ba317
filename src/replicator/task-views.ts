/**
 * The JSON CouchDB shows for replication jobs (api/server/common.rst `/_active_tasks`,
 * `/_scheduler/jobs`, `/_scheduler/docs`; replication/replicator.rst). Field names and shapes
 * follow CouchDB 3.x so that tools (Fauxton, scripts) read Freshet's like CouchDB's.
 */
import { redactUrl } from './http-client.js';
import { DEFAULT_CHECKPOINT_INTERVAL_MS } from './checkpoint.js';
import type { ReplicationJob, JobState } from './job.js';
import type { ReplicationStats } from './stats.js';

const unix = (d: Date): number => Math.floor(d.getTime() / 1000);
const iso = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function statsOf(job: ReplicationJob): ReplicationStats | undefined {
  return job.current?.stats ?? job.result?.stats;
}

/** The `info` object of a running job (scheduler docs/jobs). */
function info(job: ReplicationJob): Record<string, unknown> | null {
  const s = statsOf(job);
  if (!s) return null;
  return {
    revisions_checked: s.missing_checked,
    missing_revisions_found: s.missing_found,
    docs_read: s.docs_read,
    docs_written: s.docs_written,
    changes_pending: s.pending,
    doc_write_failures: s.doc_write_failures,
    checkpointed_source_seq: s.checkpointed_source_seq,
    source_seq: s.source_seq,
    through_seq: s.through_seq,
  };
}

export function activeTaskJson(job: ReplicationJob, node: string): Record<string, unknown> {
  const s = statsOf(job);
  const rep = job.current;
  const source = rep?.source as { bulkGetStats?: { docs: number; attempts: number } } | undefined;
  return {
    type: 'replication',
    node,
    pid: job.pid,
    replication_id: job.id,
    doc_id: job.origin?.docId ?? null,
    database: job.origin?.database ?? null,
    user: job.user,
    source: redactUrl(job.source),
    target: redactUrl(job.target),
    continuous: job.request.continuous,
    started_on: unix(job.startTime),
    updated_on: unix(job.lastUpdated),
    checkpoint_interval: rep?.opts.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS,
    changes_pending: s?.pending ?? null,
    checkpointed_source_seq: s?.checkpointed_source_seq ?? 0,
    doc_write_failures: s?.doc_write_failures ?? 0,
    docs_read: s?.docs_read ?? 0,
    docs_written: s?.docs_written ?? 0,
    missing_revisions_found: s?.missing_found ?? 0,
    revisions_checked: s?.missing_checked ?? 0,
    source_seq: s?.source_seq ?? 0,
    through_seq: s?.through_seq ?? 0,
    bulk_get_docs: source?.bulkGetStats?.docs ?? 0,
    bulk_get_attempts: source?.bulkGetStats?.attempts ?? 0,
  };
}

export function schedulerJobJson(job: ReplicationJob, node: string): Record<string, unknown> {
  return {
    database: job.origin?.database ?? null,
    id: job.id,
    pid: job.state === 'running' ? job.pid : null,
    source: redactUrl(job.source),
    target: redactUrl(job.target),
    user: job.user,
    doc_id: job.origin?.docId ?? null,
    info: info(job),
    history: job.history,
    node,
    start_time: iso(job.startTime),
    state: job.state,
  };
}

export function schedulerDocJson(
  doc: { database: string; docId: string; jobId?: string; error?: string; state?: JobState },
  job: ReplicationJob | undefined,
  node: string,
): Record<string, unknown> {
  const state = job?.state ?? doc.state ?? 'failed';
  const error = doc.error ?? (state === 'crashing' || state === 'failed' ? job?.lastError : undefined);
  return {
    database: doc.database,
    doc_id: doc.docId,
    id: doc.jobId ?? null,
    node,
    source: job ? redactUrl(job.source) : null,
    target: job ? redactUrl(job.target) : null,
    state,
    info: error !== undefined ? { error } : job ? info(job) : null,
    error_count: job?.errorCount ?? (doc.error ? 1 : 0),
    last_updated: iso(job?.lastUpdated ?? new Date()),
    start_time: job ? iso(job.startTime) : null,
  };
}

/** One job as the metrics and `freshet stats` report it (src/metrics/). */
export interface ReplicationSummary {
  readonly id: string;
  readonly source: string;
  readonly target: string;
  readonly state: JobState;
  readonly continuous: boolean;
  readonly docsRead: number;
  readonly docsWritten: number;
  readonly docFailures: number;
  readonly checkpointedSeq: unknown;
  /** Changes the source says are left; null when it cannot tell. */
  readonly pending: number | null;
}

export function replicationSummary(job: ReplicationJob): ReplicationSummary {
  const s = statsOf(job);
  return {
    id: job.id,
    source: redactUrl(job.source),
    target: redactUrl(job.target),
    state: job.state,
    continuous: job.request.continuous,
    docsRead: s?.docs_read ?? 0,
    docsWritten: s?.docs_written ?? 0,
    docFailures: s?.doc_write_failures ?? 0,
    checkpointedSeq: s?.checkpointed_source_seq ?? 0,
    pending: s?.pending ?? null,
  };
}
