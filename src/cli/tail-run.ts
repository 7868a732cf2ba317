/**
 * The run of `freshet tail` (options and help in tail.ts): the change stream, its connection
 * problems reported once per cause, the progress bar of a bounded run, stdout backpressure. Its
 * own module so that other commands (`freshet serve`) do not load the consumer at start.
 */
import { once } from 'node:events';
import cliProgress from 'cli-progress';
import { openChangeStream, SILENT_LOGGER, type ChangeStream, type ConsumerLogger } from '../consumer/index.js';
import type { LogFn, Logger } from '../common/logger.js';
import { changeToJsonLine } from '../consumer/change-json.js';
import type { ChangeEvent } from '../consumer/index.js';
import { ConsumerError, type ConsumerErrorKind } from '../consumer/errors.js';
import { cliLogger } from './common.js';
import type { TailFlags } from './tail.js';

/** The errors of a failure, outermost first (AllServerURLsConnectBucketError wraps the real one). */
function causes(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = err; e !== undefined && e !== null && out.length < 8; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}

/** Why a run cannot succeed however long it retries, or undefined for a transient failure. */
export function fatalCause(err: unknown, hasCredentials: boolean): string | undefined {
  const chain = causes(err);
  const code = (k: ConsumerErrorKind): ConsumerError | undefined => chain.find((e): e is ConsumerError => e instanceof ConsumerError && e.kind === k);
  const auth = code('AUTH_FAIL');
  const missing = code('BUCKET_NOT_FOUND');
  const hint = 'give -u/--username and -p/--password (or FRESHET_USERNAME and FRESHET_PASSWORD)';
  if (!hasCredentials && (auth || missing)) return `no credentials: ${hint}`;
  if (auth) return `authentication failed (${auth.message}): check -u/--username and -p/--password`;
  if (missing) return `the bucket does not exist or this user may not read it (${missing.message})`;
  if (code('BUCKET_UUID')) return chain.map((e) => (e instanceof Error ? e.message : String(e))).join(': ');
  const names = code('UNKNOWN_COLLECTION') ?? code('UNKNOWN_SCOPE') ?? code('COLLECTIONS_UNSUPPORTED');
  if (names) return names.message;
  const noActive = code('NO_ACTIVE');
  const beyond = noActive?.context.beyond;
  // (an empty map, a bucket not ready yet, names no count: that one is retried)
  if (Array.isArray(beyond) && beyond.length > 0 && Number(noActive!.context.numVBuckets) > 0) {
    return `the bucket has ${String(noActive!.context.numVBuckets)} vbuckets (0-${Number(noActive!.context.numVBuckets) - 1}); there is no vbucket ${beyond.join(', ')}`;
  }
  return undefined;
}

/** The innermost message of a failure (`connect ECONNREFUSED 127.0.0.1:1`). */
function rootMessage(err: unknown): string {
  const last = causes(err).at(-1);
  return last instanceof Error ? last.message : String(last);
}

/**
 * Connection problems, once per change of cause: the consumer retries every few hundred
 * milliseconds and reports each attempt; an operator needs each new state once.
 */
class ProblemReporter {
  #last: string | undefined;
  constructor(private readonly log: Logger) {}

