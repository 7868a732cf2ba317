/**
 * `freshet tail URL`: print every change of a bucket as one JSON object per line (the format is
 * described in src/consumer/change-json.ts), from Freshet or Couchbase Server.
 *
 *   freshet tail couchbase://127.0.0.1:11210/default -u Administrator -p password --to now
 *   freshet tail http://127.0.0.1:8091 --bucket default --from now
 *   freshet tail couchbase://127.0.0.1/default --checkpoint tail.json   # resumable
 *
 * - `--checkpoint FILE`: positions are saved there (atomically) after each complete snapshot,
 *   every second, and on exit; a rerun resumes right after the last change printed.
 * - `--to now` ends once every vbucket reached the high seqno it had at the start; when stderr is
 *   a terminal a progress bar shows seqnos covered, rate and ETA on stderr.
 * - SIGINT / SIGTERM: stop, save the checkpoint, exit 0. A second SIGINT exits at once (130).
 * - stdout backpressure is honoured (a slow pipe slows the stream, nothing piles up in memory); a
 *   closed pipe (EPIPE, e.g. `| head`) ends the run like SIGINT.
 * - Warnings go to stderr as pino JSON lines: a connection problem once per change of its cause
 *   (ECONNREFUSED, then a timeout, ...), not once per retry, and an info line when connected.
 * - Exit 1 with the cause, even with -q: the bucket does not exist, the credentials are missing or
 *   refused (retrying cannot fix those), or `--to now` found no server within --connect-timeout.
 */
import { once } from 'node:events';
import { InvalidArgumentError, Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { openChangeStream, SILENT_LOGGER, type ChangeStream, type ConsumerLogger } from '../consumer/index.js';
import type { LogFn, Logger } from '../common/logger.js';
import { changeToJsonLine } from '../consumer/change-json.js';
import type { ChangeEvent } from '../consumer/index.js';
import { ConsumerError, type ConsumerErrorKind } from '../consumer/errors.js';
import { cliLogger, logLevelOption } from './common.js';

interface TailFlags {
  from: 'beginning' | 'now';
  to: 'now' | 'infinity';
  checkpoint?: string;
  vbuckets?: number[];
  keysOnly: boolean;
  username?: string;
  password?: string;
  bucket?: string;
  quiet: boolean;
  connectTimeout: number;
  logLevel: string;
}

/** "0-63,100" -> [0..63, 100]; sorted, without duplicates. */
export function parseVbucketList(spec: string): number[] {
  const out = new Set<number>();
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new InvalidArgumentError(`"${part}" is not a vbucket or a range like 0-63`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b > 1023) throw new InvalidArgumentError(`bad vbucket range "${part}" (vbuckets are 0-1023)`);
    for (let vb = a; vb <= b; vb++) out.add(vb);
  }
  return [...out].sort((x, y) => x - y);
}

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

async function runTail(url: string, flags: TailFlags): Promise<void> {
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

  await stream.ready();
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
      if (!process.stdout.write(changeToJsonLine(change, flags.keysOnly))) await once(process.stdout, 'drain');
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

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds');
  return n;
}

export function registerTail(program: Command): void {
  program
    .command('tail')
    .description('print every change of a bucket as one JSON object per line (DCP)')
    .argument('<url>', 'couchbase://host[:kvport]/bucket, or http://host:8091 with --bucket')
    .addOption(new Option('--from <where>', 'start at the first change or only take later ones').choices(['beginning', 'now']).default('beginning'))
    .addOption(new Option('--to <where>', 'stop at the changes that exist now, or follow forever').choices(['now', 'infinity']).default('infinity'))
    .option('--checkpoint <file>', 'save positions in FILE and resume from it on the next run')
    .option('--vbuckets <list>', 'only these vbuckets, e.g. 0-63,100', parseVbucketList)
    .option('--keys-only', 'stream keys and metadata without values', false)
    .addOption(new Option('-u, --username <name>', 'user name').env('FRESHET_USERNAME'))
    .addOption(new Option('-p, --password <password>', 'password').env('FRESHET_PASSWORD'))
    .option('--bucket <name>', 'bucket name (required with an http:// URL)')
    .option('--connect-timeout <s>', 'with --to now: give up (exit 1) without a connection after this many seconds', seconds, 30)
    .option('-q, --quiet', 'no warnings on stderr (a fatal error is still printed)', false)
    .addOption(logLevelOption('warn'))
    .action(async (url: string, flags: TailFlags) => {
      if (/^https?:\/\//i.test(url) && flags.bucket === undefined) throw new InvalidArgumentError('an http:// URL needs --bucket');
      await runTail(url, flags);
    });
}
