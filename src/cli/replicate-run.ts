/**
 * The run of `freshet replicate` (arguments and help in replicate.ts): the replication, its
 * progress bar, restarts of a continuous one, the summary JSON. Its own module so that other
 * commands (`freshet serve`) do not load the replicator and its HTTP client at start.
 */
import cliProgress from 'cli-progress';
import { Replication, type ReplicationOptions, type ReplicationResult } from '../replicator/replicator.js';
import { errorText, isReplicationError } from '../replicator/errors.js';
import { redactUrl } from '../replicator/http-client.js';
import { policyDelay, sleep } from '../common/backoff.js';
import { DEFAULT_FEED_BACKOFF } from '../replicator/retry.js';
import { cliLogger } from './common.js';
import type { ReplicateFlags } from './replicate.js';

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

/**
 * The cause of a failed run on stderr, whatever the log level, as every other command ends
 * (`freshet: ...`, entry.ts): the summary on stdout is for programs, this line for the operator.
 */
function failed(err: unknown): void {
  process.stderr.write(`freshet: replication failed: ${errorText(err)}\n`);
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
          failed(err);
          return 1;
        }
        attempt++;
        const delay = policyDelay(DEFAULT_FEED_BACKOFF, attempt);
        logger.warn({ err: errorText(err), attempt, delay }, 'replication crashed; restarting from the last checkpoint');
        await sleep(delay, stopper.signal);
        if (stopper.signal.aborted) {
          progress.stop();
          process.stdout.write(`${JSON.stringify(summary(undefined, rep, startedMs, err))}\n`);
          failed(err);
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
