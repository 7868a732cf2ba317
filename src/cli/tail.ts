/**
 * `freshet tail URL`: print every change of a bucket as one JSON object per line (the format is
 * described in src/consumer/change-json.ts), from Freshet or Couchbase Server.
 *
 *   freshet tail couchbase://127.0.0.1:11210/default -u Administrator -p password --to now
 *   freshet tail http://127.0.0.1:8091 --bucket default --from now
 *   freshet tail couchbase://127.0.0.1/default --checkpoint tail.json   # resumable
 *   freshet tail couchbase://127.0.0.1/travel-sample --collection inventory.airport,inventory.hotel
 *   freshet tail couchbase://127.0.0.1/travel-sample --scope inventory
 *
 * - `--collection S.C` (repeatable, or a comma list) / `--scope S`: only those collections, each
 *   line with its "scope" and "collection", plus collection/scope create and drop lines (one per
 *   vbucket). Without them: the default collection, lines as before. An unknown name exits 1.
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
import { InvalidArgumentError, Option, type Command } from 'commander';
import { logLevelOption } from './common.js';

export interface TailFlags {
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
  collection?: string[];
  scope?: string;
}

/** Repeatable `--collection`, each a `scope.collection` or a comma list of them. */
export function collectCollections(value: string, previous: string[] | undefined): string[] {
  const out = [...(previous ?? [])];
  for (const part of value.split(',')) {
    const path = part.trim();
    if (!/^[^.\s]+\.[^.\s]+$/.test(path)) throw new InvalidArgumentError(`"${part}" is not a scope.collection path (e.g. inventory.airport)`);
    out.push(path);
  }
  return out;
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

export function seconds(value: string): number {
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
    .option('--collection <scope.collection>', 'only this collection (repeatable, or a comma list)', collectCollections)
    .option('--scope <name>', 'only the collections of this scope')
    .addOption(new Option('-u, --username <name>', 'user name').env('FRESHET_USERNAME'))
    .addOption(new Option('-p, --password <password>', 'password').env('FRESHET_PASSWORD'))
    .option('--bucket <name>', 'bucket name (required with an http:// URL)')
    .option('--connect-timeout <s>', 'with --to now: give up (exit 1) without a connection after this many seconds', seconds, 30)
    .option('-q, --quiet', 'no warnings on stderr (a fatal error is still printed)', false)
    .addOption(logLevelOption('warn'))
    .action(async (url: string, flags: TailFlags) => {
      if (/^https?:\/\//i.test(url) && flags.bucket === undefined) throw new InvalidArgumentError('an http:// URL needs --bucket');
      if (flags.collection !== undefined && flags.scope !== undefined) throw new InvalidArgumentError('give --collection or --scope, not both');
      // The consumer (DCP client) and the progress bar load only when this command runs.
      const { runTail } = await import('./tail-run.js');
      await runTail(url, flags);
    });
}
