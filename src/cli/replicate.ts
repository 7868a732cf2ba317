/**
 * `freshet replicate SOURCE TARGET`: run one replication between two CouchDB-compatible database
 * URLs (credentials in the URL: `http://user:pass@host:port/db`). A progress bar (docs/s, pending,
 * ETA) shows on a terminal; a summary JSON goes to stdout at the end.
 *
 * One-shot by default: exits 0 once caught up, 1 on failure (the summary then carries `error`).
 * `--continuous` keeps following the source until SIGINT/SIGTERM, restarting the replication with
 * backoff after a failure, from its last checkpoint (as CouchDB's scheduler restarts crashed jobs,
 * couch-replication.md §1.5).
 */
import { InvalidArgumentError, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { Replication, type ReplicationOptions, type ReplicationResult } from '../replicator/replicator.js';
import { errorText, isReplicationError } from '../replicator/errors.js';
import { redactUrl } from '../replicator/http-client.js';
import { policyDelay, sleep } from '../common/backoff.js';
import { DEFAULT_FEED_BACKOFF } from '../replicator/retry.js';
import { cliLogger, logLevelOption } from './common.js';

interface ReplicateFlags {
  continuous?: boolean;
  createTarget?: boolean;
  docIds?: string[];
  selector?: Record<string, unknown>;
  filter?: string;
  queryParams?: Record<string, string>;
  sinceSeq?: unknown;
  batchSize: number;
  workers: number;
  connections: number;
  checkpointInterval: number;
  feed: 'continuous' | 'longpoll';
  nodeUuid?: string;
  progress: boolean;
  logLevel: string;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function jsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('expected JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError('expected a JSON object');
  return parsed as Record<string, unknown>;
}

function docIds(value: string): string[] {
  const ids = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (ids.length === 0) throw new InvalidArgumentError('expected a comma-separated list of document ids');
  return ids;
}

/** A seq is JSON when it parses as JSON (numbers), else the raw string (CouchDB 2+ seqs). */
function seqArg(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function dbUrl(label: string, value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    // The CLI is a client of running servers: a server's LMDB environment belongs to its process,
    // so there is no local database to open here. A bare name is a local database only inside a
    // server (`POST /_replicate` with `"source": "db"`).
    const bare = /^[a-z_][a-z0-9_$()+/-]*$/.test(value)
      ? ` ("${value}" alone names a local database only in POST /_replicate on the server that holds it)`
      : '';
    throw new InvalidArgumentError(`${label} must be a database URL such as http://user:pass@127.0.0.1:5984/db${bare}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgumentError(`${label} must be an http(s) URL`);
  return value;
}

/** The progress bar: changes examined against changes examined + pending. */
class Progress {
  private readonly bar: cliProgress.SingleBar | undefined;
  private readonly started = Date.now();
  private begun = false;

  constructor(enabled: boolean) {
    if (!enabled) return;
    this.bar = new cliProgress.SingleBar(
      {
        format: '{bar} {percentage}% | {value}/{total} changes | {written} written | {speed} docs/s | pending {pending} | ETA {eta_formatted}',
        hideCursor: true,
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  update(r: Replication): void {
    if (!this.bar) return;
    const s = r.stats;
    const pending = s.pending ?? 0;
    const seconds = Math.max(0.001, (Date.now() - this.started) / 1000);
    const payload = { written: s.docs_written, speed: Math.round(s.docs_written / seconds), pending: s.pending ?? '?' };
    if (!this.begun) {
      this.bar.start(s.changes_read + pending, s.changes_read, payload);
      this.begun = true;
    }
    this.bar.setTotal(Math.max(s.changes_read + pending, 1));
    this.bar.update(s.changes_read, payload);
  }

  stop(): void {
    if (this.begun) this.bar?.stop();
  }
}

function summary(result: ReplicationResult | undefined, r: Replication, startedMs: number, error?: unknown): Record<string, unknown> {
  const elapsed = (Date.now() - startedMs) / 1000;
  const s = r.stats;
  return {
    ok: error === undefined,
    source: redactUrl(r.source.label),
    target: redactUrl(r.target.label),
    replication_id: r.ids?.repId ?? null,
    continuous: r.continuous,
    ...(result?.no_changes ? { no_changes: true } : {}),
    ...(result?.session_id ? { session_id: result.session_id, source_last_seq: result.source_last_seq } : {}),
    docs_read: s.docs_read,
    docs_written: s.docs_written,
    doc_write_failures: s.doc_write_failures,
    missing_checked: s.missing_checked,
    missing_found: s.missing_found,
    changes_read: s.changes_read,
    checkpointed_source_seq: s.checkpointed_source_seq,
    pending: s.pending,
    retries: s.retries,
    elapsed_s: Math.round(elapsed * 1000) / 1000,
    docs_per_s: Math.round(s.docs_written / Math.max(elapsed, 0.001)),
    ...(error !== undefined
      ? { error: isReplicationError(error) ? error.code : 'error', reason: errorText(error) }
      : {}),
  };
}

const STOP_GRACE_MS = 500;

export async function runReplicate(source: string, target: string, flags: ReplicateFlags): Promise<number> {
  const logger = cliLogger(flags.logLevel);
  const progress = new Progress(flags.progress && process.stderr.isTTY === true);
  const stopper = new AbortController();
  // A stop is graceful first (batches in flight finish, a last checkpoint is written); requests
  // still waiting after STOP_GRACE_MS (an unreachable peer being retried) are aborted, so the
  // command ends within a second of SIGINT/SIGTERM whatever it was doing.
  const hard = new AbortController();
  let graceTimer: NodeJS.Timeout | undefined;
  const onSignal = (): void => {
    stopper.abort();
    graceTimer ??= setTimeout(() => hard.abort(), STOP_GRACE_MS);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const opts: ReplicationOptions = {
    source,
    target,
    continuous: flags.continuous === true,
    createTarget: flags.createTarget === true,
    batchSize: flags.batchSize,
    workers: flags.workers,
    checkpointIntervalMs: flags.checkpointInterval,
    liveFeed: flags.feed,
    http: { maxConnections: flags.connections, signal: hard.signal },
    logger,
    onProgress: (r) => progress.update(r),
    ...(flags.docIds ? { docIds: flags.docIds } : {}),
    ...(flags.selector ? { selector: flags.selector } : {}),
    ...(flags.filter ? { filter: flags.filter } : {}),
    ...(flags.queryParams ? { queryParams: flags.queryParams } : {}),
    ...(flags.sinceSeq !== undefined ? { sinceSeq: flags.sinceSeq } : {}),
    ...(flags.nodeUuid ? { nodeUuid: flags.nodeUuid } : {}),
  };
  const startedMs = Date.now();
  let attempt = 0;
  try {
    for (;;) {
      const rep = new Replication({ ...opts, signal: stopper.signal });
      try {
        const result = await rep.start();
        progress.stop();
        process.stdout.write(`${JSON.stringify(summary(result, rep, startedMs))}\n`);
        return 0;
      } catch (err) {
        const restart = opts.continuous && !stopper.signal.aborted && (!isReplicationError(err) || err.retriable || err.kind === 'RETRIES_EXHAUSTED');
        if (!restart) {
          progress.stop();
          process.stdout.write(`${JSON.stringify(summary(undefined, rep, startedMs, err))}\n`);
          return 1;
        }
        attempt++;
        const delay = policyDelay(DEFAULT_FEED_BACKOFF, attempt);
        logger.warn({ err: errorText(err), attempt, delay }, 'replication crashed; restarting from the last checkpoint');
        await sleep(delay, stopper.signal);
        if (stopper.signal.aborted) {
          progress.stop();
          process.stdout.write(`${JSON.stringify(summary(undefined, rep, startedMs, err))}\n`);
          return 1;
        }
      }
    }
  } finally {
    clearTimeout(graceTimer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function registerReplicate(program: Command): void {
  program
    .command('replicate')
    .description('replicate a CouchDB-compatible database to another (CouchDB replication protocol)')
    .argument('<source>', 'source database URL, e.g. http://user:pass@127.0.0.1:5984/db', (v) => dbUrl('SOURCE', v))
    .argument('<target>', 'target database URL', (v) => dbUrl('TARGET', v))
    .option('--continuous', 'keep following the source until interrupted')
    .option('--create-target', 'create the target database if it is missing (once the source answered)')
    .option('--doc-ids <ids>', 'only these documents (comma-separated)', docIds)
    .option('--selector <json>', 'only documents matching this Mango selector', jsonObject)
    .option('--filter <ddoc/name>', 'a filter function of the source')
    .option('--query-params <json>', 'parameters for --filter', (v) => jsonObject(v) as Record<string, string>)
    .option('--since-seq <seq>', 'start here when there is no checkpoint', seqArg)
    .option('--batch-size <n>', 'changes per batch', positiveInt, 500)
    .option('--workers <n>', 'batches written in parallel', positiveInt, 4)
    .option('--connections <n>', 'HTTP connections per server', positiveInt, 8)
    .option('--checkpoint-interval <ms>', 'time between checkpoints', positiveInt, 5000)
    .option('--feed <mode>', 'live feed once caught up: continuous or longpoll', (v) => {
      if (v !== 'continuous' && v !== 'longpoll') throw new InvalidArgumentError('continuous or longpoll');
      return v;
    }, 'continuous')
    .option('--node-uuid <uuid>', 'identity of this replicator in the replication id (default: from the host name)')
    .option('--no-progress', 'no progress bar even on a terminal')
    .addOption(logLevelOption('warn'))
    .action(async (source: string, target: string, flags: ReplicateFlags) => {
      process.exitCode = await runReplicate(source, target, flags);
    });
}
