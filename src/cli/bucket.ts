/**
 * `freshet bucket create|edit|list|delete`: bucket management against a running server, through its
 * cluster-manager REST API exactly as `couchbase-cli bucket-create` / `bucket-edit` /
 * `bucket-list` / `bucket-delete` use ns_server's (`POST /pools/default/buckets`,
 * `POST /pools/default/buckets/NAME`, `GET /pools/default/buckets`,
 * `DELETE /pools/default/buckets/NAME`), with Basic auth from -u/-p. `--max-ttl` is
 * couchbase-cli's flag for the bucket's `maxTTL`, `--conflict-resolution` (seqno|lww) its flag for
 * `conflictResolutionType` (couchbase-cli names the values `sequence` and `timestamp`; both spellings work),
 * `--durability` (couchbase-cli `--durability-min-level`) the bucket's `durabilityMinLevel`.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { DurabilityLevel } from '../engine/types.js';
import { durabilityOption } from './common.js';

export interface ConnectionFlags {
  host: string;
  mgmtPort: number;
  username: string;
  password: string;
}

/** Where the command's lines go; tests pass their own. */
export type Printer = (line: string) => void;

export const defaultPrinter: Printer = (line) => {
  process.stdout.write(`${line}\n`);
};

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('a port is an integer from 1 to 65535');
  return n;
}

function vbuckets(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new InvalidArgumentError('vbuckets is an integer from 1 to 1024');
  return n;
}

function maxTTL(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 0x7fffffff) throw new InvalidArgumentError('max TTL is an integer from 0 to 2147483647 (seconds)');
  return n;
}

/** couchbase-cli's `--conflict-resolution sequence|timestamp`, and ns_server's own `seqno|lww`. */
const CONFLICT_RESOLUTION: Record<string, 'seqno' | 'lww'> = { seqno: 'seqno', sequence: 'seqno', lww: 'lww', timestamp: 'lww' };

function conflictResolution(value: string): 'seqno' | 'lww' {
  const cr = CONFLICT_RESOLUTION[value];
  if (cr === undefined) throw new InvalidArgumentError('conflict resolution is seqno (sequence) or lww (timestamp)');
  return cr;
}

/** couchbase-cli's `--enable-flush 0|1`. */
function flushFlag(value: string): '0' | '1' {
  if (value !== '0' && value !== '1') throw new InvalidArgumentError('--enable-flush is 0 or 1');
  return value;
}

/**
 * `--host`: an address, not a URL (the port is --mgmt-port): `http://h` or `h:8091` would
 * otherwise become `http://[http://h]:8091`, an "Invalid URL" that does not say why.
 */
