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
 * - Warnings (unknown DCP messages, connection problems) go to stderr, one JSON line each.
 */
import { once } from 'node:events';
import { InvalidArgumentError, Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { openChangeStream, type ChangeStream, type ConsumerLogger } from '../consumer/index.js';
import { changeToJsonLine } from '../consumer/change-json.js';
import type { ChangeEvent } from '../consumer/index.js';

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

function stderrLogger(quiet: boolean): ConsumerLogger {
  const write = (level: string) => (fields: Record<string, unknown>, msg: string) => {
    if (!quiet) process.stderr.write(`${JSON.stringify({ level, msg, ...fields })}\n`);
  };
  return { debug: () => {}, info: () => {}, warn: write('warn'), error: write('error') };
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
  const stream: ChangeStream = openChangeStream({
    seeds: [url],
    ...(flags.bucket !== undefined ? { bucket: flags.bucket } : {}),
    ...(credentials ? { credentials } : {}),
    ...(flags.vbuckets ? { vbuckets: flags.vbuckets } : {}),
    ...(flags.checkpoint !== undefined ? { checkpoint: flags.checkpoint } : {}),
    from: flags.from,
    to: flags.to,
    keysOnly: flags.keysOnly,
    logger: stderrLogger(flags.quiet),
    onError: (err) => {
      if (!flags.quiet) process.stderr.write(`${JSON.stringify({ level: 'warn', msg: err.message })}\n`);
    },
  });

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
  } finally {
    clearInterval(tick);
    await stream.close();
    if (bar && barStarted) {
      bar.update(progress.value);
      bar.stop();
    }
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
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
    .option('-u, --username <name>', 'user name (env FRESHET_USERNAME)', process.env.FRESHET_USERNAME)
    .option('-p, --password <password>', 'password (env FRESHET_PASSWORD)', process.env.FRESHET_PASSWORD)
    .option('--bucket <name>', 'bucket name (required with an http:// URL)')
    .option('-q, --quiet', 'no warnings on stderr', false)
    .action(async (url: string, flags: TailFlags) => {
      if (/^https?:\/\//i.test(url) && flags.bucket === undefined) throw new InvalidArgumentError('an http:// URL needs --bucket');
      await runTail(url, flags);
    });
}
