/**
 * `freshet serve`: run a server in the foreground until SIGINT or SIGTERM.
 */
import { resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_TLS_PORTS, type TlsServerOptions } from '../server/tls.js';
import type { DurabilityLevel } from '../engine/types.js';
import { durabilityOption, logLevelOption } from './common.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is an integer from 0 to 65535');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export interface ServeFlags {
  data: string;
  host: string;
  kvPort: number;
  mgmtPort: number;
  httpPort: number;
  username: string;
  password: string;
  vbuckets: number;
  /** durabilityMinLevel of the default bucket created on first start. */
  durability?: DurabilityLevel;
  /** The default bucket created on first start may be flushed. */
  enableFlush?: boolean;
  logLevel: string;
  clusterMap?: string;
  nodeIndex?: number;
  maxJsonDepth: number;
  /** true: to the server log; a string: to that file. */
  accessLog?: boolean | string;
  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsOnly?: boolean;
  kvTlsPort: number;
  mgmtTlsPort: number;
  httpTlsPort: number;
}

/**
 * `ServerOptions.tls` from the flags: TLS is on with `--tls` (development certificate), with
 * `--tls-cert`/`--tls-key`, or with `--tls-only`; off otherwise.
 */
function tlsOptions(flags: ServeFlags): TlsServerOptions | undefined {
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) throw new InvalidArgumentError('--tls-cert and --tls-key go together');
  if (flags.tlsCa !== undefined && flags.tlsCert === undefined) throw new InvalidArgumentError('--tls-ca goes with --tls-cert and --tls-key');
  if (flags.tls !== true && flags.tlsCert === undefined && flags.tlsOnly !== true) return undefined;
  return {
    ...(flags.tlsCert === undefined ? {} : { cert: resolve(flags.tlsCert) }),
    ...(flags.tlsKey === undefined ? {} : { key: resolve(flags.tlsKey) }),
    ...(flags.tlsCa === undefined ? {} : { ca: resolve(flags.tlsCa) }),
    kvPort: flags.kvTlsPort,
    mgmtPort: flags.mgmtTlsPort,
    httpPort: flags.httpTlsPort,
    only: flags.tlsOnly === true,
  };
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the KV/DCP, cluster-manager and CouchDB HTTP ports over embedded LMDB storage')
    .addOption(new Option('--data <dir>', 'data directory (created if missing)').env('FRESHET_DATA').default('./data'))
    .addOption(new Option('--host <addr>', 'address to listen on').env('FRESHET_HOST').default('127.0.0.1'))
    .option('--kv-port <port>', 'memcached binary / DCP port (0 = ephemeral)', port, 11210)
    .option('--mgmt-port <port>', 'cluster-manager REST port (0 = ephemeral)', port, 8091)
    .option('--http-port <port>', 'CouchDB-compatible HTTP port (0 = ephemeral)', port, 5984)
    .addOption(new Option('-u, --username <name>', 'administrator user name').env('FRESHET_USERNAME').default('Administrator'))
    .addOption(new Option('-p, --password <password>', 'administrator password (the default one is logged as a warning)').env('FRESHET_PASSWORD').default('password'))
    .option('--vbuckets <n>', 'vbuckets of the default bucket created on first start', positiveInt, 1024)
    .addOption(durabilityOption('durabilityMinLevel of the default bucket created on first start (default none)'))
    .option('--enable-flush', 'the default bucket created on first start may be flushed (flushEnabled, as couchbase-cli --enable-flush 1)')
    .addOption(logLevelOption('info'))
    .option('--access-log [file]', 'log one line per HTTP request and per KV connection (to FILE, else with the server log)')
    .option('--max-json-depth <n>', 'deepest JSON nesting accepted as JSON (KV: stored raw beyond it; HTTP: 400)', positiveInt, 100)
    .option('--cluster-map <file>', 'development cluster: the shared cluster-map JSON file (watched; may be written later)')
    .option('--node-index <n>', "this node's index in the cluster map's nodes (with --cluster-map)", nonNegativeInt)
    .option('--tls', 'also serve TLS; without --tls-cert a self-signed development certificate is generated into DATA/tls')
    .option('--tls-cert <file>', 'PEM certificate (chain) for the TLS ports (turns TLS on; with --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--tls-ca <file>', 'PEM CA certificate(s) sent to complete the chain')
    .option('--tls-only', 'serve TLS only: the plain kv/mgmt/http ports are not opened (turns TLS on)')
    .option('--kv-tls-port <port>', 'KV/DCP over TLS (couchbases://)', port, DEFAULT_TLS_PORTS.kv)
    .option('--mgmt-tls-port <port>', 'cluster-manager REST over HTTPS', port, DEFAULT_TLS_PORTS.mgmt)
    .option('--http-tls-port <port>', 'CouchDB-compatible HTTPS', port, DEFAULT_TLS_PORTS.http)
    .action(async (flags: ServeFlags) => {
      if ((flags.clusterMap === undefined) !== (flags.nodeIndex === undefined)) {
        throw new InvalidArgumentError('--cluster-map and --node-index go together');
      }
      const tls = tlsOptions(flags);
      // The server itself loads only when this command runs (not for `freshet bucket`, `tail`...).
      const { runServe } = await import('./serve-run.js');
      await runServe(flags, tls);
    });
}