function hostAddress(value: string): string {
  // One colon is host:port (an IPv6 address has two or more).
  if (value === '' || /[/\s?#@]/.test(value) || value.split(':').length === 2 || (value.startsWith('[') && !value.endsWith(']'))) {
    throw new InvalidArgumentError('--host is an address such as 127.0.0.1, cb.example or ::1 (no scheme, no port: give the port with --mgmt-port)');
  }
  return value;
}

/** The connection flags every command against a running server takes (`bucket`, `stats`). */
export function withConnection(cmd: Command): Command {
  return cmd
    .addOption(new Option('--host <addr>', 'server address').env('FRESHET_HOST').default('127.0.0.1').argParser(hostAddress))
    .option('--mgmt-port <port>', 'cluster-manager REST port', port, 8091)
    .addOption(new Option('-u, --username <name>', 'administrator user name').env('FRESHET_USERNAME').default('Administrator'))
    .addOption(new Option('-p, --password <password>', 'administrator password').env('FRESHET_PASSWORD').default('password'));
}

export interface Reply {
  status: number;
  text: string;
}

export async function call(flags: ConnectionFlags, method: string, path: string, form?: Record<string, string>): Promise<Reply> {
  const host = flags.host.includes(':') && !flags.host.startsWith('[') ? `[${flags.host}]` : flags.host;
  const url = `http://${host}:${flags.mgmtPort}${path}`;
  const headers: Record<string, string> = {
    authorization: `Basic ${Buffer.from(`${flags.username}:${flags.password}`, 'utf8').toString('base64')}`,
  };
  let body: string | undefined;
  if (form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  let res: Response;
  try {
    res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    throw new Error(`cannot reach the cluster manager at ${url}: ${cause}`);
  }
  return { status: res.status, text: await res.text() };
}

/** A readable reason from an ns_server error reply: `{"errors":{field: msg}}`, a JSON string or text. */
export function describeFailure(reply: Reply): string {
  if (reply.status === 401) return 'authentication failed (check -u/--username and -p/--password)';
  let detail = reply.text.trim();
  try {
    const parsed: unknown = JSON.parse(reply.text);
    if (typeof parsed === 'string') detail = parsed;
    else if (typeof parsed === 'object' && parsed !== null) {
      const errors = (parsed as { errors?: unknown }).errors;
      const message = (parsed as { message?: unknown }).message;
      if (typeof errors === 'object' && errors !== null) {
        detail = Object.entries(errors as Record<string, unknown>)
          .map(([field, msg]) => (field === '_' ? String(msg) : `${field}: ${String(msg)}`))
          .join('; ');
      } else if (typeof message === 'string') detail = message;
    }
  } catch {
    // Not JSON: keep the text.
  }
  return `HTTP ${reply.status}${detail === '' ? '' : `: ${detail}`}`;
}

/** One bucket of `bucket list` (the REST reply also carries the whole vbucket map: not printed). */
export interface BucketSummary {
  name: string;
  uuid: string;
  bucketType: string;
  numVBuckets: number;
  /** ns_server's `basicStats.itemCount`, when the server reports it (Freshet and ns_server do). */
  items?: number;
}

export function summarize(list: unknown): BucketSummary[] {
  if (!Array.isArray(list)) throw new Error('unexpected reply: the bucket list is not an array');
  return list.map((entry: unknown) => {
    const b = (typeof entry === 'object' && entry !== null ? entry : {}) as {
      name?: unknown;
      uuid?: unknown;
      bucketType?: unknown;
      vBucketServerMap?: { vBucketMap?: unknown };
      basicStats?: { itemCount?: unknown };
    };
    const map = b.vBucketServerMap?.vBucketMap;
    const items = b.basicStats?.itemCount;
    return {
      name: String(b.name),
      uuid: String(b.uuid),
      bucketType: typeof b.bucketType === 'string' ? b.bucketType : 'membase',
      numVBuckets: Array.isArray(map) ? map.length : 0,
      ...(typeof items === 'number' ? { items } : {}),
    };
  });
}

export function registerBucket(program: Command, print: Printer = defaultPrinter): void {
  const bucket = program.command('bucket').description('create, edit, list or delete buckets on a running server (over its REST API)');

  withConnection(bucket.command('create').argument('<name>', 'bucket name'))
    .description('create a bucket')
    .option('--vbuckets <n>', 'number of vbuckets (1-1024)', vbuckets, 1024)
    .option('--max-ttl <seconds>', 'maximum document TTL, 0 for none', maxTTL)
    .option('--conflict-resolution <type>', 'XDCR conflict resolution: seqno (default) or lww', conflictResolution)
    .addOption(durabilityOption('least durability of every write (durabilityMinLevel); default none'))
    .option('--enable-flush <0|1>', 'whether the bucket may be flushed (flushEnabled); default 0', flushFlag)
    .action(async (name: string, flags: ConnectionFlags & { vbuckets: number; maxTtl?: number; conflictResolution?: 'seqno' | 'lww'; durability?: DurabilityLevel; enableFlush?: '0' | '1' }) => {
      const reply = await call(flags, 'POST', '/pools/default/buckets', {
        name,
        bucketType: 'couchbase',
        numVBuckets: String(flags.vbuckets),
        ...(flags.maxTtl === undefined ? {} : { maxTTL: String(flags.maxTtl) }),
        ...(flags.conflictResolution === undefined ? {} : { conflictResolutionType: flags.conflictResolution }),
        ...(flags.durability === undefined ? {} : { durabilityMinLevel: flags.durability }),
        ...(flags.enableFlush === undefined ? {} : { flushEnabled: flags.enableFlush }),
      });
      if (reply.status !== 202 && reply.status !== 200) throw new Error(`could not create bucket ${name}: ${describeFailure(reply)}`);
      const cr = flags.conflictResolution === 'lww' ? ', last-write-wins' : '';
      const dl = flags.durability !== undefined && flags.durability !== 'none' ? `, durability ${flags.durability}` : '';
      const fl = flags.enableFlush === '1' ? ', flush enabled' : '';
      print(`created bucket ${name} (${flags.vbuckets} vbuckets${flags.maxTtl ? `, max TTL ${flags.maxTtl}s` : ''}${cr}${dl}${fl})`);
    });

  withConnection(bucket.command('edit').argument('<name>', 'bucket name'))
    .description("change a bucket's settings")
    .option('--max-ttl <seconds>', 'maximum document TTL, 0 for none', maxTTL)
    .addOption(durabilityOption('least durability of every write from now on (durabilityMinLevel)'))
    .option('--enable-flush <0|1>', 'allow (1) or forbid (0) flushing the bucket', flushFlag)
    .action(async (name: string, flags: ConnectionFlags & { maxTtl?: number; durability?: DurabilityLevel; enableFlush?: '0' | '1' }) => {
      if (flags.maxTtl === undefined && flags.durability === undefined && flags.enableFlush === undefined) {
        throw new InvalidArgumentError('bucket edit needs --max-ttl, --durability or --enable-flush');
      }
      const reply = await call(flags, 'POST', `/pools/default/buckets/${encodeURIComponent(name)}`, {
        ...(flags.maxTtl === undefined ? {} : { maxTTL: String(flags.maxTtl) }),
        ...(flags.durability === undefined ? {} : { durabilityMinLevel: flags.durability }),
        ...(flags.enableFlush === undefined ? {} : { flushEnabled: flags.enableFlush }),
      });
      if (reply.status === 404) throw new Error(`no bucket named ${name}`);
      if (reply.status !== 200) throw new Error(`could not edit bucket ${name}: ${describeFailure(reply)}`);
      const changes = [
        ...(flags.maxTtl === undefined ? [] : [`max TTL ${flags.maxTtl}s`]),
        ...(flags.durability === undefined ? [] : [`durability ${flags.durability}`]),
        ...(flags.enableFlush === undefined ? [] : [flags.enableFlush === '1' ? 'flush enabled' : 'flush disabled']),
      ];
      print(`bucket ${name}: ${changes.join(', ')}`);
    });

  withConnection(bucket.command('list'))
    .description('list buckets')
    .option('--json', 'print a JSON array with one {name, uuid, bucketType, numVBuckets[, items]} per bucket')
    .action(async (flags: ConnectionFlags & { json?: boolean }) => {
      const reply = await call(flags, 'GET', '/pools/default/buckets');
      if (reply.status !== 200) throw new Error(`could not list buckets: ${describeFailure(reply)}`);
      const buckets = summarize(JSON.parse(reply.text));
      if (flags.json === true) {
        print(JSON.stringify(buckets));
        return;
      }
      for (const b of buckets) print(`${b.name}\t${b.numVBuckets} vbuckets\tuuid ${b.uuid}`);
    });

  withConnection(bucket.command('delete').argument('<name>', 'bucket name'))
    .description('delete a bucket and all its documents')
    .action(async (name: string, flags: ConnectionFlags) => {
      const reply = await call(flags, 'DELETE', `/pools/default/buckets/${encodeURIComponent(name)}`);
      if (reply.status === 404) throw new Error(`no bucket named ${name}`);
      if (reply.status !== 200) throw new Error(`could not delete bucket ${name}: ${describeFailure(reply)}`);
      print(`deleted bucket ${name}`);
    });
}