  problem(err: unknown): void {
    const cause = rootMessage(err);
    if (cause === this.#last) return;
    this.#last = cause;
    this.log.warn({ cause, code: (err as { code?: unknown }).code }, `cannot stream yet, retrying: ${cause}`);
  }

  connected(server: string): void {
    if (this.#last === undefined) return;
    this.#last = undefined;
    this.log.info({ server }, 'connected');
  }

  get lastCause(): string | undefined {
    return this.#last;
  }

  /**
   * The consumer's own log. A warning with a `code` repeats an error that also reaches onError
   * (bucket-data-source.ts), which reports it once per cause; the others (unknown DCP messages)
   * are logged as they come.
   */
  consumerLogger(): ConsumerLogger {
    const warn: LogFn = (fieldsOrMsg: object | string, msg?: string): void => {
      if (typeof fieldsOrMsg === 'string') this.log.warn(fieldsOrMsg);
      else if (!('code' in fieldsOrMsg)) this.log.warn(fieldsOrMsg, msg);
    };
    const logger: ConsumerLogger = { ...SILENT_LOGGER, warn, error: warn, child: () => logger };
    return logger;
  }
}

/** Seqnos covered per vbucket, for the progress bar of a bounded run. */
class SeqnoProgress {
  readonly #start = new Map<number, number>();
  readonly #end = new Map<number, number>();
  readonly #at = new Map<number, number>();
  total = 0;
  value = 0;

  requested(vb: number, start: number, end: number): void {
    if (!Number.isFinite(end) || this.#start.has(vb)) return;
    this.#start.set(vb, start);
    this.#end.set(vb, end);
    this.#at.set(vb, start);
    this.total += Math.max(0, end - start);
  }

  seen(vb: number, seqno: number): void {
    const at = this.#at.get(vb);
    const end = this.#end.get(vb);
    if (at === undefined || end === undefined) return;
    const next = Math.min(Math.max(at, seqno), end);
    this.value += next - at;
    this.#at.set(vb, next);
  }

  finished(vb: number): void {
    const end = this.#end.get(vb);
    if (end !== undefined) this.seen(vb, end);
  }
}

export async function runTail(url: string, flags: TailFlags): Promise<void> {
  const credentials = flags.username !== undefined ? { username: flags.username, password: flags.password ?? '' } : undefined;
  const log = cliLogger(flags.quiet ? 'silent' : flags.logLevel);
  const reporter = new ProblemReporter(log);
  let fatal: Error | undefined;
  const giveUp = (reason: string): void => {
    fatal ??= new Error(reason);
    void stream.close();
  };
  const stream: ChangeStream = openChangeStream({
    seeds: [url],
    ...(flags.bucket !== undefined ? { bucket: flags.bucket } : {}),
    ...(credentials ? { credentials } : {}),
    ...(flags.vbuckets ? { vbuckets: flags.vbuckets } : {}),
    ...(flags.checkpoint !== undefined ? { checkpoint: flags.checkpoint } : {}),
    from: flags.from,
    to: flags.to,
    keysOnly: flags.keysOnly,
    ...(flags.collection !== undefined ? { collections: flags.collection } : {}),
    ...(flags.scope !== undefined ? { scope: flags.scope } : {}),
    logger: reporter.consumerLogger(),
    onError: (err) => {
      const why = fatalCause(err, credentials !== undefined);
      if (why !== undefined) giveUp(why);
      else reporter.problem(err);
    },
  });
  // A bounded run must end: without a connection within --connect-timeout it fails.
  const connectTimer =
    flags.to === 'now'
      ? setTimeout(
          () => giveUp(`no connection within ${flags.connectTimeout} s${reporter.lastCause === undefined ? '' : `: ${reporter.lastCause}`}`),
          flags.connectTimeout * 1000,
        )
      : undefined;

  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(130);
    stopping = true;
    void stream.close().catch(() => undefined);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') stop();
  });

  try {
    await stream.ready();
  } catch (err) {
    // an unreadable checkpoint: exit now, not once the --connect-timeout timer has run out
    clearTimeout(connectTimer);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    throw err;
  }
  stream.onStatus((s) => {
    if (s.type === 'connected') {
      clearTimeout(connectTimer);
      reporter.connected(s.server);
    } else if (s.type === 'disconnected' && s.error !== undefined) reporter.problem(s.error);
  });
  const progress = new SeqnoProgress();
  const bar =
    flags.to === 'now' && process.stderr.isTTY
      ? new cliProgress.SingleBar(
          { format: 'tail [{bar}] {percentage}% | {value}/{total} seqnos | {rate}/s | ETA {eta_formatted}', hideCursor: true, etaBuffer: 50 },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  const startedAt = Date.now();
  const named = flags.collection !== undefined || flags.scope !== undefined;
  let printed = 0;
  let barStarted = false;
  if (bar) {
    stream.onStatus((s) => {
      if (s.type === 'stream-requested') progress.requested(s.vbucket, s.startSeqno, s.endSeqno);
      else if (s.type === 'stream-end') progress.finished(s.vbucket);
      else return;
      // started once a total is known, so it never shows a bogus 100% of nothing
      if (!barStarted && progress.total > 0) {
        barStarted = true;
        bar.start(progress.total, progress.value, { rate: 0 });
      } else if (barStarted) bar.setTotal(progress.total);
    });
  }
  const tick = bar
    ? setInterval(() => barStarted && bar.update(progress.value, { rate: Math.round((printed * 1000) / Math.max(1, Date.now() - startedAt)) }), 250)
    : undefined;

  try {
    for await (const change of stream as AsyncIterable<ChangeEvent>) {
      if (!process.stdout.write(changeToJsonLine(change, flags.keysOnly, named))) await once(process.stdout, 'drain');
      printed++;
      if (change.type !== 'rollback') progress.seen(change.vbucket, change.seqno);
      if (stopping) break;
    }
  } catch (err) {
    // the stream's own fatal errors (refused credentials) end the iterator: same message as ours
    throw new Error(fatalCause(err, credentials !== undefined) ?? (err instanceof Error ? err.message : String(err)));
  } finally {
    clearInterval(tick);
    clearTimeout(connectTimer);
    await stream.close();
    if (bar && barStarted) {
      bar.update(progress.value);
      bar.stop();
    }
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  if (fatal) throw fatal;
}
