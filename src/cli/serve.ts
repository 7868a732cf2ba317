/**
 * `freshet serve`: run a server in the foreground until SIGINT or SIGTERM.
 */
import { resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { pino } from 'pino';
import { FreshetServer } from '../server/freshet-server.js';
import { installProcessGuard } from '../server/process-guard.js';
import { AccessLog } from '../common/access-log.js';
import { cliLogger, logLevelOption } from './common.js';

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

interface ServeFlags {
  data: string;
  host: string;
  kvPort: number;
  mgmtPort: number;
  httpPort: number;
  username: string;
  password: string;
  vbuckets: number;
  logLevel: string;
  clusterMap?: string;
  nodeIndex?: number;
  maxJsonDepth: number;
  /** true: to the server log; a string: to that file. */
  accessLog?: boolean | string;
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
    .addOption(logLevelOption('info'))
    .option('--access-log [file]', 'log one line per HTTP request and per KV connection (to FILE, else with the server log)')
    .option('--max-json-depth <n>', 'deepest JSON nesting accepted as JSON (KV: stored raw beyond it; HTTP: 400)', positiveInt, 100)
    .option('--cluster-map <file>', 'development cluster: the shared cluster-map JSON file (watched; may be written later)')
    .option('--node-index <n>', "this node's index in the cluster map's nodes (with --cluster-map)", nonNegativeInt)
    .action(async (flags: ServeFlags) => {
      if ((flags.clusterMap === undefined) !== (flags.nodeIndex === undefined)) {
        throw new InvalidArgumentError('--cluster-map and --node-index go together');
      }
      const logger = cliLogger(flags.logLevel);
      const accessLog =
        flags.accessLog === undefined || flags.accessLog === false
          ? undefined
          : AccessLog.to(flags.accessLog === true ? logger : pino({ level: 'info' }, pino.destination({ dest: resolve(flags.accessLog), append: true, mkdir: true })));
      // This process serves every client of every bucket: a missed rejection is logged, not fatal.
      installProcessGuard(logger);
      const server = await FreshetServer.start({
        dataDir: resolve(flags.data),
        host: flags.host,
        kvPort: flags.kvPort,
        mgmtPort: flags.mgmtPort,
        httpPort: flags.httpPort,
        username: flags.username,
        password: flags.password,
        numVBuckets: flags.vbuckets,
        maxJsonDepth: flags.maxJsonDepth,
        logger,
        ...(accessLog === undefined ? {} : { accessLog }),
        ...(flags.clusterMap === undefined || flags.nodeIndex === undefined
          ? {}
          : { clusterMap: { file: resolve(flags.clusterMap), nodeIndex: flags.nodeIndex } }),
      });
      server.engine.on('error', (err: unknown) => logger.error({ err }, 'engine error'));
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'shutting down');
        server.close().then(
          () => process.exit(0),
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
      // Handlers first: a supervisor may signal as soon as it reads the ready line.
      process.stdout.write(`${server.readyLine()}\n`);
    });
}
