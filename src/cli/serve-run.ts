/**
 * The run of `freshet serve` (options and help in serve.ts): start the server, log through pino,
 * stop cleanly on SIGINT/SIGTERM, print the ready line once every listener accepts connections.
 */
import { dirname, resolve } from 'node:path';
import { pino } from 'pino';
import { FreshetServer } from '../server/freshet-server.js';
import { installProcessGuard } from '../server/process-guard.js';
import type { TlsServerOptions } from '../server/tls.js';
import { AccessLog } from '../common/access-log.js';
import { cliLogger } from './common.js';
import { makePrivateDirSync } from '../engine/file-modes.js';
import { missingNodeFlags, tuneV8ForServer } from './v8-tuning.js';
import type { ServeFlags } from './serve.js';

/**
 * The access log's path, its directory created first one level at a time: sonic-boom's
 * `mkdir: true` is Node's recursive mkdir, which never returns under /proc (store/private-files.ts).
 */
function accessLogFile(file: string): string {
  const path = resolve(file);
  makePrivateDirSync(dirname(path));
  return path;
}

export async function runServe(flags: ServeFlags, tls: TlsServerOptions | undefined): Promise<void> {
  const logger = cliLogger(flags.logLevel);
  tuneV8ForServer();
  const missing = missingNodeFlags();
  if (missing.length > 0) logger.info({ missing }, `node was started without ${missing.join(' ')}; NODE_OPTIONS can give it (README, Memory)`);
  const accessLog =
    flags.accessLog === undefined || flags.accessLog === false
      ? undefined
      : AccessLog.to(flags.accessLog === true ? logger : pino({ level: 'info' }, pino.destination({ dest: accessLogFile(flags.accessLog), append: true })));
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
    ...(flags.durability === undefined ? {} : { durability: flags.durability }),
    ...(flags.enableFlush === true ? { flushEnabled: true } : {}),
    maxJsonDepth: flags.maxJsonDepth,
    logger,
    ...(tls === undefined ? {} : { tls }),
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
}
