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
import { logLevelOption } from './common.js';
import { DEFAULT_CHECKPOINT_INTERVAL_MS } from '../replicator/checkpoint.js';

export interface ReplicateFlags {
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
    const bare = /^[a-z_][a-z0-9_$()+/-]*(?:\.[A-Za-z0-9_%-]+){0,2}$/.test(value)
      ? ` ("${value}" alone names a local database only in POST /_replicate on the server that holds it)`
      : '';
    throw new InvalidArgumentError(`${label} must be a database URL such as http://user:pass@127.0.0.1:5984/db${bare}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgumentError(`${label} must be an http(s) URL`);
  return value;
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
    .option('--checkpoint-interval <ms>', 'time between checkpoints (CouchDB checkpoint_interval)', positiveInt, DEFAULT_CHECKPOINT_INTERVAL_MS)
    .option('--feed <mode>', 'live feed once caught up: continuous or longpoll', (v) => {
      if (v !== 'continuous' && v !== 'longpoll') throw new InvalidArgumentError('continuous or longpoll');
      return v;
    }, 'continuous')
    .option('--node-uuid <uuid>', 'identity of this replicator in the replication id (default: from the host name)')
    .option('--no-progress', 'no progress bar even on a terminal')
    .addOption(logLevelOption('warn'))
    .action(async (source: string, target: string, flags: ReplicateFlags) => {
      // The replicator (and undici, cli-progress) load only when this command runs.
      const { runReplicate } = await import('./replicate-run.js');
      process.exitCode = await runReplicate(source, target, flags);
    });
}
